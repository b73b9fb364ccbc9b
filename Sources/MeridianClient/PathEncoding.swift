/// Percent-encoding of path components and query values.
enum PathEncoding {
    /// Encodes every byte of the UTF-8 text except the unreserved characters of RFC 3986
    /// (`A-Z a-z 0-9 - . _ ~`): a `/`, `%`, `+`, `?` or space in a key stays part of it.
    static func component(_ text: String) -> String {
        var encoded = ""
        encoded.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if isUnreserved(byte) {
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                encoded += "%" + String(hexDigits[Int(byte >> 4)]) + String(hexDigits[Int(byte & 0x0f)])
            }
        }
        return encoded
    }

    /// A query string (with its leading `?`) from the pairs whose value is present, in order.
    static func query(_ pairs: [(name: String, value: String?)]) -> String {
        let present = pairs.compactMap { pair in pair.value.map { "\(pair.name)=\(component($0))" } }
        return present.isEmpty ? "" : "?" + present.joined(separator: "&")
    }

    private static let hexDigits = Array("0123456789ABCDEF")

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }
}
