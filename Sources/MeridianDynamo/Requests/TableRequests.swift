import Foundation
import MeridianCore

/// A validated CreateTable request: the DynamoDB schema and the Meridian definition fields
/// its `meridian:*` tags ask for.
///
/// Tags are the extension point because SDKs validate requests against DynamoDB's model:
/// an unknown member would be refused by boto3 before it is sent, a tag never is.
/// `meridian:mode` (`multi-primary`, `primary`, `strong`), `meridian:conflict` (`lww`,
/// `merge`), `meridian:regions` (comma-separated), `meridian:primary` and
/// `meridian:commit` (`local`, `quorum`) become the definition's fields; without them a
/// table is what a DynamoDB global table is: multi-primary, last writer wins, in every region.
public struct CreateTableRequest: Sendable {
    public var tableName: String
    public var schema: DynamoSchema
    /// Definition fields (`mode`, `conflict`, `regions`, `primary`, `commit`) from the tags.
    public var meridianFields: [String: JSONValue]

    /// The tag keys Meridian reads, and the definition field each sets.
    public static let tagFields: [String: String] = [
        "meridian:mode": "mode", "meridian:conflict": "conflict", "meridian:regions": "regions",
        "meridian:primary": "primary", "meridian:commit": "commit",
    ]

    /// Reads and validates the operation's request body, with DynamoDB's messages.
    public init(_ body: RequestBody) throws(DynamoError) {
        tableName = try body.tableName()
        for (member, feature) in [("GlobalSecondaryIndexes", "global secondary indexes"), ("LocalSecondaryIndexes", "local secondary indexes")]
        where body.members[member] != nil {
            throw .unsupported(feature)
        }
        if let stream = try body.object("StreamSpecification"), stream["StreamEnabled"] == .bool(true) { throw .unsupported("DynamoDB Streams") }
        if let sse = try body.object("SSESpecification"), sse["Enabled"] == .bool(true) {
            throw .unsupported("SSESpecification (server-side encryption with KMS keys); Meridian's files are not encrypted at rest")
        }
        if try body.bool("DeletionProtectionEnabled") == true { throw .unsupported("deletion protection") }
        _ = try body.choice("TableClass", ["STANDARD", "STANDARD_INFREQUENT_ACCESS"])
        let billingMode = try body.choice("BillingMode", ["PROVISIONED", "PAY_PER_REQUEST"]) ?? "PROVISIONED"
        if billingMode == "PROVISIONED" {
            guard let throughput = try body.object("ProvisionedThroughput"),
                  case .integer(let read)? = throughput["ReadCapacityUnits"], case .integer(let write)? = throughput["WriteCapacityUnits"] else {
                throw .invalidParameter("ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED")
            }
            guard read >= 1, write >= 1 else {
                throw .invalidParameter("ReadCapacityUnits and WriteCapacityUnits must both be at least 1 when BillingMode is PROVISIONED")
            }
        } else if body.members["ProvisionedThroughput"] != nil {
            throw .invalidParameter("Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST")
        }
        let (hashKey, rangeKey) = try Self.keySchema(body)
        schema = DynamoSchema(tableName: tableName, hashKey: hashKey, rangeKey: rangeKey, billingMode: billingMode)
        meridianFields = try Self.meridianFields(body)
    }

    /// The table's definition body for `RegionRequest.createTable`.
    public func definitionBody(createdMilliseconds: UInt64) -> JSONValue {
        var schema = schema
        schema.createdMilliseconds = createdMilliseconds
        var fields = meridianFields
        fields["dynamodb"] = schema.json
        return .object(fields)
    }

    private static func keySchema(_ body: RequestBody) throws(DynamoError) -> (DynamoKeyAttribute, DynamoKeyAttribute?) {
        guard let elements = try body.array("KeySchema") else { throw RequestBody.missing("KeySchema") }
        guard let definitions = try body.array("AttributeDefinitions") else { throw RequestBody.missing("AttributeDefinitions") }
        guard (1...2).contains(elements.count) else {
            throw .validation("1 validation error detected: Value at 'keySchema' failed to satisfy constraint: Member must have length \(elements.isEmpty ? "greater than or equal to 1" : "less than or equal to 2")")
        }
        var types: [String: DynamoKeyType] = [:]
        for (position, definition) in definitions.enumerated() {
            guard case .object(let fields) = definition, case .string(let name)? = fields["AttributeName"], case .string(let rawType)? = fields["AttributeType"] else {
                throw .serialization("AttributeDefinitions must hold {\"AttributeName\", \"AttributeType\"} objects")
            }
            guard let type = DynamoKeyType(rawValue: rawType) else {
                throw .validation("1 validation error detected: Value '\(rawType.prefix(20))' at 'attributeDefinitions.\(position + 1).member.attributeType' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]")
            }
            guard (1...DynamoSchema.attributeNameBytesMax).contains(name.utf8.count) else {
                throw .validation("1 validation error detected: Value '\(name.prefix(300))' at 'attributeDefinitions.\(position + 1).member.attributeName' failed to satisfy constraint: Member must have length between 1 and 255")
            }
            guard types.updateValue(type, forKey: name) == nil else {
                throw .invalidParameter("Duplicate AttributeName in AttributeDefinitions: \(name)")
            }
        }
        var keys: [(String, String)] = []
        for element in elements {
            guard case .object(let fields) = element, case .string(let name)? = fields["AttributeName"], case .string(let keyType)? = fields["KeyType"] else {
                throw .serialization("KeySchema must hold {\"AttributeName\", \"KeyType\"} objects")
            }
            guard keyType == "HASH" || keyType == "RANGE" else {
                throw .validation("1 validation error detected: Value '\(keyType.prefix(20))' at 'keySchema.\(keys.count + 1).member.keyType' failed to satisfy constraint: Member must satisfy enum value set: [HASH, RANGE]")
            }
            keys.append((name, keyType))
        }
        guard keys[0].1 == "HASH" else { throw .validation("Invalid KeySchema: The first KeySchemaElement is not a HASH key type") }
        if keys.count == 2 {
            guard keys[1].1 == "RANGE" else { throw .validation("Invalid KeySchema: The second KeySchemaElement is not a RANGE key type") }
            guard keys[0].0 != keys[1].0 else { throw .validation("Both the Hash Key and the Range Key element in the KeySchema have the same name") }
        }
        let missing = keys.map(\.0).filter { types[$0] == nil }
        guard missing.isEmpty else {
            throw .invalidParameter("Some index key attributes are not defined in AttributeDefinitions. Keys: [\(missing.joined(separator: ", "))], AttributeDefinitions: [\(types.keys.sorted().joined(separator: ", "))]")
        }
        guard types.count == keys.count else {
            throw .invalidParameter("Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions")
        }
        let hash = DynamoKeyAttribute(name: keys[0].0, type: types[keys[0].0]!)
        let range = keys.count == 2 ? DynamoKeyAttribute(name: keys[1].0, type: types[keys[1].0]!) : nil
        return (hash, range)
    }

