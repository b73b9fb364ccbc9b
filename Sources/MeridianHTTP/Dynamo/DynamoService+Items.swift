import MeridianCore
import MeridianDynamo
import MeridianRegion
import MeridianStorage

/// PutItem, GetItem, DeleteItem, UpdateItem.
///
/// A write without a condition or returned values is one region write. Any other write
/// reads the item, lets MeridianDynamo decide (condition, update, returned values) and
/// writes with `If-Match` on the version it read (`If-None-Match: *` when there was none),
/// so nothing another writer did between the read and the write is overwritten unseen: a
/// refused precondition starts over, at most `conditionalAttemptsMax` times. On `strong`
/// tables the read is linearizable and the precondition is checked in log order, so the
/// conditional write is linearizable.
extension DynamoService {
    func putItem(_ request: PutItemRequest) async throws -> Result {
        let table = try await table(request.tableName)
        let key = try table.codec.key(of: request.item, exact: false)
        let value = StoredItems.json(item: request.item)
        var returned: Item? = nil
        if !request.options.readsItem {
            _ = try await region(.putItem(table.name, key, value, .none), table: request.tableName, regions: table.definition.regions)
        } else {
            returned = try await conditionally(table, key: key) { current throws(DynamoError) in
                (try request.plan(current: current), .put(value))
            }
        }
        var body: [String: JSONValue] = [:]
        if let returned { body["Attributes"] = Items.dynamoJSON(returned) }
        if request.options.returnConsumedCapacity {
            body["ConsumedCapacity"] = Responses.consumedCapacity(tableName: request.tableName, writeBytes: Items.sizeBytes(request.item), writes: 1)
        }
        return Result(.object(body))
    }

    func getItem(_ request: GetItemRequest) async throws -> Result {
        let table = try await table(request.tableName)
        let key = try table.codec.key(of: request.key, exact: true)
        let consistency: ConsistencyLevel = request.consistentRead && table.isConsensus ? .strong : .eventual
        var body: [String: JSONValue] = [:]
        var size = 0
        if case .item(let stored, _)? = try await regionAllowingNotFound(.getItem(table.name, key, consistency), table: table),
           let item = try decode(stored, in: table) {
            size = Items.sizeBytes(item)
            body["Item"] = Items.dynamoJSON(request.projection.map { Evaluation.project(item, $0) } ?? item)
        }
        if request.returnConsumedCapacity {
            body["ConsumedCapacity"] = Responses.consumedCapacity(tableName: request.tableName, readBytes: size, reads: 1, consistent: request.consistentRead)
        }
        return Result(.object(body), consistency: Self.consistencyServed(request.consistentRead, table: table))
    }

    /// What `Meridian-Consistency` says of a read: `strong` at a consensus table's leader;
    /// `region` for a consistent read of a multi-primary table (this region's copy, which
    /// holds every write it accepted: what DynamoDB global tables give); else `eventual`.
    static func consistencyServed(_ consistentRead: Bool, table: Table) -> String {
        guard consistentRead else { return "eventual" }
        return table.isConsensus ? "strong" : "region"
    }

    func deleteItem(_ request: DeleteItemRequest) async throws -> Result {
        let table = try await table(request.tableName)
        let key = try table.codec.key(of: request.key, exact: true)
        var returned: Item? = nil
        if !request.options.readsItem {
            // Deleting an item that does not exist succeeds and changes nothing.
            _ = try await regionAllowingNotFound(.deleteItem(table.name, key, .none), table: table)
        } else {
            returned = try await conditionally(table, key: key) { current throws(DynamoError) in
                (try request.plan(current: current), current == nil ? .nothing : .delete)
            }
        }
        var body: [String: JSONValue] = [:]
        if let returned { body["Attributes"] = Items.dynamoJSON(returned) }
        if request.options.returnConsumedCapacity {
            body["ConsumedCapacity"] = Responses.consumedCapacity(tableName: request.tableName, writeBytes: returned.map(Items.sizeBytes) ?? 0, writes: 1)
        }
        return Result(.object(body))
    }

    func updateItem(_ request: UpdateItemRequest) async throws -> Result {
        let table = try await table(request.tableName)
        let key = try table.codec.key(of: request.key, exact: true)
        var written = 0
        let returned = try await conditionally(table, key: key) { current throws(DynamoError) in
            let (item, returned) = try request.plan(current: current, keyNames: table.keyNames)
            written = Items.sizeBytes(item)
            return (returned, .put(StoredItems.json(item: item)))
        }
        var body: [String: JSONValue] = [:]
        if let returned { body["Attributes"] = Items.dynamoJSON(returned) }
        if request.options.returnConsumedCapacity {
            body["ConsumedCapacity"] = Responses.consumedCapacity(tableName: request.tableName, writeBytes: written, writes: 1)
        }
        return Result(.object(body))
    }

    /// What a planned write does to the item.
    enum PlannedWrite {
        case put(JSONValue)
        case delete
        /// The condition held and there is nothing to change (a delete of a missing item).
        case nothing
    }

    /// Reads the item, plans the write on it, and writes only if the item is still the
    /// one read; starts over when another writer got in between.
    func conditionally(_ table: Table, key: Key, plan: (Item?) throws(DynamoError) -> (Item?, PlannedWrite)) async throws -> Item? {
        for _ in 0..<Self.conditionalAttemptsMax {
            let (item, version) = try await current(table, key: key)
            let (returned, write) = try plan(item)
            let precondition = Self.precondition(for: version)
            let request: RegionRequest
            switch write {
            case .put(let value): request = .putItem(table.name, key, value, precondition)
            case .delete: request = .deleteItem(table.name, key, precondition)
            case .nothing: return returned
            }
            switch await node.perform(request) {
            case .success:
                return returned
            case .failure(let error) where error.kind == .preconditionFailed || error.code == "item_not_found":
                continue
            case .failure(let error):
                throw translate(error, table: table.schema.tableName, regions: table.definition.regions)
            }
        }
        throw Self.retriesExhausted
    }
}
