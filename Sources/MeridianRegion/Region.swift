// MeridianRegion owns one region's synchronous heart: the replicated catalog of table
// definitions, the hybrid logical clock, the execution of client requests against the
// storage protocol, the application of other regions' log entries (conflicts resolved
// by each table's policy, losers kept in the conflict ledger), and the messages that
// stream this region's logs to its peers. The runtime (MeridianNode) and the simulator
// drive the same code.
//
// It must never do I/O itself, read a clock, draw from a global random source or use
// the concurrency runtime: storage arrives as a protocol, time as an argument, and
// messages leave as values.

import MeridianCore
import MeridianRaft
import MeridianReplication
import MeridianStorage

/// One region: catalog, clock, replication and request execution over a storage.
///
/// Work runs in steps: a step takes a batch of inputs, runs every storage change they
/// need in one write transaction (one sync for many writes: group commit), then
/// produces the messages to send. A storage failure fails every request of the step and
/// applies none of its inputs.
public final class Region {
    /// This region's configuration.
    public let configuration: RegionConfiguration
    let storage: any RegionStorage
    /// Everything a step may change; replaced only when the step's transaction commits.
    var state: RegionState

    /// Opens a region over its storage, restoring the catalog, the clock's high-water mark
    /// and the applied positions.
    public init(configuration: RegionConfiguration, storage: any RegionStorage) throws {
        self.configuration = configuration
        self.storage = storage
        configuration.changeFeed.validate()
        let (records, highWater, applied, latestOwn, changeFeed) = try storage.read { reader in
            let applied = try reader.appliedPositions()
            let ownSequence = applied[configuration.id]
            let latestOwn = ownSequence > 0 ? try reader.logEntries(origin: configuration.id, after: ownSequence - 1, limit: 1).first?.timestamp : nil
            let changeFeed = try ChangeFeedState(stored: try reader.metadata(MetadataName.changeFeed), newestHeld: try reader.changeBounds()?.upperBound)
            return (try reader.catalog(), try reader.metadata(MetadataName.clockHighWater).flatMap(UInt64.init(bigEndianBytes:)),
                    applied, latestOwn ?? .zero, changeFeed)
        }
        state = RegionState(
            catalog: Dictionary(uniqueKeysWithValues: records.map { ($0.name, $0) }),
            clock: HybridLogicalClock(latest: HLCTimestamp(rawValue: highWater ?? 0), clockSkewMillisecondsMax: configuration.clockSkewMillisecondsMax),
            replication: Replication(configuration: configuration.replication, applied: applied, latestOwnTimestamp: latestOwn))
        state.changeFeed = changeFeed
        // Groups restart from what they persisted; a group whose table changed incarnation
        // while this region was down is started afresh by the first step.
        let catalog = state.catalog
        state.consensus.groups = try storage.read { reader in
            var groups: [TableName: RaftGroup] = [:]
            for record in catalog.values {
                guard let definition = record.definition, definition.mode != .multiPrimary, definition.votingRegions.contains(configuration.id) else { continue }
                let stored = try reader.metadata(RaftMetadata.incarnation(record.name)).flatMap(UInt64.init(bigEndianBytes:))
                guard stored == record.deletedBefore.rawValue else { continue }
                groups[record.name] = try Self.restoreGroup(record: record, definition: definition, configuration: configuration, reader: reader).group
            }
            // The catalog group runs in every region from its first start. A new cluster's
            // (or a cluster upgraded from a build without it) campaigns at once in the first
            // region of the cluster file, so that the first table can be created without
            // waiting for an election timeout.
            let catalogVoters = configuration.catalogVoters ?? configuration.clusterRegions
            let (catalogGroup, isNew) = try Self.restoreGroup(record: CatalogGroup.record, definition: CatalogGroup.definition(regions: catalogVoters),
                                                              configuration: configuration, initialLearners: configuration.catalogLearners, reader: reader)
            groups[CatalogGroup.name] = catalogGroup
            if isNew && catalogVoters.first == configuration.id { groups[CatalogGroup.name]!.node.campaign() }
            return groups
        }
    }

    /// The greatest timestamp this region has issued or observed.
    public var latestTimestamp: HLCTimestamp { state.clock.latest }
    /// What this region has applied, per origin.
    public var appliedPositions: Positions { state.replication.applied }
    /// The region's counters.
    public var counters: RegionCounters { state.counters }
    /// The sequence of the newest change in this region's change feed.
    public var latestChangeSequence: UInt64 { state.changeFeed.latest }
    /// Raft counters across this region's groups.
    public var raftCounters: RaftCounters { state.consensus.counters }
    /// Each `primary` and `strong` table's group as this region sees it.
    public var raftStatuses: [TableName: RaftTableStatus] {
        state.consensus.groups.mapValues(RaftTableStatus.init)
    }

    /// Runs one request on its own.
    public func execute(_ request: RegionRequest, wallMilliseconds: UInt64) -> Result<RegionReply, MeridianError> {
        execute([request], wallMilliseconds: wallMilliseconds)[0]
    }

