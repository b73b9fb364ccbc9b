import MeridianCore
import MeridianRegion
import MeridianStorage

/// Client requests: executing them and recording what was acknowledged.
extension Simulator {
    /// Sends one client request to a live region and records its outcome.
    func perform(_ client: ClientRequest, in node: SimulatedNode) {
        // What the write will replace, read before the step (the simulator sees storage).
        let prior = readItem(client.table.name, client.key, in: node)
        guard let output = step(node, .request(client.request)) else {
            counters.requestsUnavailable += 1
            return
        }
        guard let result = output.replies.first else { preconditionFailure("a request step returned no reply") }
        let described = "\(node.id) \(client.operation.rawValue) \(client.table.name)/\(client.key)"
        switch result {
        case .success(.written(_, let version, let context)):
            guard let vector = context else { preconditionFailure("a multi-primary write returns its vector") }
            acknowledge(client, in: node, version: version, vector: vector, replaced: prior?.version)
            workload.remember(region: node.id, table: client.table.name, key: client.key, version: version, vector: vector)
            record("\(described) \(client.value.map(Self.text) ?? "") -> \(version.token) \(vector.token)")
        case .success(.deleted(_, let version)):
            // A delete's reply carries no vector: read it from the tombstone just written.
            guard let vector = readItem(client.table.name, client.key, in: node)?.record?.vector else {
                preconditionFailure("a delete leaves a tombstone with a record")
            }
            acknowledge(client, in: node, version: version, vector: vector, replaced: prior?.version)
            record("\(described) -> tombstone \(version.token) \(vector.token)")
        case .success(.item(let item, _)):
            counters.readsServed += 1
            workload.remember(region: node.id, table: client.table.name, key: client.key, version: item.version, vector: item.record?.vector)
            record("\(described) -> \(item.value.map(Self.text) ?? "tombstone") at \(item.version.token)")
        case .success(let reply):
            preconditionFailure("\(client.operation) answered \(reply)")
        case .failure(let error):
            counters.requestsRefused += 1
            record("\(described) -> \(error.code)")
        }
    }

    private func acknowledge(_ client: ClientRequest, in node: SimulatedNode, version: ItemVersion, vector: VersionVector, replaced: ItemVersion?) {
        counters.writesAcknowledged += 1
        acknowledgedWrites.append(AcknowledgedWrite(region: node.id, table: client.table.name, policy: client.table.policy, key: client.key,
                                                    value: client.value, version: version, vector: vector, replaced: replaced))
        acknowledgedCommits.append(node.storage.commitCount)
        if let violation = timestampChecker.observe(region: node.id, version: version) { fail(violation) }
    }

    private func readItem(_ table: TableName, _ key: Key, in node: SimulatedNode) -> StoredItem? {
        do {
            return try node.storage.read { try $0.item(table: table, key: key) }
        } catch {
            preconditionFailure("simulated storage failed a read: \(error)")
        }
    }

    /// A JSON value's canonical text.
    static func text(_ value: JSONValue) -> String {
        String(decoding: value.canonicalBytes, as: UTF8.self)
    }
}
