import MeridianCore
import MeridianDynamo
import MeridianRegion

/// BatchGetItem and BatchWriteItem: every key is validated first (nothing runs when one is
/// invalid), then the items run concurrently, so this region's executor commits the
/// writes in one group. An item this region cannot serve now (the table's leader is
/// elsewhere, the table is stored elsewhere, no leader yet) is returned unprocessed, as
/// DynamoDB returns throttled ones; when no item of the batch could be served here and
/// one other region can serve them all, the whole batch is forwarded there instead.
extension DynamoService {
    /// How one item of a batch went.
    enum BatchOutcome: Sendable {
        case done(RegionReply?)
        /// Not served here; `region` could serve it.
        case elsewhere(RegionID?)
        case unavailable
    }

    /// Runs region requests concurrently; refusals that a retry could cure become outcomes,
    /// the rest are thrown.
    func runBatch(_ requests: [(RegionRequest, Table)]) async throws -> [BatchOutcome] {
        try await withThrowingTaskGroup(of: (Int, BatchOutcome).self) { group in
            for (index, (request, table)) in requests.enumerated() {
                group.addTask {
                    switch await node.perform(request) {
                    case .success(let reply): return (index, .done(reply))
                    case .failure(let error) where error.code == "item_not_found": return (index, .done(nil))
                    case .failure(let error) where error.kind == .misdirected:
                        return (index, .elsewhere(error.redirect ?? nearest(of: table.definition.regions)))
                    case .failure(let error) where error.kind == .unavailable && error.code != "commit_timeout":
                        return (index, .unavailable)
                    case .failure(let error):
                        throw translate(error, table: table.schema.tableName, regions: table.definition.regions)
                    }
                }
            }
            var outcomes = [BatchOutcome](repeating: .unavailable, count: requests.count)
            for try await (index, outcome) in group { outcomes[index] = outcome }
            return outcomes
        }
    }

    /// The one region every item of a batch was sent to, when none was served here.
    func forwardTarget(_ outcomes: [BatchOutcome]) -> RegionID? {
        guard !forwarded else { return nil }
        var targets: Set<RegionID> = []
        for outcome in outcomes {
            guard case .elsewhere(let region?) = outcome else { return nil }
            targets.insert(region)
        }
        return targets.count == 1 ? targets.first : nil
    }

    func batchGetItem(_ request: BatchGetItemRequest, raw: RequestBody) async throws -> Result {
        let catalog = try await catalog()
        var requests: [(RegionRequest, Table)] = []
        var origins: [(table: BatchGetItemRequest.TableKeys, key: Item)] = []
        for part in request.tables {
            let table = try await table(part.tableName, in: catalog)
            var seen: Set<Key> = []
            for key in part.keys {
                let encoded = try table.codec.key(of: key, exact: true)
                guard seen.insert(encoded).inserted else { throw DynamoError.validation("Provided list of item keys contains duplicates") }
                let consistency: ConsistencyLevel = part.consistentRead && table.isConsensus ? .strong : .eventual
                requests.append((.getItem(table.name, encoded, consistency), table))
                origins.append((part, key))
            }
        }
        let outcomes = try await runBatch(requests)
        if let target = forwardTarget(outcomes) { throw DynamoForward(region: target) }
        var responses: [String: [JSONValue]] = [:]
        var unprocessed: [String: [JSONValue]] = [:]
        for (index, outcome) in outcomes.enumerated() {
            let (part, key) = origins[index]
            // Every table asked for is in Responses, with its items or none.
            if responses[part.tableName] == nil { responses[part.tableName] = [] }
            switch outcome {
            case .done(.item(let stored, _)?):
                if let item = try decode(stored, in: requests[index].1) {
                    responses[part.tableName]!.append(Items.dynamoJSON(part.projection.map { Evaluation.project(item, $0) } ?? item))
                }
            case .done:
                break
            case .elsewhere, .unavailable:
                unprocessed[part.tableName, default: []].append(Items.dynamoJSON(key))
            }
        }
        var unprocessedKeys: [String: JSONValue] = [:]
        let requestItems = (try raw.object("RequestItems")) ?? [:]
        for (tableName, keys) in unprocessed {
            guard case .object(var members)? = requestItems[tableName] else { continue }
            members["Keys"] = .array(keys)
            unprocessedKeys[tableName] = .object(members)
        }
        var body: [String: JSONValue] = [
            "Responses": .object(responses.mapValues { .array($0) }),
            "UnprocessedKeys": .object(unprocessedKeys),
        ]
        if request.returnConsumedCapacity {
            body["ConsumedCapacity"] = .array(request.tables.map { Responses.consumedCapacity(tableName: $0.tableName, reads: $0.keys.count, consistent: $0.consistentRead) })
        }
        return Result(.object(body))
    }

    func batchWriteItem(_ request: BatchWriteItemRequest) async throws -> Result {
        let catalog = try await catalog()
        var requests: [(RegionRequest, Table)] = []
        var origins: [(tableName: String, action: BatchWriteItemRequest.Action)] = []
        for (tableName, actions) in request.tables {
            let table = try await table(tableName, in: catalog)
            var seen: Set<Key> = []
            for action in actions {
                let key: Key
                let regionRequest: RegionRequest
                switch action {
                case .put(let item):
                    key = try table.codec.key(of: item, exact: false)
                    regionRequest = .putItem(table.name, key, StoredItems.json(item: item), .none)
                case .delete(let attributes):
                    key = try table.codec.key(of: attributes, exact: true)
                    regionRequest = .deleteItem(table.name, key, .none)
                }
                guard seen.insert(key).inserted else { throw DynamoError.validation("Provided list of item keys contains duplicates") }
                requests.append((regionRequest, table))
                origins.append((tableName, action))
            }
        }
        let outcomes = try await runBatch(requests)
        if let target = forwardTarget(outcomes) { throw DynamoForward(region: target) }
        var unprocessed: [String: [JSONValue]] = [:]
        for (index, outcome) in outcomes.enumerated() {
            switch outcome {
            case .done: continue
            case .elsewhere, .unavailable: unprocessed[origins[index].tableName, default: []].append(origins[index].action.dynamoJSON)
            }
        }
        var body: [String: JSONValue] = ["UnprocessedItems": .object(unprocessed.mapValues { .array($0) })]
        if request.returnConsumedCapacity {
            body["ConsumedCapacity"] = .array(request.tables.map { Responses.consumedCapacity(tableName: $0.tableName, writes: $0.actions.count) })
        }
        return Result(.object(body))
    }
}
