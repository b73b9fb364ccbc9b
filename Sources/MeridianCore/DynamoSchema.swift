/// The type of a DynamoDB key attribute: string, number or binary.
public enum DynamoKeyType: String, Sendable, Codable, CaseIterable {
    case string = "S"
    case number = "N"
    case binary = "B"
}

/// One key attribute of a table created through the DynamoDB API: its name and type.
public struct DynamoKeyAttribute: Sendable, Hashable, Codable {
    /// The attribute's name, 1 to 255 bytes of UTF-8.
    public var name: String
    public var type: DynamoKeyType

    /// A key attribute of a name and a type.
    public init(name: String, type: DynamoKeyType) {
        self.name = name
        self.type = type
    }
}

/// What the DynamoDB API needs to know of a table it created, kept in the table's
/// definition so that every region sees it: the name the client gave (DynamoDB names are
/// case-sensitive and allow `.`, which Meridian names do not), the key schema, the
/// billing mode the client asked for, and when it was created.
///
/// Invariants (checked by `init(json:)` and the wire decoder): the table name is 3 to 255
/// bytes of `[a-zA-Z0-9_.-]`; attribute names are 1 to 255 bytes; a range key, when
/// present, is named differently from the hash key.
public struct DynamoSchema: Sendable, Hashable, Codable {
    /// The table name as the DynamoDB client gave it.
    public var tableName: String
    /// The partition key.
    public var hashKey: DynamoKeyAttribute
    /// The sort key, if the table has one.
    public var rangeKey: DynamoKeyAttribute?
    /// `PROVISIONED` or `PAY_PER_REQUEST`: recorded and reported, not enforced.
    public var billingMode: String
    /// When the table was created, in milliseconds since the Unix epoch (the creating
    /// region's hybrid-logical-clock time).
    public var createdMilliseconds: UInt64

    /// The longest DynamoDB table name, in bytes.
    public static let tableNameBytesMax = 255
    /// The shortest DynamoDB table name, in bytes.
    public static let tableNameBytesMin = 3
    /// The longest key attribute name, in bytes.
    public static let attributeNameBytesMax = 255
    /// The billing modes DynamoDB defines.
    public static let billingModes: Set<String> = ["PROVISIONED", "PAY_PER_REQUEST"]

    /// Makes a schema from its parts; `isValid` says whether they hold the invariants.
    public init(tableName: String, hashKey: DynamoKeyAttribute, rangeKey: DynamoKeyAttribute? = nil,
                billingMode: String = "PAY_PER_REQUEST", createdMilliseconds: UInt64 = 0) {
        self.tableName = tableName
        self.hashKey = hashKey
        self.rangeKey = rangeKey
        self.billingMode = billingMode
        self.createdMilliseconds = createdMilliseconds
    }

    /// Whether the parts satisfy the invariants above.
    public var isValid: Bool {
        Self.isValidTableName(tableName)
            && (1...Self.attributeNameBytesMax).contains(hashKey.name.utf8.count)
            && rangeKey.map { (1...Self.attributeNameBytesMax).contains($0.name.utf8.count) && $0.name != hashKey.name } ?? true
            && Self.billingModes.contains(billingMode)
    }

    /// Whether `name` is a valid DynamoDB table name: `[a-zA-Z0-9_.-]{3,255}`.
    public static func isValidTableName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        return (tableNameBytesMin...tableNameBytesMax).contains(bytes.count) && bytes.allSatisfy { byte in
            isLowercaseLetter(byte) || isDigit(byte) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
        }
    }

    /// The JSON form a definition body carries under `"dynamodb"`.
    public var json: JSONValue {
        var fields: [String: JSONValue] = [
            "table_name": .string(tableName),
            "hash_key": .object(["name": .string(hashKey.name), "type": .string(hashKey.type.rawValue)]),
            "billing_mode": .string(billingMode),
            "created_ms": .integer(Int64(clamping: createdMilliseconds)),
        ]
        if let rangeKey {
            fields["range_key"] = .object(["name": .string(rangeKey.name), "type": .string(rangeKey.type.rawValue)])
        }
        return .object(fields)
    }

    /// Reads the JSON form of `json` and checks the invariants.
    public init(json: JSONValue) throws(MeridianError) {
        let invalid = MeridianError.invalid("invalid_definition",
            #"'dynamodb' must be {"table_name", "hash_key": {"name", "type": "S"|"N"|"B"}, "range_key"?, "billing_mode"?, "created_ms"?}"#)
        guard case .object(let fields) = json, Set(fields.keys).isSubset(of: ["table_name", "hash_key", "range_key", "billing_mode", "created_ms"]),
              case .string(let tableName)? = fields["table_name"], let hashField = fields["hash_key"] else { throw invalid }
        func attribute(_ value: JSONValue) throws(MeridianError) -> DynamoKeyAttribute {
            guard case .object(let parts) = value, parts.count == 2, case .string(let name)? = parts["name"],
                  case .string(let rawType)? = parts["type"], let type = DynamoKeyType(rawValue: rawType) else { throw invalid }
            return DynamoKeyAttribute(name: name, type: type)
        }
        var billingMode = "PAY_PER_REQUEST"
        if let value = fields["billing_mode"] {
            guard case .string(let mode) = value else { throw invalid }
            billingMode = mode
        }
        var created: UInt64 = 0
        if let value = fields["created_ms"] {
            guard case .integer(let milliseconds) = value, milliseconds >= 0 else { throw invalid }
            created = UInt64(milliseconds)
        }
        self.init(tableName: tableName, hashKey: try attribute(hashField), rangeKey: try fields["range_key"].map(attribute),
                  billingMode: billingMode, createdMilliseconds: created)
        guard isValid else { throw invalid }
    }
}
