import MeridianCore
import MeridianRegion
import MeridianStorage

/// One item of one table.
struct ItemAddress: Hashable {
    var table: TableName
    var key: Key
}

/// The local writes of one step, read from the items its commit put, in order: for each
/// version the region issued, the record it replaced and the item's vector after it.
///
/// Read from storage rather than guessed from the requests, because a step may merge a
/// peer's record into an item between two of its clients' writes to it.
struct LocalWrites {
    struct Write {
        var replaced: ItemVersion?
        var vector: VersionVector?
    }

    private(set) var byVersion: [ItemVersion: Write] = [:]

    /// - Parameters:
    ///   - writes: the items the step's commit put, in order.
    ///   - before: the requested items as they were before the step (absent: never written).
    ///   - requested: every item a request of the step named.
    init(_ writes: [SimulatedStorage.ItemWrite], before: [ItemAddress: StoredItem], requested: Set<ItemAddress>, region: RegionID) {
        var current = before
        for write in writes {
            let address = ItemAddress(table: write.table, key: write.item.key)
            guard requested.contains(address) else { continue }
            let version = write.item.version
            if version.origin == region && byVersion[version] == nil {
                byVersion[version] = Write(replaced: current[address]?.version, vector: write.item.record?.vector)
            }
            current[address] = write.item
        }
    }
}

/// Client requests: what they touch, and recording what was acknowledged.
extension Simulator {
    /// The items a batch's client requests name, and how they stood before the step.
    func requestedItems(_ batch: [PendingInput], in node: SimulatedNode) -> (before: [ItemAddress: StoredItem], addresses: Set<ItemAddress>) {
        var addresses: Set<ItemAddress> = []
        for case .client(let client) in batch { addresses.insert(ItemAddress(table: client.table.name, key: client.key)) }
        // A waiting call may complete in this step: its item is watched too.
        for client in node.pendingCalls.values { addresses.insert(ItemAddress(table: client.table.name, key: client.key)) }
        var before: [ItemAddress: StoredItem] = [:]
        do {
            try node.storage.read { reader in
                for address in addresses { before[address] = try reader.item(table: address.table, key: address.key) }
            }
        } catch {
            preconditionFailure("simulated storage failed a read: \(error)")
        }
        return (before, addresses)
    }

    /// Records the outcome of one client request.
    func handle(_ reply: Result<RegionReply, MeridianError>, to client: ClientRequest, in node: SimulatedNode, localWrites: LocalWrites,
                marks: SessionMarks) {
        if client.operation == .sessionGet || client.operation == .boundedGet { return handleSessionRead(reply, to: client, in: node, marks: marks) }
        guard let policy = client.table.policy else { return handleConsensus(reply, to: client, in: node, marks: marks) }
        if case .success(.pending(let ticket)) = reply {
            // The table is not known here yet: the call waits for the catalog.
            node.pendingCalls[ticket] = client
            return
        }
        let described = "\(node.id) \(client.operation.rawValue) \(client.table.name)/\(client.key)"
        switch reply {
        case .success(.written(_, let version, let context)):
            guard let vector = context, let write = localWrites.byVersion[version] else {
                preconditionFailure("a multi-primary write returns its vector and commits its item")
            }
            acknowledge(client, policy: policy, in: node, version: version, vector: vector, replaced: write.replaced)
            sessionWrote(client, in: node, marks: marks, version: version, vector: vector)
            endSessionRequest(client)
            workload.remember(region: node.id, table: client.table.name, key: client.key, version: version, vector: vector)
            record("\(described) \(client.value.map(Self.text) ?? "") -> \(version.token) \(vector.token)")
        case .success(.deleted(_, let version)):
            // A delete's reply carries no vector: it is the tombstone's, as committed.
            guard let write = localWrites.byVersion[version], let vector = write.vector else {
                preconditionFailure("a delete commits a tombstone with a record")
            }
            acknowledge(client, policy: policy, in: node, version: version, vector: vector, replaced: write.replaced)
            sessionWrote(client, in: node, marks: marks, version: version, vector: vector)
            endSessionRequest(client)
            record("\(described) -> tombstone \(version.token) \(vector.token)")
        case .success(.item(let item, _)):
            counters.readsServed += 1
            workload.remember(region: node.id, table: client.table.name, key: client.key, version: item.version, vector: item.record?.vector)
            record("\(described) -> \(item.value.map(Self.text) ?? "tombstone") at \(item.version.token)")
        case .success(let reply):
            preconditionFailure("\(client.operation) answered \(reply)")
        case .failure(let error):
            counters.requestsRefused += 1
            endSessionRequest(client)
            record("\(described) -> \(error.code)")
        }
    }

    private func acknowledge(_ client: ClientRequest, policy: ConflictPolicy, in node: SimulatedNode, version: ItemVersion, vector: VersionVector, replaced: ItemVersion?) {
        counters.writesAcknowledged += 1
        acknowledgedWrites.append(AcknowledgedWrite(region: node.id, table: client.table.name, policy: policy, key: client.key,
                                                    value: client.value, version: version, vector: vector, replaced: replaced))
        acknowledgedCommits.append(node.storage.commitCount)
        boundedChecker.acknowledged(table: client.table.name, key: client.key, origin: node.id, vector: vector, version: version, at: now)
        // Observed at the end of the step, in timestamp order: the answers of one step leave
        // together, and one that waited (for the catalog) may carry a later version than an
        // answer before it in the batch.
        stepVersions.append(version)
    }

    /// A JSON value's canonical text.
    static func text(_ value: JSONValue) -> String {
        String(decoding: value.canonicalBytes, as: UTF8.self)
    }
}