    private static func meridianFields(_ body: RequestBody) throws(DynamoError) -> [String: JSONValue] {
        var fields: [String: JSONValue] = [:]
        for tag in try body.array("Tags") ?? [] {
            guard case .object(let parts) = tag, case .string(let key)? = parts["Key"], case .string(let value)? = parts["Value"] else {
                throw .serialization("Tags must hold {\"Key\", \"Value\"} objects")
            }
            guard let field = tagFields[key] else {
                throw .unsupported("the tag '\(key.prefix(128))': only meridian:mode, meridian:conflict, meridian:regions, meridian:primary and meridian:commit are read, and tags are not stored")
            }
            if field == "regions" {
                fields[field] = .array(value.split(separator: ",").map { .string($0.trimmingCharacters(in: .whitespaces)) })
            } else {
                fields[field] = .string(value)
            }
        }
        if fields["conflict"] == .string("siblings") {
            throw .validation("meridian:conflict 'siblings' keeps concurrent versions side by side, which DynamoDB's single-version reads cannot show; use lww or merge")
        }
        return fields
    }
}

/// A validated ListTables request.
public struct ListTablesRequest: Sendable {
    public var exclusiveStartTableName: String?
    public var limit: Int

    /// Reads and validates the operation's request body, with DynamoDB's messages.
    public init(_ body: RequestBody) throws(DynamoError) {
        exclusiveStartTableName = try body.string("ExclusiveStartTableName")
        let limit = try body.integer("Limit") ?? Int64(DynamoLimits.listTablesPageMax)
        guard limit >= 1 else {
            throw .validation("1 validation error detected: Value '\(limit)' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1")
        }
        guard limit <= Int64(DynamoLimits.listTablesPageMax) else {
            throw .validation("1 validation error detected: Value '\(limit)' at 'limit' failed to satisfy constraint: Member must have value less than or equal to \(DynamoLimits.listTablesPageMax)")
        }
        self.limit = Int(limit)
    }

    /// One page of the names, sorted as DynamoDB sorts them, and the name to resume after.
    public func page(of names: [String]) -> (names: [String], lastEvaluated: String?) {
        let sorted = names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        let after = exclusiveStartTableName.map { start in sorted.filter { start.utf8.lexicographicallyPrecedes($0.utf8) } } ?? sorted
        let page = Array(after.prefix(limit))
        return (page, after.count > limit ? page.last : nil)
    }
}

/// A validated UpdateTable request: Meridian changes a table's replicas (its `regions`).
public struct UpdateTableRequest: Sendable {
    public var tableName: String
    /// Regions to add.
    public var create: [String]
    /// Regions to remove.
    public var delete: [String]

    /// Reads and validates the operation's request body, with DynamoDB's messages.
    public init(_ body: RequestBody) throws(DynamoError) {
        tableName = try body.tableName()
        for (member, feature) in [("GlobalSecondaryIndexUpdates", "global secondary indexes"), ("AttributeDefinitions", "changing AttributeDefinitions"),
                                  ("BillingMode", "changing BillingMode"), ("ProvisionedThroughput", "changing ProvisionedThroughput"),
                                  ("StreamSpecification", "DynamoDB Streams"), ("SSESpecification", "SSESpecification"),
                                  ("TableClass", "changing TableClass"), ("DeletionProtectionEnabled", "deletion protection")]
        where body.members[member] != nil {
            throw .unsupported(feature)
        }
        var create: [String] = []
        var delete: [String] = []
        for update in try body.array("ReplicaUpdates") ?? [] {
            guard case .object(let actions) = update, actions.count == 1, let (action, detail) = actions.first,
                  case .object(let fields) = detail, case .string(let region)? = fields["RegionName"] else {
                throw .serialization("ReplicaUpdates must hold {\"Create\": {\"RegionName\"}} or {\"Delete\": {\"RegionName\"}} objects")
            }
            switch action {
            case "Create": create.append(region)
            case "Delete": delete.append(region)
            default: throw .unsupported("the replica update \(action.prefix(40)); use Create or Delete")
            }
        }
        guard !create.isEmpty || !delete.isEmpty else {
            throw .validation("At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, GlobalSecondaryIndexUpdates or SSESpecification or ReplicaUpdates is required")
        }
        self.create = create
        self.delete = delete
    }
}
