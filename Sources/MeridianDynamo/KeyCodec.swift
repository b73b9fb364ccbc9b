import MeridianCore

/// How a table's DynamoDB key becomes a Meridian key, so that Meridian's byte order is
/// DynamoDB's order and a Query is a range of the storage index.
///
/// Layout: the hash component alone for a table without a sort key; otherwise the hash
/// component, `/`, the range component. Components by type:
///
/// - `S`: the string's UTF-8 bytes. In a hash component followed by a range, `%` and `/`
///   are escaped as `%25` and `%2F`, so the first `/` always ends the hash component and
///   one hash value's items share one prefix. A range component is never escaped: its
///   bytes order exactly as DynamoDB orders strings.
/// - `B`: lowercase hex, which orders as the bytes do (two characters per byte, `0-9`
///   below `a-f`).
/// - `N`: a class character, `0` below zero, `1` zero, `2` above; then for non-zero
///   numbers the exponent of `0.d1d2... × 10^e` biased by 500 as three digits, and the
///   significant digits. Below zero the exponent and the digits are complemented (nine
///   minus each) and a `~` ends the digits, so a larger magnitude sorts first and a
///   shorter digit string sorts after its extensions. So `1.5` is `250115`, `-1.5` is
///   `049884~`, `0` is `1`.
///
/// Every component is valid UTF-8 and contains no `/` unless it is a range component, so
/// the layout can be read back (`keyAttributes`); a key that does not read back (written
/// through the native API in another shape) is not an item of the DynamoDB table.
public struct KeyCodec: Sendable {
    public let schema: DynamoSchema

    /// The codec of a table with this schema.
    public init(schema: DynamoSchema) {
        self.schema = schema
    }

    /// The separator between the hash and range components.
    static let separator = UInt8(ascii: "/")
    /// The bias added to a number's exponent in its key text.
    static let exponentBias = 500

    /// The Meridian key of an item's key attributes.
    ///
    /// - Parameter exact: the attributes are a `Key` parameter, which must hold the key
    ///   attributes and nothing else (DynamoDB: "The provided key element does not match
    ///   the schema"); otherwise they are a whole item, which must contain them.
    public func key(of attributes: Item, exact: Bool) throws(DynamoError) -> Key {
        let mismatch = DynamoError.validation("The provided key element does not match the schema")
        if exact, attributes.count != (schema.rangeKey == nil ? 1 : 2) { throw mismatch }
        let hash = try keyValue(schema.hashKey, in: attributes, exact: exact, mismatch: mismatch)
        let range = try schema.rangeKey.map { attribute throws(DynamoError) in try keyValue(attribute, in: attributes, exact: exact, mismatch: mismatch) }
        return try key(hash: hash, range: range)
    }

    /// The Meridian key of a hash value and (for tables with a sort key) a range value,
    /// both already checked to have the schema's types.
    public func key(hash: AttributeValue, range: AttributeValue?) throws(DynamoError) -> Key {
        var bytes = hashComponent(hash)
        if let range {
            bytes.append(Self.separator)
            bytes += Self.component(range)
        }
        guard bytes.count <= Limits.keyBytesMax else {
            throw .invalidParameter("the key takes \(bytes.count) bytes in Meridian's key encoding, more than Meridian's limit of \(Limits.keyBytesMax) bytes (docs/dynamodb.md)")
        }
        do { return try Key(utf8: bytes) } catch { preconditionFailure("every key component is non-empty valid UTF-8: \(error)") }
    }

    /// The bytes every key of one hash value starts with: the whole key of a table without
    /// a sort key, the hash component and `/` otherwise.
    public func hashPrefix(_ hash: AttributeValue) -> [UInt8] {
        schema.rangeKey == nil ? hashComponent(hash) : hashComponent(hash) + [Self.separator]
    }

    /// The key bytes of a range value: `hashPrefix(hash) + rangeComponent(value)` is the key.
    public func rangeComponent(_ value: AttributeValue) -> [UInt8] {
        Self.component(value)
    }