    /// Runs a batch of requests, in order, and returns one result per request.
    public func execute(_ requests: [RegionRequest], wallMilliseconds: UInt64) -> [Result<RegionReply, MeridianError>] {
        step(requests.map(RegionInput.request), wallMilliseconds: wallMilliseconds).replies
    }

    /// Runs one step: every input in order, one storage transaction, then the messages.
    ///
    /// - Parameters:
    ///   - wallMilliseconds: the wall clock (versions, heartbeats, staleness, deadlines).
    ///   - monotonicMilliseconds: a clock that never jumps (the process's uptime, or the
    ///     simulator's virtual time), which Raft's ticks follow: a leader's lease and its
    ///     check of its quorum count ticks, and a wall clock stepped backwards would stall
    ///     them, so that a cut-off leader kept serving reads it may no longer serve. `nil`
    ///     (tests) uses the wall clock.
    public func step(_ inputs: [RegionInput], wallMilliseconds: UInt64, monotonicMilliseconds: UInt64? = nil) -> RegionOutput {
        // Connection events touch no storage: they take effect even if the transaction fails.
        for input in inputs {
            switch input {
            case .peerConnected(let peer):
                for message in state.replication.peerConnected(peer, nowMilliseconds: wallMilliseconds) { state.outbox.append((peer, .replication(message))) }
            case .peerDisconnected(let peer):
                state.replication.peerDisconnected(peer)
                state.incomingSnapshots[peer] = nil
            default:
                continue
            }
        }
        var working = state
        working.completions = []
        var step = Step(region: self, state: working, wallMilliseconds: wallMilliseconds, monotonicMilliseconds: monotonicMilliseconds ?? wallMilliseconds)
        let requestCount = inputs.reduce(0) { count, input in if case .request = input { return count + 1 } else { return count } }
        let ticked = inputs.contains { if case .tick = $0 { return true } else { return false } }
        let replies: [Result<RegionReply, MeridianError>]
        do {
            if inputs.contains(where: Self.needsWriteTransaction) {
                replies = try storage.write { base in
                    // Every item change goes through the recorder, into the change feed.
                    let writer = ChangeRecorder(base)
                    let replies = try inputs.compactMap { try step.run($0, reader: writer, writer: writer) }
                    try step.processRaftReady(writer: writer)
                    try step.serveCatalogWaits(writer: writer)
                    try step.serveParkedReads(reader: writer)
                    try step.recordChanges(writer, ticked: ticked)
                    if step.state.clock.latest > state.clock.latest {
                        try writer.setMetadata(MetadataName.clockHighWater, step.state.clock.latest.rawValue.bigEndianBytes)
                    }
                    return replies
                }
            } else {
                replies = try storage.read { reader in try inputs.compactMap { try step.run($0, reader: reader, writer: nil) } }
            }
            step.state.checkInvariants(after: state, requestCount: requestCount, replyCount: replies.count)
            working = step.state
        } catch {
            let failure = (error as? MeridianError) ?? .storageFailed("storage failed; nothing of this request was applied: \(error)")
            return RegionOutput(replies: Array(repeating: .failure(failure), count: requestCount), messages: [], applied: state.replication.applied,
                                raftApplied: state.consensus.groups.mapValues(\.appliedIndex), nextDeadlineMilliseconds: state.nextDeadlineMilliseconds,
                                storageFailure: failure,
                                latestChangeSequence: state.changeFeed.latest)
        }
        state = working
        if state.reclaimNeeded && (ticked || state.reclaimNow) {
            // A table left this region: make its deleted bytes unrecoverable from the files.
            // Tried at once, then (a busy database) on each tick until it succeeds; until then
            // placement reports the table's bytes as still held here.
            if (try? storage.reclaimSpace()) != nil { state.reclaimNeeded = false }
        }
        state.reclaimNow = false
        var messages = state.takeOutbox()
        messages += streamMessages(wallMilliseconds: wallMilliseconds, sendingSnapshotChunks: ticked)
        messages += state.consensus.takeOutbox()
        // A request that waited and completed within this step (a single-region group
        // commits at once) is answered in place.
        // A request that waited for the catalog and then waited on something else is
        // answered under the ticket its caller holds.
        var completions = state.completions.map { (state.ticketAliases.removeValue(forKey: $0.0) ?? $0.0, $0.1) }
        state.completions = []
        var answered = replies
        for (position, reply) in answered.enumerated() {
            guard case .success(.pending(let ticket)) = reply, let found = completions.firstIndex(where: { $0.0 == ticket }) else { continue }
            answered[position] = completions.remove(at: found).1
        }
        return RegionOutput(replies: answered, messages: messages, applied: state.replication.applied,
                            raftApplied: state.consensus.groups.mapValues(\.appliedIndex),
                            completions: completions.map { (ticket: $0.0, result: $0.1) },
                            nextDeadlineMilliseconds: state.nextDeadlineMilliseconds, latestChangeSequence: state.changeFeed.latest)
    }

    static func needsWriteTransaction(_ input: RegionInput) -> Bool {
        switch input {
        case .request(let request): return request.isWrite
        case .message(_, .replication(.entries)), .message(_, .replication(.snapshot)), .message(_, .raft), .tick: return true
        case .message, .peerConnected, .peerDisconnected: return false
        }
    }
}
