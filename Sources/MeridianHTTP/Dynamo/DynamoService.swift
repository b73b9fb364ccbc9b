import Foundation
import MeridianCore
import MeridianDynamo
import MeridianNode
import MeridianRegion
import MeridianStorage

/// Carries out DynamoDB operations over the node's region requests: every decision about
/// the request comes from MeridianDynamo; this type reads, writes and maps outcomes.
///
/// A request this region cannot serve (the table is stored elsewhere, or a `primary` or
/// `strong` table's leader is elsewhere) is thrown as `DynamoForward` before anything was
/// applied, and the endpoint passes the whole signed request on, once.
struct DynamoService: Sendable {
    let node: Node
    /// Whether the request was forwarded here already (it is never forwarded again).
    let forwarded: Bool
    /// The `Host` the client addressed (DescribeEndpoints names it).
    let host: String

    /// How many times a conditional write re-reads the item after another writer changed
    /// it between the read and the write.
    static let conditionalAttemptsMax = 8

    /// The answer of an operation: its body, and for reads the consistency it was served at.
    struct Result: Sendable {
        var body: JSONValue
        var consistency: String?

        init(_ body: JSONValue, consistency: String? = nil) {
            self.body = body
            self.consistency = consistency
        }
    }

    func perform(_ operation: DynamoOperation, _ json: JSONValue) async throws -> Result {
        let body = try RequestBody(json)
        switch operation {
        case .createTable: return try await createTable(CreateTableRequest(body))
        case .describeTable: return try await describeTable(body.tableName())
        case .listTables: return try await listTables(ListTablesRequest(body))
        case .deleteTable: return try await deleteTable(body.tableName())
        case .updateTable: return try await updateTable(UpdateTableRequest(body))
        case .putItem: return try await putItem(PutItemRequest(body))
        case .getItem: return try await getItem(GetItemRequest(body))
        case .deleteItem: return try await deleteItem(DeleteItemRequest(body))
        case .updateItem: return try await updateItem(UpdateItemRequest(body))
        case .query: return try await query(QueryRequest(body))
        case .scan: return try await scan(ScanRequest(body))
        case .batchGetItem: return try await batchGetItem(BatchGetItemRequest(body), raw: body)
        case .batchWriteItem: return try await batchWriteItem(BatchWriteItemRequest(body))
        case .transactWriteItems: return try await transactWriteItems(TransactWriteItemsRequest(body))
        case .transactGetItems: return try await transactGetItems(TransactGetItemsRequest(body))
        case .describeTimeToLive:
            _ = try await table(body.tableName())
            return Result(.object(["TimeToLiveDescription": .object(["TimeToLiveStatus": .string("DISABLED")])]))
        case .describeEndpoints:
            return Result(.object(["Endpoints": .array([.object(["Address": .string(host), "CachePeriodInMinutes": .integer(1440)])])]))
        }
    }

    // MARK: Tables

    /// A table the DynamoDB API can address, found in the region's catalog.
    struct Table: Sendable {
        var definition: TableDefinition
        var schema: DynamoSchema
        var codec: KeyCodec
        var name: TableName { definition.name }
        var keyNames: [String] { [schema.hashKey.name] + (schema.rangeKey.map { [$0.name] } ?? []) }
        var isConsensus: Bool { definition.mode != .multiPrimary }
    }

    /// Every table of the catalog, by Meridian name.
    func catalog() async throws -> [TableName: TableDefinition] {
        guard case .tables(let statuses) = try await region(.listTables) else { preconditionFailure("listTables answers tables") }
        return Dictionary(uniqueKeysWithValues: statuses.map { ($0.definition.name, $0.definition) })
    }

    /// The table a DynamoDB name addresses, or ResourceNotFoundException.
    func table(_ dynamoName: String, in catalog: [TableName: TableDefinition]? = nil) async throws -> Table {
        let name = try TableNames.meridianName(for: dynamoName)
        let definitions = if let catalog { catalog } else { try await self.catalog() }
        guard let definition = definitions[name], TableNames.matches(definition, dynamoName: dynamoName) else {
            throw DynamoError.tableNotFound(dynamoName)
        }
        let schema = TableNames.schema(of: definition)
        return Table(definition: definition, schema: schema, codec: KeyCodec(schema: schema))
    }

    // MARK: Region requests

