import MeridianCore

/// How a DynamoDB table name (`[a-zA-Z0-9_.-]{3,255}`, case-sensitive) names a Meridian
/// table (`[a-z][a-z0-9_-]{0,62}`).
///
/// The Meridian name is the DynamoDB name lower-cased with `.` turned into `-`, prefixed
/// with `ddb-` when it does not start with a letter, and, when longer than 63 bytes, cut
/// to 46 bytes followed by `-` and 16 hex digits of a hash of the DynamoDB name. The
/// DynamoDB name itself is kept in the table's definition (`DynamoSchema.tableName`), and a
/// request reaches the table only when it names it exactly: so `Movies` and `movies` map to
/// one Meridian table, and whichever is created second is refused (ResourceInUseException)
/// rather than silently sharing it. A table created through the native API is visible
/// under its own name, with a string hash key named `key` (`nativeSchema`).
public enum TableNames {
    /// What a native table looks like through the DynamoDB API.
    public static let nativeHashKey = DynamoKeyAttribute(name: "key", type: .string)
    /// The prefix of a Meridian name whose DynamoDB name does not start with a letter.
    static let nonLetterPrefix = "ddb-"
    /// Bytes kept of a long name before its hash.
    static let truncatedBytes = 46

    /// Checks a DynamoDB table name, with DynamoDB's messages; `member` is the parameter's
    /// name in them (`tableName`).
    public static func validate(_ name: String, member: String = "tableName") throws(DynamoError) {
        guard name.utf8.count >= DynamoSchema.tableNameBytesMin else {
            throw .validation("1 validation error detected: Value '\(name.prefix(300))' at '\(member)' failed to satisfy constraint: Member must have length greater than or equal to \(DynamoSchema.tableNameBytesMin)")
        }
        guard name.utf8.count <= DynamoSchema.tableNameBytesMax else {
            throw .validation("1 validation error detected: Value '\(name.prefix(300))' at '\(member)' failed to satisfy constraint: Member must have length less than or equal to \(DynamoSchema.tableNameBytesMax)")
        }
        guard DynamoSchema.isValidTableName(name) else {
            throw .validation("1 validation error detected: Value '\(name.prefix(300))' at '\(member)' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")
        }
    }

    /// The Meridian table a valid DynamoDB name maps to.
    public static func meridianName(for dynamoName: String) throws(DynamoError) -> TableName {
        try validate(dynamoName)
        var mapped = String(dynamoName.lowercased().map { $0 == "." ? "-" : $0 })
        if let first = mapped.utf8.first, !(first >= UInt8(ascii: "a") && first <= UInt8(ascii: "z")) {
            mapped = nonLetterPrefix + mapped
        }
        if mapped.utf8.count > Limits.tableNameBytesMax {
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in dynamoName.utf8 {
                hash ^= UInt64(byte)
                hash = hash &* 0x0000_0100_0000_01b3
            }
            let hex = String(hash, radix: 16)
            mapped = String(mapped.prefix(truncatedBytes)) + "-" + String(repeating: "0", count: 16 - hex.count) + hex
        }
        do { return try TableName(mapped) } catch { preconditionFailure("a mapped name is a valid Meridian name: \(mapped)") }
    }

    /// The schema a table shows through the DynamoDB API: its own, or for a table created
    /// through the native API, a string hash key named `key` under its Meridian name.
    public static func schema(of definition: TableDefinition) -> DynamoSchema {
        definition.dynamo ?? DynamoSchema(tableName: definition.name.name, hashKey: nativeHashKey)
    }

    /// Whether a request naming `dynamoName` reaches the table `definition` defines.
    public static func matches(_ definition: TableDefinition, dynamoName: String) -> Bool {
        schema(of: definition).tableName == dynamoName
    }
}
