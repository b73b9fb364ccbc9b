import Foundation

/// A JSON value as stored in an item.
///
/// Integers from -2^63 to 2^64-1 stay exact; every other number is a `Double`.
/// Values are stored in their canonical encoding (compact, object keys sorted), so two
/// regions holding the same value hold the same bytes.
///
/// Each integer has one representation: `.integer` when it fits an `Int64`, and
/// `.unsignedInteger` only above `Int64.max` (`JSONValue.integer(exactly:)` picks).
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case integer(Int64)
    /// An integer above `Int64.max` (2^63 to 2^64-1); never a smaller one.
    case unsignedInteger(UInt64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// The integer `value` in its one representation: `.integer` when it fits an `Int64`,
    /// else `.unsignedInteger`.
    public static func integer(exactly value: UInt64) -> JSONValue {
        value <= UInt64(Int64.max) ? .integer(Int64(value)) : .unsignedInteger(value)
    }

    /// Parses a client's JSON text, enforcing the byte limit and the nesting limit.
    ///
    /// Integers from -2^63 to 2^64-1 are kept exactly; a member name that appears twice in
    /// one object is refused (JSON leaves duplicates undefined, and keeping either one
    /// would lose the other silently).
    ///
    /// - Throws: `MeridianError` with code `value_too_large` (413) or `invalid_json` (400).
    public static func parse(_ bytes: some Collection<UInt8>, bytesMax: Int = Limits.valueBytesMaxDefault) throws(MeridianError) -> JSONValue {
        guard bytes.count <= bytesMax else {
            throw MeridianError(.tooLarge, code: "value_too_large", "value is \(bytes.count) bytes; the limit is \(bytesMax) bytes")
        }
        guard !bytes.isEmpty else {
            throw .invalid("invalid_json", "the body is empty; send a JSON value")
        }
        do {
            return try read(Array(bytes), depthMax: Limits.jsonDepthMax, duplicateNames: .refused)
        } catch {
            if error.isTooDeep {
                throw .invalid("invalid_json", "the value nests deeper than \(Limits.jsonDepthMax) levels")
            }
            throw .invalid("invalid_json", "the body is not valid JSON: \(error.reason) at byte \(error.offset)")
        }
    }

    /// Decodes a value this module encoded (storage reads); corruption is reported, not trapped.
    /// Read directly from the bytes (`read(_:depthMax:)`), not through JSONDecoder: this runs
    /// for every stored value read and every Raft entry applied.
    public static func decodeCanonical(_ bytes: some Collection<UInt8>) throws(MeridianError) -> JSONValue {
        do {
            // One level above the value limit: a Raft command wraps its value in an object.
            return try read(Array(bytes), depthMax: Limits.jsonDepthMax + 1, duplicateNames: .firstKept)
        } catch {
            throw MeridianError(.internalError, code: "corrupt_value", "a stored value could not be decoded (\(error.reason) at byte \(error.offset))")
        }
    }

    /// The canonical encoding: compact UTF-8 with object keys sorted (the bytes JSONEncoder
    /// writes with `.sortedKeys` and `.withoutEscapingSlashes`).
    public var canonicalBytes: [UInt8] {
        var bytes: [UInt8] = []
        writeCanonical(into: &bytes)
        return bytes
    }

    /// The nesting depth: 0 for scalars, 1 for a flat array or object.
    public var depth: Int {
        switch self {
        case .array(let elements): return 1 + (elements.map(\.depth).max() ?? 0)
        case .object(let fields): return 1 + (fields.values.map(\.depth).max() ?? 0)
        default: return 0
        }
    }
}

extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        if var array = try? decoder.unkeyedContainer() {
            var elements: [JSONValue] = []
            while !array.isAtEnd { elements.append(try array.decode(JSONValue.self)) }
            self = .array(elements)
            return
        }
        if let object = try? decoder.container(keyedBy: AnyCodingKey.self) {
            var fields: [String: JSONValue] = [:]
            for key in object.allKeys { fields[key.stringValue] = try object.decode(JSONValue.self, forKey: key) }
            self = .object(fields)
            return
        }
        let single = try decoder.singleValueContainer()
        if single.decodeNil() { self = .null }
        else if let bool = try? single.decode(Bool.self) { self = .bool(bool) }
        else if let integer = try? single.decode(Int64.self) { self = .integer(integer) }
        else if let unsigned = try? single.decode(UInt64.self) { self = .unsignedInteger(unsigned) }
        else if let double = try? single.decode(Double.self) { self = .double(double) }
        else { self = .string(try single.decode(String.self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .null:
            var single = encoder.singleValueContainer()
            try single.encodeNil()
        case .bool(let bool):
            var single = encoder.singleValueContainer()
            try single.encode(bool)
        case .integer(let integer):
            var single = encoder.singleValueContainer()
            try single.encode(integer)
        case .unsignedInteger(let unsigned):
            var single = encoder.singleValueContainer()
            try single.encode(unsigned)
        case .double(let double):
            var single = encoder.singleValueContainer()
            try single.encode(double)
        case .string(let string):
            var single = encoder.singleValueContainer()
            try single.encode(string)
        case .array(let elements):
            var array = encoder.unkeyedContainer()
            for element in elements { try array.encode(element) }
        case .object(let fields):
            var object = encoder.container(keyedBy: AnyCodingKey.self)
            for (key, value) in fields { try object.encode(value, forKey: AnyCodingKey(key)) }
        }
    }
}

/// A coding key for arbitrary object member names.
struct AnyCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { return nil }
}