    /// Runs a region request; refusals become DynamoDB errors or a forward.
    func region(_ request: RegionRequest, table: String? = nil, regions: [RegionID] = []) async throws -> RegionReply {
        switch await node.perform(request) {
        case .success(let reply): return reply
        case .failure(let error): throw translate(error, table: table, regions: regions)
        }
    }

    /// The DynamoDB error (or forward) for a region's refusal.
    func translate(_ error: MeridianError, table: String?, regions: [RegionID]) -> any Error {
        switch (error.kind, error.code) {
        case (.misdirected, _):
            guard !forwarded, let target = error.redirect ?? nearest(of: regions) else {
                return DynamoError("ServiceUnavailable", "\(error.message) (the request was already forwarded once; retry)", status: 503)
            }
            return DynamoForward(region: target)
        case (_, "table_not_found"):
            return DynamoError.tableNotFound(table ?? "?")
        case (.tooLarge, _):
            return DynamoError.validation("Item size has exceeded the maximum allowed size")
        case (.conflict, _):
            return DynamoError("ResourceInUseException", "Table already exists: \(table ?? "?") (\(error.message))")
        case (.invalidArgument, _):
            return DynamoError.validation("One or more parameter values were invalid: \(error.message)")
        case (.unavailable, "commit_timeout"):
            return DynamoError("InternalServerError", "\(error.message); the write's outcome is unknown", status: 500)
        case (.unavailable, _):
            return DynamoError("ServiceUnavailable", error.message, status: 503)
        case (.notFound, _), (.preconditionFailed, _), (.methodNotAllowed, _), (.internalError, _), (.gone, _):
            return DynamoError("InternalServerError", error.message, status: 500)
        }
    }

    /// The region of `regions` nearest to this one by the latency matrix (not this one).
    func nearest(of regions: [RegionID]) -> RegionID? {
        let delays = node.cluster.oneWayDelaysMilliseconds(from: node.region)
        return regions.filter { $0 != node.region }.min { (delays[$0] ?? 0, $0) < (delays[$1] ?? 0, $1) }
    }

    /// Forwards when this region does not store the table at all (before any read or write).
    func requireLocal(_ table: Table) throws {
        guard !table.definition.regions.contains(node.region) else { return }
        guard !forwarded, let target = nearest(of: table.definition.regions) else {
            throw DynamoError("ServiceUnavailable", "table \(table.schema.tableName) is stored only in \(table.definition.regions.map(\.name).joined(separator: ", "))", status: 503)
        }
        throw DynamoForward(region: target)
    }

    // MARK: Items

    /// The item a stored Meridian item holds: its stored JSON, with the key attributes read
    /// from its key (they win over any the value carries).
    func decode(_ stored: StoredItem, in table: Table) throws(DynamoError) -> Item? {
        guard let value = stored.value, let keyAttributes = table.codec.keyAttributes(of: stored.key) else { return nil }
        var item = try StoredItems.item(json: value)
        for (name, attribute) in keyAttributes { item[name] = attribute }
        return item
    }

    /// The stored item of a key, as a write's condition must see it: the local copy of a
    /// multi-primary table (the region taking the write decides), the leader's linearizable
    /// read of a consensus table.
    func current(_ table: Table, key: Key) async throws -> (item: Item?, version: ItemVersion?) {
        let consistency: ConsistencyLevel = table.isConsensus ? .strong : .eventual
        guard case .item(let stored, _) = try await regionAllowingNotFound(.getItem(table.name, key, consistency), table: table) else {
            return (nil, nil)
        }
        return (try decode(stored, in: table), stored.version)
    }

    /// A region request whose `item_not_found` is an answer (`nil`), not an error.
    func regionAllowingNotFound(_ request: RegionRequest, table: Table) async throws -> RegionReply? {
        switch await node.perform(request) {
        case .success(let reply): return reply
        case .failure(let error) where error.code == "item_not_found": return nil
        case .failure(let error): throw translate(error, table: table.schema.tableName, regions: table.definition.regions)
        }
    }

    /// The precondition that makes a write apply only to the item version it was planned on.
    static func precondition(for version: ItemVersion?) -> WritePrecondition {
        version.map { .versionMatches($0.token) } ?? .itemAbsent
    }

    static var retriesExhausted: DynamoError {
        DynamoError("ServiceUnavailable", "the item changed \(conditionalAttemptsMax) times between this write's read and its write; retry", status: 503)
    }
}
