/// The name of a region, such as `us-east`: 1 to 63 bytes of `[a-z0-9-]`, starting with a letter.
public struct RegionID: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// The name as written in the cluster file.
    public let name: String

    /// Validates a region name.
    public init(_ name: String) throws(MeridianError) {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= Limits.regionNameBytesMax,
              let first = bytes.first, isLowercaseLetter(first),
              bytes.allSatisfy({ isLowercaseLetter($0) || isDigit($0) || $0 == UInt8(ascii: "-") })
        else {
            throw .invalid("invalid_region", "region name must match [a-z][a-z0-9-]{0,62}; got '\(name.prefix(80))'")
        }
        self.name = name
    }

    public var description: String { name }
    public static func < (lhs: RegionID, rhs: RegionID) -> Bool { Array(lhs.name.utf8).lexicographicallyPrecedes(Array(rhs.name.utf8)) }

    public init(from decoder: any Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        try self.init(name)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(name)
    }
}

/// The name of a table: `[a-z][a-z0-9_-]{0,62}`.
public struct TableName: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// The validated name.
    public let name: String

    /// Validates a table name.
    public init(_ name: String) throws(MeridianError) {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= Limits.tableNameBytesMax,
              let first = bytes.first, isLowercaseLetter(first),
              bytes.allSatisfy({ isLowercaseLetter($0) || isDigit($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") })
        else {
            throw .invalid("invalid_table_name", "table name must match [a-z][a-z0-9_-]{0,62}; got '\(name.prefix(80))'")
        }
        self.name = name
    }

    public var description: String { name }
    public static func < (lhs: TableName, rhs: TableName) -> Bool { Array(lhs.name.utf8).lexicographicallyPrecedes(Array(rhs.name.utf8)) }

    public init(from decoder: any Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        try self.init(name)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(name)
    }
}

/// An item key: 1 to 1024 bytes of UTF-8.
///
/// Keys are compared, hashed and ordered by their UTF-8 bytes, never by Swift's
/// Unicode-canonical string equality: `"é"` precomposed and `"e\u{301}"` are two keys,
/// exactly as SQLite stores them.
public struct Key: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The key's UTF-8 bytes.
    public let bytes: [UInt8]

    /// Validates a key given as a string.
    public init(_ string: String) throws(MeridianError) {
        try self.init(utf8: Array(string.utf8))
    }

    /// Validates a key given as bytes, which must be well-formed UTF-8.
    public init(utf8 bytes: [UInt8]) throws(MeridianError) {
        guard bytes.count >= Limits.keyBytesMin else {
            throw .invalid("invalid_key", "key must not be empty")
        }
        guard bytes.count <= Limits.keyBytesMax else {
            throw MeridianError(.tooLarge, code: "key_too_large", "key is \(bytes.count) bytes; the limit is \(Limits.keyBytesMax) bytes of UTF-8")
        }
        guard String(validating: bytes, as: UTF8.self) != nil else {
            throw .invalid("invalid_key", "key is not valid UTF-8")
        }
        self.bytes = bytes
    }

    /// The key as a string (always valid: the bytes were validated as UTF-8).
    public var string: String { String(decoding: bytes, as: UTF8.self) }
    public var description: String { string }

    public static func < (lhs: Key, rhs: Key) -> Bool { lhs.bytes.lexicographicallyPrecedes(rhs.bytes) }

    /// Whether the key starts with the given bytes.
    public func hasPrefix(_ prefix: [UInt8]) -> Bool { bytes.starts(with: prefix) }
}

@inline(__always) func isLowercaseLetter(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z") }
@inline(__always) func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

extension Key: Codable {
    public init(from decoder: any Decoder) throws {
        try self.init(try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(string)
    }
}
