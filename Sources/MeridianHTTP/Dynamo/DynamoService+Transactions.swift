import MeridianCore
import MeridianDynamo
import MeridianRegion
import MeridianStorage

/// TransactWriteItems and TransactGetItems, on `strong` tables.
///
/// A transaction runs in one table's Raft group: its items are read in one log entry
/// (a consistent snapshot), MeridianDynamo decides every action on them, and the writes go
/// into the log as one entry whose operations each require their item to be at the
/// version read. Applied in log order in every region, all or none: an item another
/// write changed since the read refuses the whole entry, and the transaction starts over
/// (at most `conditionalAttemptsMax` times). Transactions across tables (which would need
/// a commit across Raft groups) and on other modes are refused with a clear error.
extension DynamoService {
    func transactWriteItems(_ request: TransactWriteItemsRequest) async throws -> Result {
        let table = try await transactionTable(request.actions.map(\.tableName), operation: "TransactWriteItems")
        var keys: [Key] = []
        for action in request.actions {
            let key: Key
            switch action {
            case .put(_, let item, _): key = try table.codec.key(of: item, exact: false)
            case .conditionCheck(_, let attributes, _), .delete(_, let attributes, _), .update(_, let attributes, _, _):
                key = try table.codec.key(of: attributes, exact: true)
            }
            keys.append(key)
        }
        guard Set(keys).count == keys.count else {
            throw DynamoError.validation("Transaction request cannot include multiple operations on one item")
        }
        for _ in 0..<Self.conditionalAttemptsMax {
            let snapshot = try await readTogether(table, keys: keys)
            var current: [Item?] = []
            for stored in snapshot { current.append(try stored.flatMap { stored throws(DynamoError) in try decode(stored, in: table) }) }
            let planned = try request.plan(current: current, keyNames: table.keyNames)
            var operations: [TransactOperation] = []
            for (index, action) in planned.enumerated() {
                let precondition = Self.precondition(for: snapshot[index]?.version)
                switch action {
                case .put(let item): operations.append(TransactOperation(key: keys[index], kind: .put(StoredItems.json(item: item)), precondition: precondition))
                case .delete: operations.append(TransactOperation(key: keys[index], kind: .delete, precondition: precondition))
                case .check: operations.append(TransactOperation(key: keys[index], kind: .check, precondition: precondition))
                }
            }
            guard case .transacted(let outcome) = try await region(.transact(table.name, operations), table: table.schema.tableName, regions: table.definition.regions) else {
                preconditionFailure("a transaction answers transacted")
            }
            if case .applied = outcome { return Result(.object([:])) }
        }
        throw DynamoError("TransactionConflictException", "Transaction is ongoing for the item: its items changed \(Self.conditionalAttemptsMax) times while it ran; retry")
    }

    func transactGetItems(_ request: TransactGetItemsRequest) async throws -> Result {
        let table = try await transactionTable(request.reads.map(\.tableName), operation: "TransactGetItems")
        let keys = try request.reads.map { read throws(DynamoError) in try table.codec.key(of: read.key, exact: true) }
        guard Set(keys).count == keys.count else {
            throw DynamoError.validation("Transaction request cannot include multiple operations on one item")
        }
        let snapshot = try await readTogether(table, keys: keys)
        var responses: [JSONValue] = []
        for (read, stored) in zip(request.reads, snapshot) {
            guard let stored, let item = try decode(stored, in: table) else {
                responses.append(.object([:]))
                continue
            }
            responses.append(.object(["Item": Items.dynamoJSON(read.projection.map { Evaluation.project(item, $0) } ?? item)]))
        }
        return Result(.object(["Responses": .array(responses)]), consistency: "strong")
    }

    /// The one `strong` table every action names.
    func transactionTable(_ names: [String], operation: String) async throws -> Table {
        let distinct = Array(Set(names)).sorted()
        guard distinct.count == 1 else {
            throw DynamoError.unsupported("\(operation) across tables (here \(distinct.joined(separator: ", "))): a transaction runs in one strong table's Raft group")
        }
        let table = try await table(distinct[0])
        guard table.definition.mode == .strong else {
            throw DynamoError.validation("\(operation) needs a strong table: \(table.schema.tableName) is \(table.definition.mode.rawValue). Create the table with the tag meridian:mode=strong (docs/dynamodb.md)")
        }
        return table
    }

    /// The items of `keys` as one log entry finds them.
    func readTogether(_ table: Table, keys: [Key]) async throws -> [StoredItem?] {
        let reads = keys.map { TransactOperation(key: $0, kind: .read) }
        guard case .transacted(.applied(let items)) = try await region(.transact(table.name, reads), table: table.schema.tableName, regions: table.definition.regions) else {
            preconditionFailure("a read-only transaction always applies")
        }
        return items
    }
}
