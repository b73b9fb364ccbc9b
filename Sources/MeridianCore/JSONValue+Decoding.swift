// A direct JSON reader for the values Meridian stored itself (item values, Raft commands).
// Foundation's JSONDecoder goes through Codable containers and was a tenth of the Raft
// write path's CPU; this reads the bytes straight into a JSONValue, with the same
// classification of numbers as the Codable path (`JSONValue.init(from:)`).

extension JSONValue {
    /// Reads one JSON value that fills `bytes` (RFC 8259, whitespace around it allowed).
    ///
    /// Numbers are classified as `JSONValue.init(from:)` classifies them through
    /// JSONDecoder (swift-foundation's `Int64` reading, then `UInt64`, then `Double`):
    /// integer syntax that fits an `Int64` is an integer, and a non-negative one up to
    /// 2^64-1 an unsigned integer; otherwise the number is read as a double, and a double
    /// below 2^53 in magnitude that is a whole number is an integer (`1.0`, `1e2`, `-0.0`,
    /// even `1e-400`); at or above 2^53 the decimal value truncated toward zero is the
    /// integer when it fits 64 bits (`5.13924626699475e+18`, `9007199254740993.5`, `1e19`);
    /// anything else finite is a double; a number that overflows a double is an error.
    /// (Above `Int64.max` JSONDecoder's `UInt64` reading refuses some fractions this reads,
    /// `9300000000000000001.5`; canonical bytes never hold one.) A leading
    /// UTF-8 byte-order mark is skipped, as JSONDecoder does. A member name that appears
    /// twice in one object is refused (`duplicateNames: .refused`, client bodies) or the
    /// first is kept (`.firstKept`, as JSONDecoder does: values this module stored never
    /// hold duplicates, and their reading stays as it was).
    ///
    /// - Throws: `JSONReadError` with the offset of the first byte that is not valid JSON,
    ///   of a duplicate member name, or where nesting passes `depthMax`.
    static func read(_ bytes: [UInt8], depthMax: Int, duplicateNames: DuplicateNames) throws(JSONReadError) -> JSONValue {
        try bytes.withUnsafeBufferPointer { (buffer) throws(JSONReadError) -> JSONValue in
            var reader = JSONByteReader(bytes: buffer, depthMax: depthMax, duplicateNames: duplicateNames)
            if buffer.count >= 3, buffer[0] == 0xEF, buffer[1] == 0xBB, buffer[2] == 0xBF { reader.offset = 3 }
            reader.skipWhitespace()
            let value = try reader.value(depth: 0)
            reader.skipWhitespace()
            guard reader.offset == buffer.count else { throw JSONReadError(offset: reader.offset, reason: "bytes after the value") }
            return value
        }
    }
}

/// What the reader does with a member name that appears twice in one object.
enum DuplicateNames {
    /// The object is refused at the second occurrence.
    case refused
    /// The first occurrence's value is kept, the later ones dropped.
    case firstKept
}

/// Where and why bytes are not a JSON value.
struct JSONReadError: Error, Equatable {
    let offset: Int
    let reason: String
    /// Whether the bytes were refused for nesting past the limit (they may be valid JSON).
    var isTooDeep = false
}

/// A cursor over JSON bytes.
private struct JSONByteReader {
    let bytes: UnsafeBufferPointer<UInt8>
    let depthMax: Int
    let duplicateNames: DuplicateNames
    var offset = 0

    init(bytes: UnsafeBufferPointer<UInt8>, depthMax: Int, duplicateNames: DuplicateNames) {
        self.bytes = bytes
        self.depthMax = depthMax
        self.duplicateNames = duplicateNames
    }

    func fail(_ reason: String) -> JSONReadError { JSONReadError(offset: offset, reason: reason) }

    mutating func skipWhitespace() {
        while offset < bytes.count {
            switch bytes[offset] {
            case 0x20, 0x09, 0x0A, 0x0D: offset += 1
            default: return
            }
        }
    }

    mutating func expect(_ literal: StaticString) throws(JSONReadError) {
        let count = literal.utf8CodeUnitCount
        guard offset + count <= bytes.count else { throw fail("truncated literal") }
        for index in 0..<count where bytes[offset + index] != literal.utf8Start[index] { throw fail("unknown literal") }
        offset += count
    }