    /// The key attributes a Meridian key holds, or `nil` when the key is not in this
    /// table's layout.
    public func keyAttributes(of key: Key) -> Item? {
        let bytes = key.bytes
        var item: Item = [:]
        guard let rangeKey = schema.rangeKey else {
            guard let hash = Self.decode(bytes[...], type: schema.hashKey.type, escaped: false) else { return nil }
            item[schema.hashKey.name] = hash
            return item
        }
        guard let separator = bytes.firstIndex(of: Self.separator),
              let hash = Self.decode(bytes[..<separator], type: schema.hashKey.type, escaped: true),
              let range = Self.decode(bytes[(separator + 1)...], type: rangeKey.type, escaped: false) else { return nil }
        item[schema.hashKey.name] = hash
        item[rangeKey.name] = range
        return item
    }

    /// The bytes of a key's hash component (the whole key without a sort key): what a
    /// parallel Scan's segments are drawn from, so that one hash value's items stay in
    /// one segment.
    public func hashComponentBytes(of key: Key) -> ArraySlice<UInt8> {
        guard schema.rangeKey != nil, let separator = key.bytes.firstIndex(of: Self.separator) else { return key.bytes[...] }
        return key.bytes[..<separator]
    }

    /// The segment of a parallel Scan a key belongs to (FNV-1a of its hash component).
    public func segment(of key: Key, totalSegments: Int) -> Int {
        precondition(totalSegments > 0, "a scan has at least one segment")
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in hashComponentBytes(of: key) {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return Int(hash % UInt64(totalSegments))
    }

    // MARK: Components

    private func keyValue(_ attribute: DynamoKeyAttribute, in item: Item, exact: Bool, mismatch: DynamoError) throws(DynamoError) -> AttributeValue {
        guard let value = item[attribute.name] else {
            throw exact ? mismatch : .invalidParameter("Missing the key \(attribute.name) in the item")
        }
        guard value.typeName == attribute.type.rawValue else {
            throw exact ? mismatch : .invalidParameter("Type mismatch for key \(attribute.name) expected: \(attribute.type.rawValue) actual: \(value.typeName)")
        }
        let isHash = attribute == schema.hashKey
        switch value {
        case .string(let string):
            guard !string.isEmpty else {
                throw .validation("One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: \(attribute.name)")
            }
            try checkKeySize(string.utf8.count, isHash: isHash)
        case .binary(let bytes):
            guard !bytes.isEmpty else {
                throw .validation("One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty binary value. Key: \(attribute.name)")
            }
            try checkKeySize(bytes.count, isHash: isHash)
        default:
            break
        }
        return value
    }

    private func checkKeySize(_ bytes: Int, isHash: Bool) throws(DynamoError) {
        if isHash, bytes > DynamoLimits.hashKeyBytesMax {
            throw .invalidParameter("Size of hashkey has exceeded the maximum size limit of\(DynamoLimits.hashKeyBytesMax) bytes")
        }
        if !isHash, bytes > DynamoLimits.rangeKeyBytesMax {
            throw .invalidParameter("Aggregated size of all range keys has exceeded the size limit of \(DynamoLimits.rangeKeyBytesMax) bytes")
        }
    }

    private func hashComponent(_ value: AttributeValue) -> [UInt8] {
        guard schema.rangeKey != nil, case .string(let string) = value else { return Self.component(value) }
        return Self.escaped(string)
    }

    /// A string's UTF-8 with `%` and `/` escaped: a hash component followed by a range.
    static func escaped(_ string: String) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(string.utf8.count)
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "%"): bytes += Array("%25".utf8)
            case separator: bytes += Array("%2F".utf8)
            default: bytes.append(byte)
            }
        }
        return bytes
    }

    /// The unescaped key bytes of a value: a string's UTF-8, a binary's hex, a number's key text.
    static func component(_ value: AttributeValue) -> [UInt8] {
        switch value {
        case .string(let string): return Array(string.utf8)
        case .binary(let bytes): return hex(bytes)
        case .number(let number): return numberText(number)
        default: preconditionFailure("key attributes are S, N or B; got \(value.typeName)")
        }
    }

    static let hexDigits = Array("0123456789abcdef".utf8)

    static func hex(_ bytes: [UInt8]) -> [UInt8] {
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(hexDigits[Int(byte >> 4)])
            text.append(hexDigits[Int(byte & 0x0F)])
        }
        return text
    }

    /// The order-preserving key text of a number.
    static func numberText(_ number: DynamoNumber) -> [UInt8] {
        guard !number.isZero else { return [UInt8(ascii: "1")] }
        let zero = UInt8(ascii: "0")
        let biased = number.exponent + exponentBias
        precondition((0...999).contains(biased), "a stored number's exponent fits three digits")
        let exponentDigits = [biased / 100, biased / 10 % 10, biased % 10].map(UInt8.init)
        if number.isNegative {
            return [zero] + exponentDigits.map { zero + 9 - $0 } + number.digits.map { zero + 9 - $0 } + [UInt8(ascii: "~")]
        }
        return [UInt8(ascii: "2")] + exponentDigits.map { zero + $0 } + number.digits.map { zero + $0 }
    }

    /// Reads a component back; `nil` unless re-encoding it gives exactly these bytes.
    static func decode(_ bytes: ArraySlice<UInt8>, type: DynamoKeyType, escaped: Bool) -> AttributeValue? {
        guard !bytes.isEmpty else { return nil }
        let value: AttributeValue?
        switch type {
        case .string:
            value = escaped ? unescaped(bytes).map(AttributeValue.string) : String(validating: bytes, as: UTF8.self).map(AttributeValue.string)
        case .binary:
            value = unhex(bytes).map(AttributeValue.binary)
        case .number:
            value = number(fromText: bytes).map(AttributeValue.number)
        }
        guard let value else { return nil }
        let reencoded: [UInt8]
        if escaped, case .string(let string) = value {
            reencoded = Self.escaped(string)
        } else {
            reencoded = component(value)
        }
        return reencoded.elementsEqual(bytes) ? value : nil
    }

    private static func unescaped(_ bytes: ArraySlice<UInt8>) -> String? {
        var result: [UInt8] = []
        var index = bytes.startIndex
        while index < bytes.endIndex {
            if bytes[index] == UInt8(ascii: "%") {
                guard bytes.index(index, offsetBy: 3) <= bytes.endIndex else { return nil }
                let escape = Array(bytes[index..<(index + 3)])
                if escape == Array("%25".utf8) { result.append(UInt8(ascii: "%")) }
                else if escape == Array("%2F".utf8) { result.append(separator) }
                else { return nil }
                index += 3
            } else {
                result.append(bytes[index])
                index += 1
            }
        }
        return String(validating: result, as: UTF8.self)
    }

    private static func unhex(_ bytes: ArraySlice<UInt8>) -> [UInt8]? {
        guard bytes.count % 2 == 0 else { return nil }
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count / 2)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            guard let high = hexDigits.firstIndex(of: bytes[index]), let low = hexDigits.firstIndex(of: bytes[index + 1]) else { return nil }
            result.append(UInt8(high << 4 | low))
            index += 2
        }
        return result
    }

    private static func number(fromText bytes: ArraySlice<UInt8>) -> DynamoNumber? {
        let text = Array(bytes)
        let zero = UInt8(ascii: "0")
        guard let first = text.first else { return nil }
        if first == UInt8(ascii: "1") { return text.count == 1 ? .zero : nil }
        let negative = first == zero
        guard negative || first == UInt8(ascii: "2"), text.count >= 5 else { return nil }
        var digitBytes = Array(text[4...])
        if negative {
            guard digitBytes.last == UInt8(ascii: "~") else { return nil }
            digitBytes.removeLast()
        }
        let allDigits = Array(text[1..<4]) + digitBytes
        guard !digitBytes.isEmpty, allDigits.allSatisfy({ $0 >= zero && $0 <= zero + 9 }) else { return nil }
        func value(_ byte: UInt8) -> Int { negative ? 9 - Int(byte - zero) : Int(byte - zero) }
        let biased = value(text[1]) * 100 + value(text[2]) * 10 + value(text[3])
        let digits = digitBytes.map { UInt8(value($0)) }
        let number = DynamoNumber(normalizing: negative, digits: digits, exponent: biased - exponentBias)
        return (try? number.checkLimits()) == nil ? nil : number
    }
}
