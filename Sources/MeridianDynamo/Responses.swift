import MeridianCore

/// The DynamoDB operations, by the name `X-Amz-Target` carries after `DynamoDB_20120810.`.
public enum DynamoOperation: String, Sendable, CaseIterable {
    case createTable = "CreateTable"
    case describeTable = "DescribeTable"
    case listTables = "ListTables"
    case deleteTable = "DeleteTable"
    case updateTable = "UpdateTable"
    case putItem = "PutItem"
    case getItem = "GetItem"
    case deleteItem = "DeleteItem"
    case updateItem = "UpdateItem"
    case query = "Query"
    case scan = "Scan"
    case batchGetItem = "BatchGetItem"
    case batchWriteItem = "BatchWriteItem"
    case transactWriteItems = "TransactWriteItems"
    case transactGetItems = "TransactGetItems"
    case describeTimeToLive = "DescribeTimeToLive"
    case describeEndpoints = "DescribeEndpoints"

    /// The prefix of `X-Amz-Target` for DynamoDB's current API version.
    public static let targetPrefix = "DynamoDB_20120810."

    /// The least role a token needs: `read` for reads, `write` for item writes, `admin`
    /// for table definitions (as on the native API).
    public var requiredRole: String {
        switch self {
        case .describeTable, .listTables, .getItem, .query, .scan, .batchGetItem, .transactGetItems, .describeTimeToLive, .describeEndpoints: "read"
        case .putItem, .deleteItem, .updateItem, .batchWriteItem, .transactWriteItems: "write"
        case .createTable, .deleteTable, .updateTable: "admin"
        }
    }

    /// DynamoDB operations Meridian leaves out, with the feature each belongs to
    /// (docs/dynamodb.md); a request for one gets a `ValidationException` saying so.
    public static let leftOut: [String: String] = [
        "UpdateTimeToLive": "time to live (TTL)",
        "ExecuteStatement": "PartiQL", "BatchExecuteStatement": "PartiQL", "ExecuteTransaction": "PartiQL",
        "DescribeStream": "DynamoDB Streams", "ListStreams": "DynamoDB Streams", "GetRecords": "DynamoDB Streams", "GetShardIterator": "DynamoDB Streams",
        "DescribeKinesisStreamingDestination": "Kinesis streaming", "EnableKinesisStreamingDestination": "Kinesis streaming",
        "DisableKinesisStreamingDestination": "Kinesis streaming", "UpdateKinesisStreamingDestination": "Kinesis streaming",
        "CreateBackup": "on-demand backups", "DeleteBackup": "on-demand backups", "DescribeBackup": "on-demand backups",
        "ListBackups": "on-demand backups", "RestoreTableFromBackup": "on-demand backups",
        "DescribeContinuousBackups": "point-in-time recovery", "UpdateContinuousBackups": "point-in-time recovery",
        "RestoreTableToPointInTime": "point-in-time recovery",
        "CreateGlobalTable": "version 2017 global tables (every Meridian table is a global table: use UpdateTable ReplicaUpdates)",
        "DescribeGlobalTable": "version 2017 global tables (DescribeTable lists Replicas)",
        "DescribeGlobalTableSettings": "version 2017 global tables", "ListGlobalTables": "version 2017 global tables",
        "UpdateGlobalTable": "version 2017 global tables", "UpdateGlobalTableSettings": "version 2017 global tables",
        "DescribeTableReplicaAutoScaling": "auto scaling", "UpdateTableReplicaAutoScaling": "auto scaling",
        "TagResource": "tags (meridian:* tags are read at CreateTable only)", "UntagResource": "tags", "ListTagsOfResource": "tags",
        "ExportTableToPointInTime": "exports to S3", "DescribeExport": "exports to S3", "ListExports": "exports to S3",
        "ImportTable": "imports from S3", "DescribeImport": "imports from S3", "ListImports": "imports from S3",
        "DescribeContributorInsights": "contributor insights", "UpdateContributorInsights": "contributor insights",
        "ListContributorInsights": "contributor insights", "DescribeLimits": "account limits",
        "GetResourcePolicy": "resource policies", "PutResourcePolicy": "resource policies", "DeleteResourcePolicy": "resource policies",
    ]
}