    mutating func value(depth: Int) throws(JSONReadError) -> JSONValue {
        guard offset < bytes.count else { throw fail("a value was expected") }
        switch bytes[offset] {
        case UInt8(ascii: "{"): return try object(depth: depth + 1)
        case UInt8(ascii: "["): return try array(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try expect("true"); return .bool(true)
        case UInt8(ascii: "f"): try expect("false"); return .bool(false)
        case UInt8(ascii: "n"): try expect("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw fail("a value was expected")
        }
    }

    mutating func array(depth: Int) throws(JSONReadError) -> JSONValue {
        guard depth <= depthMax else { throw JSONReadError(offset: offset, reason: "nested deeper than \(depthMax)", isTooDeep: true) }
        offset += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if offset < bytes.count, bytes[offset] == UInt8(ascii: "]") {
            offset += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try value(depth: depth))
            skipWhitespace()
            guard offset < bytes.count else { throw fail("unterminated array") }
            let byte = bytes[offset]
            offset += 1
            if byte == UInt8(ascii: "]") { return .array(elements) }
            guard byte == UInt8(ascii: ",") else { offset -= 1; throw fail("',' or ']' was expected") }
        }
    }

    mutating func object(depth: Int) throws(JSONReadError) -> JSONValue {
        guard depth <= depthMax else { throw JSONReadError(offset: offset, reason: "nested deeper than \(depthMax)", isTooDeep: true) }
        offset += 1
        var fields: [String: JSONValue] = [:]
        skipWhitespace()
        if offset < bytes.count, bytes[offset] == UInt8(ascii: "}") {
            offset += 1
            return .object(fields)
        }
        while true {
            skipWhitespace()
            guard offset < bytes.count, bytes[offset] == UInt8(ascii: "\"") else { throw fail("a member name was expected") }
            let nameOffset = offset
            let name = try string()
            if duplicateNames == .refused, fields[name] != nil {
                throw JSONReadError(offset: nameOffset, reason: "the member name \(Self.quoted(name)) appears twice in one object")
            }
            skipWhitespace()
            guard offset < bytes.count, bytes[offset] == UInt8(ascii: ":") else { throw fail("':' was expected") }
            offset += 1
            skipWhitespace()
            let member = try value(depth: depth)
            if fields[name] == nil { fields[name] = member }  // the first of duplicates, as JSONDecoder keeps
            skipWhitespace()
            guard offset < bytes.count else { throw fail("unterminated object") }
            let byte = bytes[offset]
            offset += 1
            if byte == UInt8(ascii: "}") { return .object(fields) }
            guard byte == UInt8(ascii: ",") else { offset -= 1; throw fail("',' or '}' was expected") }
        }
    }

    /// A string token; the cursor is at its opening quote.
    mutating func string() throws(JSONReadError) -> String {
        offset += 1
        let start = offset
        // The common case: no escape, so the bytes between the quotes are the string.
        while offset < bytes.count {
            let byte = bytes[offset]
            if byte == UInt8(ascii: "\"") {
                let slice = UnsafeBufferPointer(rebasing: bytes[start..<offset])
                offset += 1
                guard let text = String(validating: slice, as: UTF8.self) else { throw JSONReadError(offset: start, reason: "invalid UTF-8 in a string") }
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            guard byte >= 0x20 else { throw fail("control character in a string") }
            offset += 1
        }
        var scalars = Array(bytes[start..<offset])
        while offset < bytes.count {
            let byte = bytes[offset]
            switch byte {
            case UInt8(ascii: "\""):
                offset += 1
                guard let text = String(validating: scalars, as: UTF8.self) else { throw JSONReadError(offset: start, reason: "invalid UTF-8 in a string") }
                return text
            case UInt8(ascii: "\\"):
                offset += 1
                guard offset < bytes.count else { throw fail("unterminated escape") }
                let escaped = bytes[offset]
                offset += 1
                switch escaped {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scalars.append(escaped)
                case UInt8(ascii: "b"): scalars.append(0x08)
                case UInt8(ascii: "f"): scalars.append(0x0C)
                case UInt8(ascii: "n"): scalars.append(0x0A)
                case UInt8(ascii: "r"): scalars.append(0x0D)
                case UInt8(ascii: "t"): scalars.append(0x09)
                case UInt8(ascii: "u"):
                    var code = UInt32(try hex4())
                    if (0xD800...0xDBFF).contains(code) {
                        guard offset + 1 < bytes.count, bytes[offset] == UInt8(ascii: "\\"), bytes[offset + 1] == UInt8(ascii: "u") else {
                            throw fail("unpaired surrogate")
                        }
                        offset += 2
                        let low = UInt32(try hex4())
                        guard (0xDC00...0xDFFF).contains(low) else { throw fail("unpaired surrogate") }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(code) {
                        throw fail("unpaired surrogate")
                    }
                    guard let scalar = Unicode.Scalar(code) else { throw fail("invalid escape") }
                    scalars.append(contentsOf: UTF8.encode(scalar)!)
                default:
                    throw fail("invalid escape")
                }
            default:
                guard byte >= 0x20 else { throw fail("control character in a string") }
                scalars.append(byte)
                offset += 1
            }
        }
        throw fail("unterminated string")
    }

    mutating func hex4() throws(JSONReadError) -> UInt16 {
        guard offset + 4 <= bytes.count else { throw fail("truncated \\u escape") }
        var value: UInt16 = 0
        for _ in 0..<4 {
            let byte = bytes[offset]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw fail("invalid \\u escape")
            }
            value = value << 4 | UInt16(digit)
            offset += 1
        }
        return value
    }

    func isDigit(_ position: Int) -> Bool {
        position < bytes.count && bytes[position] >= UInt8(ascii: "0") && bytes[position] <= UInt8(ascii: "9")
    }

    /// A number token, checked against the JSON grammar, then classified.
    mutating func number() throws(JSONReadError) -> JSONValue {
        let start = offset
        var negative = false
        if bytes[offset] == UInt8(ascii: "-") {
            negative = true
            offset += 1
        }
        guard isDigit(offset) else { throw fail("a digit was expected") }
        if bytes[offset] == UInt8(ascii: "0") {
            offset += 1
            if isDigit(offset) { throw fail("a number has a leading zero") }
        } else {
            while isDigit(offset) { offset += 1 }
        }
        var isIntegerSyntax = true
        if offset < bytes.count, bytes[offset] == UInt8(ascii: ".") {
            isIntegerSyntax = false
            offset += 1
            guard isDigit(offset) else { throw fail("a digit was expected after '.'") }
            while isDigit(offset) { offset += 1 }
        }
        if offset < bytes.count, bytes[offset] == UInt8(ascii: "e") || bytes[offset] == UInt8(ascii: "E") {
            isIntegerSyntax = false
            offset += 1
            if offset < bytes.count, bytes[offset] == UInt8(ascii: "+") || bytes[offset] == UInt8(ascii: "-") { offset += 1 }
            guard isDigit(offset) else { throw fail("a digit was expected in the exponent") }
            while isDigit(offset) { offset += 1 }
        }
        if isIntegerSyntax, let exact = truncatedInteger(start..<offset, negative: negative) { return exact }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<offset]), as: UTF8.self)
        guard let double = Double(text), double.isFinite else { throw JSONReadError(offset: start, reason: "a number out of range") }
        if !isIntegerSyntax {
            if abs(double) < 9_007_199_254_740_992 {
                if let exact = Int64(exactly: double) { return .integer(exact) }
            } else if let truncated = truncatedInteger(start..<offset, negative: negative) {
                return truncated
            }
        }
        return .double(double)
    }

    /// A member name as an error message shows it: quoted, at most 64 characters.
    static func quoted(_ name: String) -> String {
        "\"" + (name.count > 64 ? String(name.prefix(64)) + "…" : name) + "\""
    }

    /// The number token at `range`, its decimal value truncated toward zero, as an integer
    /// when that fits 64 bits (`.integer`, or `.unsignedInteger` above `Int64.max`): from
    /// the decimal digits, not through a double.
    func truncatedInteger(_ range: Range<Int>, negative: Bool) -> JSONValue? {
        var digits: [UInt8] = []
        var exponent = 0
        var position = negative ? range.lowerBound + 1 : range.lowerBound
        var seenPoint = false
        while position < range.upperBound {
            let byte = bytes[position]
            if byte == UInt8(ascii: ".") {
                seenPoint = true
            } else if byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
                break
            } else {
                if seenPoint { exponent -= 1 }
                // Leading zeros add nothing to digits × 10^exponent.
                let digit = byte - UInt8(ascii: "0")
                if !(digits.isEmpty && digit == 0) { digits.append(digit) }
            }
            position += 1
        }
        if position < range.upperBound {
            // The exponent, saturated: anything past a few hundred decides nothing more.
            position += 1
            var exponentNegative = false
            if bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
                exponentNegative = bytes[position] == UInt8(ascii: "-")
                position += 1
            }
            var written = 0
            while position < range.upperBound {
                written = min(written * 10 + Int(bytes[position] - UInt8(ascii: "0")), 100_000)
                position += 1
            }
            exponent += exponentNegative ? -written : written
        }
        if digits.isEmpty { return .integer(0) }
        // value = digits × 10^exponent; a negative exponent drops digits (truncation).
        while exponent < 0 {
            digits.removeLast()
            exponent += 1
            if digits.isEmpty { return .integer(0) }
        }
        guard digits.count + exponent <= 20 else { return nil }
        var magnitude: UInt64 = 0
        for digit in digits + [UInt8](repeating: 0, count: exponent) {
            let (times10, overflowed) = magnitude.multipliedReportingOverflow(by: 10)
            let (next, overflowedAgain) = times10.addingReportingOverflow(UInt64(digit))
            if overflowed || overflowedAgain { return nil }
            magnitude = next
        }
        guard negative else { return JSONValue.integer(exactly: magnitude) }
        // Int64.min's magnitude is one more than Int64.max.
        guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
        return .integer(magnitude == UInt64(Int64.max) + 1 ? .min : -Int64(magnitude))
    }
}