/// The bodies of successful answers that several operations share.
public enum Responses {
    /// A table's description as DescribeTable, CreateTable and DeleteTable return it, with a
    /// `Meridian` member (mode, policy, regions, leader) that SDKs ignore.
    public static func tableDescription(_ definition: TableDefinition, status: String, itemCount: Int, sizeBytes: Int,
                                        arnRegion: String, leader: String?) -> JSONValue {
        let schema = TableNames.schema(of: definition)
        var keySchema: [JSONValue] = [.object(["AttributeName": .string(schema.hashKey.name), "KeyType": .string("HASH")])]
        var attributes: [JSONValue] = [.object(["AttributeName": .string(schema.hashKey.name), "AttributeType": .string(schema.hashKey.type.rawValue)])]
        if let range = schema.rangeKey {
            keySchema.append(.object(["AttributeName": .string(range.name), "KeyType": .string("RANGE")]))
            attributes.append(.object(["AttributeName": .string(range.name), "AttributeType": .string(range.type.rawValue)]))
        }
        var meridian: [String: JSONValue] = [
            "TableName": .string(definition.name.name), "Mode": .string(definition.mode.rawValue),
            "Regions": .array(definition.regions.map { .string($0.name) }),
        ]
        if let conflict = definition.conflict { meridian["Conflict"] = .string(conflict.rawValue) }
        if let primary = definition.primary { meridian["Primary"] = .string(primary.name) }
        if let commit = definition.commit { meridian["Commit"] = .string(commit.rawValue) }
        if let leader { meridian["Leader"] = .string(leader) }
        var description: [String: JSONValue] = [
            "TableName": .string(schema.tableName),
            "TableStatus": .string(status),
            "KeySchema": .array(keySchema),
            "AttributeDefinitions": .array(attributes),
            "CreationDateTime": .double(Double(schema.createdMilliseconds) / 1000),
            "ItemCount": .integer(Int64(itemCount)),
            "TableSizeBytes": .integer(Int64(sizeBytes)),
            "TableArn": .string("arn:aws:dynamodb:\(arnRegion):000000000000:table/\(schema.tableName)"),
            "TableId": .string(tableID(schema.tableName, created: schema.createdMilliseconds)),
            "ProvisionedThroughput": .object(["ReadCapacityUnits": .integer(0), "WriteCapacityUnits": .integer(0), "NumberOfDecreasesToday": .integer(0)]),
            "BillingModeSummary": .object(["BillingMode": .string(schema.billingMode)]),
            "Replicas": .array(definition.regions.map { .object(["RegionName": .string($0.name), "ReplicaStatus": .string("ACTIVE")]) }),
            "Meridian": .object(meridian),
        ]
        if definition.regions.count > 1 { description["GlobalTableVersion"] = .string("2019.11.21") }
        return .object(description)
    }

    /// A stable identifier in UUID form, from the table's name and creation time.
    static func tableID(_ name: String, created: UInt64) -> String {
        var hashes: [UInt64] = []
        for seed in [UInt64(0xcbf2_9ce4_8422_2325), 0x84222325cbf29ce4] {
            var hash = seed ^ created
            for byte in name.utf8 {
                hash ^= UInt64(byte)
                hash = hash &* 0x0000_0100_0000_01b3
            }
            hashes.append(hash)
        }
        let hex = hashes.map { value in let text = String(value, radix: 16); return String(repeating: "0", count: 16 - text.count) + text }.joined()
        let characters = Array(hex)
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(characters[$0]) }.joined(separator: "-")
    }

    /// `ConsumedCapacity` of a request on one table: DynamoDB's units (a write unit per KB
    /// written, a read unit per 4 KB read, half of one for eventually consistent reads).
    /// Meridian provisions no capacity; the figure is what DynamoDB would have charged.
    public static func consumedCapacity(tableName: String, readBytes: Int = 0, reads: Int = 0, writeBytes: Int = 0, writes: Int = 0,
                                        consistent: Bool = false) -> JSONValue {
        let readUnits = Double(max(reads, (readBytes + 4095) / 4096)) * (consistent ? 1 : 0.5)
        let writeUnits = Double(max(writes, (writeBytes + 1023) / 1024))
        return .object(["TableName": .string(tableName), "CapacityUnits": .double(readUnits + writeUnits)])
    }
}
