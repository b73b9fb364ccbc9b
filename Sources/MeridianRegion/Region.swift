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

/// What a region needs to know about itself and its cluster.
public struct RegionConfiguration: Sendable {
    /// This region.
    public var id: RegionID
    /// Every region of the cluster, this one included, in cluster-file order.
    public var clusterRegions: [RegionID]
    /// How far ahead of local wall time a remote timestamp may be, in milliseconds.
    public var clockSkewMillisecondsMax: UInt64
    /// Shipping limits and timings.
    public var replication: ReplicationConfiguration
    /// Raft timings of `primary` and `strong` tables.
    public var raft = RaftSettings()

    public init(id: RegionID, clusterRegions: [RegionID], clockSkewMillisecondsMax: UInt64 = Limits.clockSkewMillisecondsMaxDefault) {
        precondition(clusterRegions.contains(id), "a region belongs to its own cluster")
        self.id = id
        self.clusterRegions = clusterRegions
        self.clockSkewMillisecondsMax = clockSkewMillisecondsMax
        replication = ReplicationConfiguration(local: id, peers: clusterRegions.filter { $0 != id })
    }

}

/// A client request, already parsed and validated at the edge.
public enum RegionRequest: Sendable, Equatable {
    case createTable(TableName, definition: JSONValue)
    case listTables
    case showTable(TableName)
    case deleteTable(TableName)
    /// A write; `context` (siblings tables) is the version vector the client read.
    case putItem(TableName, Key, JSONValue, WritePrecondition, context: VersionVector? = nil)
    case getItem(TableName, Key, ConsistencyLevel, requirement: ReadRequirement = .none)
    case deleteItem(TableName, Key, WritePrecondition)
    case scan(TableName, ScanRange)
    /// A page of a table's conflict ledger: rows after `afterID`.
    case conflicts(TableName, afterID: Int64, limit: Int)
    /// The region's view of the cluster: peers, positions, lag.
    case clusterStatus
    /// Replaces a multi-primary table's `regions` list: added regions receive a copy of
    /// the data, removed regions delete every byte of it.
    case changeRegions(TableName, [RegionID])
    /// What this region's own storage holds of a table (for any table in the catalog,
    /// including one this region may not store).
    case placement(TableName)
    /// Moves a `primary` or `strong` table's leadership: `planned` (switchover, run at the
    /// leader: the target catches up first) or forced (run at the target: it campaigns now).
    case failover(TableName, planned: Bool, target: RegionID?)
    /// A page of a table's divergence ledger in this region: rows after `afterID`.
    case divergence(TableName, afterID: Int64, limit: Int)

    /// Whether executing the request may change storage (a read that a Raft group must
    /// confirm counts: it runs in the write transaction that persists the group's progress).
    public var isWrite: Bool {
        switch self {
        case .createTable, .deleteTable, .putItem, .deleteItem, .changeRegions, .failover: return true
        case .getItem(_, _, let consistency, _): return consistency != .eventual
        case .listTables, .showTable, .scan, .conflicts, .clusterStatus, .placement, .divergence: return false
        }
    }
}

/// What a read needs of the local copy before this region may serve it.
public enum ReadRequirement: Sendable, Equatable {
    case none
    /// Session consistency: the region must have applied at least these positions of the
    /// multi-primary logs and, for `primary` and `strong` tables, at least these indexes
    /// of their Raft logs.
    case session(Positions, raft: [TableName: UInt64] = [:])
    /// Bounded staleness: the local copy must provably miss no write older than this.
    case bounded(maxStalenessMilliseconds: UInt64)
}

/// A table's definition and what this region holds of it.
public struct TableStatus: Sendable, Equatable {
    public var definition: TableDefinition
    /// Live items in this region (present only where it was counted).
    public var items: Int?
    /// Bytes of live keys and values in this region (present only where it was counted).
    public var bytes: Int?
    /// The table's Raft group as this region sees it (`primary` and `strong` tables).
    public var raft: RaftTableStatus?
}

/// The outcome of one successful request.
public enum RegionReply: Sendable, Equatable {
    /// A table definition was created (`created`) or an identical one already existed.
    case tableCreated(TableDefinition, created: Bool)
    case tables([TableStatus])
    case table(TableStatus)
    /// A table was deleted. (It names the table: a payload-less case here was observed to
    /// come back as another case from a step, a miscompile we did not isolate; see the
    /// issue 5 note.)
    case tableDeleted(TableName)
    /// A put was applied with this version; `context` is the item's version vector after
    /// it (multi-primary tables), which a client may send back to resolve siblings.
    case written(Key, ItemVersion, context: VersionVector?)
    /// An item read at the given consistency level.
    case item(StoredItem, servedAt: ConsistencyLevel)
    /// A delete left a tombstone with this version.
    case deleted(Key, ItemVersion)
    /// A scan page; `next` is the last key of the page when more items may follow.
    case page([StoredItem], next: Key?)
    /// A ledger page; `next` is the last row's id when more rows may follow.
    case conflicts([ConflictEntry], next: Int64?)
    case cluster(ClusterStatus)
    /// The table's definition after a `regions` change.
    case regionsChanged(TableDefinition)
    /// What this region holds of a table, and whether the table's definition lists it.
    case placement(TableResidue, listed: Bool)
    /// The request waits for a Raft commit or read index: its result arrives later in
    /// `RegionOutput.completions` under this ticket.
    case pending(ticket: UInt64)
    /// A failover was started toward `target`.
    case failover(target: RegionID, planned: Bool)
    /// A page of the divergence ledger; `next` is the last row's id when more rows may follow.
    case divergence([DivergenceEntry], next: Int64?)
}

/// One input to a region step.
public enum RegionInput: Sendable {
    case request(RegionRequest)
    case message(from: RegionID, PeerMessage)
    case peerConnected(RegionID)
    case peerDisconnected(RegionID)
    /// Time passed: heartbeats, retransmission, log truncation.
    case tick
}

/// What one region step produced.
public struct RegionOutput: Sendable {
    /// One result per `.request` input, in input order.
    public var replies: [Result<RegionReply, MeridianError>]
    /// Messages to send, in order per peer. They are produced after the step's storage
    /// transaction committed: nothing is sent that is not durable.
    public var messages: [(RegionID, PeerMessage)]
    /// What the region has applied after the step: every reply of the step reflects at
    /// most this, so it is what a session token may claim.
    public var applied: Positions
    /// Per `primary` or `strong` table, the index through which this region has applied
    /// its Raft log after the step: what a session token may claim for it.
    public var raftApplied: [TableName: UInt64] = [:]
    /// Results of earlier `.pending` replies, by ticket, sent only after the step committed.
    public var completions: [(ticket: UInt64, result: Result<RegionReply, MeridianError>)] = []
}

/// Counters a region keeps for metrics and the cluster view.
public struct RegionCounters: Sendable, Equatable {
    /// Remote entries refused because their timestamp was too far ahead of local wall time.
    public var clockSkewRejections = 0
    /// Entries or snapshot items for a table this region may not hold, refused unpersisted.
    public var residencyRefusals = 0
    /// Values that lost a concurrent write and went to a conflict ledger.
    public var conflictsRecorded = 0
    /// Remote entries applied.
    public var entriesApplied = 0
    /// Snapshots installed.
    public var snapshotsInstalled = 0
    /// Remote records refused because they break their policy's invariants.
    public var invalidRecords = 0
}

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
        let (records, highWater, applied, latestOwn) = try storage.read { reader in
            let applied = try reader.appliedPositions()
            let ownSequence = applied[configuration.id]
            let latestOwn = ownSequence > 0 ? try reader.logEntries(origin: configuration.id, after: ownSequence - 1, limit: 1).first?.timestamp : nil
            return (try reader.catalog(), try reader.metadata(MetadataName.clockHighWater).flatMap(UInt64.init(bigEndianBytes:)),
                    applied, latestOwn ?? .zero)
        }
        state = RegionState(
            catalog: Dictionary(uniqueKeysWithValues: records.map { ($0.name, $0) }),
            clock: HybridLogicalClock(latest: HLCTimestamp(rawValue: highWater ?? 0), clockSkewMillisecondsMax: configuration.clockSkewMillisecondsMax),
            replication: Replication(configuration: configuration.replication, applied: applied, latestOwnTimestamp: latestOwn))
        // Groups restart from what they persisted; a group whose table changed incarnation
        // while this region was down is started afresh by the first step.
        let catalog = state.catalog
        state.groups = try storage.read { reader in
            var groups: [TableName: RaftGroup] = [:]
            for record in catalog.values {
                guard let definition = record.definition, definition.mode != .multiPrimary, definition.regions.contains(configuration.id) else { continue }
                let stored = try reader.metadata(RaftMetadata.incarnation(record.name)).flatMap(UInt64.init(bigEndianBytes:))
                guard stored == record.deletedBefore.rawValue else { continue }
                groups[record.name] = try Self.restoreGroup(record: record, definition: definition, configuration: configuration, reader: reader).group
            }
            return groups
        }
    }

    /// A group as persisted (`isNew` when nothing was).
    static func restoreGroup(record: CatalogRecord, definition: TableDefinition, configuration: RegionConfiguration,
                             reader: any StorageReader) throws -> (group: RaftGroup, isNew: Bool) {
        let table = record.name
        let hardState = try reader.metadata(RaftMetadata.hardState(table)).flatMap { $0.isEmpty ? nil : $0 }
            .map(RaftCodec.decodeHardState) ?? .zero
        let entries = try reader.raftEntries(group: RaftMetadata.group(table), from: 0, limit: Int.max).map { try RaftCodec.decodeEntry($0.bytes) }
        // The log starts after the point it was compacted through (or a snapshot installed).
        var snapshot: RaftSnapshot?
        if let mark = RaftCodec.decodeMark(try reader.metadata(RaftMetadata.snapshot(table))) {
            snapshot = RaftSnapshot(index: mark.index, term: mark.term, voters: definition.regions.map(\.name), data: [])
        }
        let applied = try reader.metadata(RaftMetadata.applied(table)).flatMap(UInt64.init(bigEndianBytes:)) ?? 0
        let speculative = try reader.metadata(RaftMetadata.speculative(table)).flatMap(UInt64.init(bigEndianBytes:)) ?? 0
        var raft = RaftConfiguration(id: configuration.id.name, voters: definition.regions.map(\.name),
                                     randomSeed: configuration.raft.randomSeed ^ stableHash(table.name.utf8) ^ stableHash(configuration.id.name.utf8).rotated ^ record.deletedBefore.rawValue)
        raft.electionTicks = configuration.raft.electionTicks
        raft.heartbeatTicks = configuration.raft.heartbeatTicks
        raft.readOnly = configuration.raft.readOnly
        raft.fault = configuration.raft.fault
        // Entries applied ahead of their commit are not applied as far as Raft knows.
        let node = RaftNode(configuration: raft, hardState: hardState, entries: entries, snapshot: snapshot, applied: min(applied, hardState.commit))
        let group = RaftGroup(node: node, incarnation: record.deletedBefore, definition: definition,
                              persistedLastIndex: entries.last?.index ?? snapshot?.index ?? 0, appliedIndex: applied, speculativeThrough: speculative,
                              lastRole: .follower, lastLeader: nil)
        return (group, hardState == .zero && entries.isEmpty)
    }

    /// The greatest timestamp this region has issued or observed.
    public var latestTimestamp: HLCTimestamp { state.clock.latest }
    /// What this region has applied, per origin.
    public var appliedPositions: Positions { state.replication.applied }
    /// The region's counters.
    public var counters: RegionCounters { state.counters }
    /// Raft counters across this region's groups.
    public var raftCounters: RaftCounters { state.raftCounters }
    /// Each `primary` and `strong` table's group as this region sees it.
    public var raftStatuses: [TableName: RaftTableStatus] {
        state.groups.mapValues(RaftTableStatus.init)
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
    public func step(_ inputs: [RegionInput], wallMilliseconds: UInt64) -> RegionOutput {
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
        var step = Step(region: self, state: working, wallMilliseconds: wallMilliseconds)
        let requestCount = inputs.reduce(0) { count, input in if case .request = input { return count + 1 } else { return count } }
        let replies: [Result<RegionReply, MeridianError>]
        do {
            if inputs.contains(where: Self.needsWriteTransaction) {
                replies = try storage.write { writer in
                    let replies = try inputs.compactMap { try step.run($0, reader: writer, writer: writer) }
                    try step.processRaftReady(writer: writer)
                    if step.state.clock.latest > state.clock.latest {
                        try writer.setMetadata(MetadataName.clockHighWater, step.state.clock.latest.rawValue.bigEndianBytes)
                    }
                    return replies
                }
            } else {
                replies = try storage.read { reader in try inputs.compactMap { try step.run($0, reader: reader, writer: nil) } }
            }
            working = step.state
        } catch {
            let failure = (error as? MeridianError) ?? .storageFailed("storage failed; nothing of this request was applied: \(error)")
            return RegionOutput(replies: Array(repeating: .failure(failure), count: requestCount), messages: [], applied: state.replication.applied,
                                raftApplied: state.groups.mapValues(\.appliedIndex))
        }
        state = working
        let ticked = inputs.contains { if case .tick = $0 { return true } else { return false } }
        if state.reclaimNeeded && (ticked || state.reclaimNow) {
            // A table left this region: make its deleted bytes unrecoverable from the files.
            // Tried at once, then (a busy database) on each tick until it succeeds; until then
            // placement reports the table's bytes as still held here.
            if (try? storage.reclaimSpace()) != nil { state.reclaimNeeded = false }
        }
        state.reclaimNow = false
        var messages = state.takeOutbox()
        messages += streamMessages(wallMilliseconds: wallMilliseconds, sendingSnapshotChunks: ticked)
        messages += state.takeRaftOutbox()
        // A request that waited and completed within this step (a single-region group
        // commits at once) is answered in place.
        var completions = state.completions
        state.completions = []
        var answered = replies
        for (position, reply) in answered.enumerated() {
            guard case .success(.pending(let ticket)) = reply, let found = completions.firstIndex(where: { $0.0 == ticket }) else { continue }
            answered[position] = completions.remove(at: found).1
        }
        return RegionOutput(replies: answered, messages: messages, applied: state.replication.applied,
                            raftApplied: state.groups.mapValues(\.appliedIndex),
                            completions: completions.map { (ticket: $0.0, result: $0.1) })
    }

    static func needsWriteTransaction(_ input: RegionInput) -> Bool {
        switch input {
        case .request(let request): return request.isWrite
        case .message(_, .replication(.entries)), .message(_, .replication(.snapshot)), .message(_, .raft), .tick: return true
        case .message, .peerConnected, .peerDisconnected: return false
        }
    }
}

/// A snapshot transfer being received from one peer.
struct IncomingSnapshot: Sendable, Equatable {
    var transfer: UInt64
    /// The index the next chunk must have.
    var nextIndex: UInt64
    /// Whether a chunk was missed or refused: the transfer is not installed.
    var abandoned: Bool
}

/// The most recent delay samples, in a ring of `RegionState.applyDelaySamplesMax`.
struct DelaySamples: Sendable {
    private(set) var values: [UInt64] = []
    private var next = 0

    mutating func append(_ value: UInt64) {
        if values.count < RegionState.applyDelaySamplesMax {
            values.append(value)
        } else {
            values[next] = value
            next = (next + 1) % values.count
        }
    }
}

/// Everything a region step may change, adopted only when the step commits.
struct RegionState: Sendable {
    var catalog: [TableName: CatalogRecord]
    var clock: HybridLogicalClock
    var replication: Replication
    var counters = RegionCounters()
    /// Messages produced while processing inputs (catch-up requests, acknowledgements,
    /// heartbeats), sent after the commit.
    var outbox: [(RegionID, PeerMessage)] = []
    /// Whether entries were applied this step, so every connected peer is owed an acknowledgement.
    var acknowledgementOwed = false
    /// Per origin, the most recent delays from acceptance at the origin to application
    /// here, in milliseconds.
    var applyDelays: [RegionID: DelaySamples] = [:]
    /// Per origin, the sequence through which the log was last truncated in this run.
    var truncated = Positions()
    /// Tables this region was added to and whose copy it still waits for, with when it last asked.
    var copiesWanted: [TableName: UInt64] = [:]
    /// Whether deleted bytes may still be recoverable from the storage's files: a table left
    /// this region and the reclaim has not yet succeeded. True at start, since a crash may
    /// have come between a table's removal and its reclaim.
    var reclaimNeeded = true
    /// Whether this step removed a table (its reclaim is tried at once, not at the next tick).
    var reclaimNow = false
    /// How long a region waits for a table copy before asking again, in milliseconds.
    static let copyRetryMilliseconds: UInt64 = 2_000
    /// Per peer, the snapshot transfer being received.
    var incomingSnapshots: [RegionID: IncomingSnapshot] = [:]

    /// The most apply-delay samples kept per origin.
    static let applyDelaySamplesMax = 2048

    /// Raft groups of the `primary` and `strong` tables this region holds.
    var groups: [TableName: RaftGroup] = [:]
    /// Whether the catalog changed since the groups were last matched to it (set when a
    /// region opens, and by every catalog change).
    var catalogChangedSinceSync = true
    var raftCounters = RaftCounters()
    /// When Raft last ticked, in wall milliseconds.
    var lastRaftTickMilliseconds: UInt64 = 0
    /// Writes waiting for their commit, by ticket, and the tickets by table and log index.
    var pendingProposals: [UInt64: PendingProposal] = [:]
    var proposalTickets: [TableName: [UInt64: UInt64]] = [:]
    /// Strong reads waiting for their read index, by ticket.
    var pendingReads: [UInt64: PendingRead] = [:]
    /// The most strong reads waiting at once.
    static let pendingReadsMax = 4096
    /// Results of pending requests produced in this step.
    var completions: [(UInt64, Result<RegionReply, MeridianError>)] = []
    var nextTicket: UInt64 = 1
    /// Raft messages produced in this step, per peer.
    var raftOutbox: [RegionID: [RaftEnvelope]] = [:]
    /// The most bytes of Raft messages put in one peer message (a frame holds 4 MiB).
    static let raftMessageBytesMax = 3 << 20

    mutating func issueTicket() -> UInt64 {
        defer { nextTicket += 1 }
        return nextTicket
    }

    mutating func takeOutbox() -> [(RegionID, PeerMessage)] {
        var messages = outbox
        if acknowledgementOwed {
            for (peer, progress) in replication.peers.sorted(by: { $0.key < $1.key }) where progress.connected {
                messages.append((peer, .replication(.ack(replication.applied))))
            }
        }
        outbox = []
        acknowledgementOwed = false
        return messages
    }

    /// The step's Raft messages, every group's for one peer in one message (split only to
    /// fit a frame). Sent after the step's log entries, so that a table's catalog entry
    /// reaches a peer before the first message of the table's group.
    mutating func takeRaftOutbox() -> [(RegionID, PeerMessage)] {
        var messages: [(RegionID, PeerMessage)] = []
        for (peer, envelopes) in raftOutbox.sorted(by: { $0.key < $1.key }) {
            // Every group's messages for a peer travel together, split only to fit a frame.
            var batch: [RaftEnvelope] = []
            var batchBytes = 0
            for envelope in envelopes {
                let bytes = 64 + envelope.message.entries.reduce(0) { $0 + $1.data.count + 16 } + (envelope.message.snapshot?.data.count ?? 0)
                if !batch.isEmpty && batchBytes + bytes > Self.raftMessageBytesMax {
                    messages.append((peer, .raft(batch)))
                    batch = []
                    batchBytes = 0
                }
                batch.append(envelope)
                batchBytes += bytes
            }
            if !batch.isEmpty { messages.append((peer, .raft(batch))) }
        }
        raftOutbox = [:]
        return messages
    }

    /// The live definition of a table, if it exists.
    func definition(_ name: TableName) -> TableDefinition? { catalog[name]?.definition }
}

/// What a session has seen: positions of the multi-primary logs, and for each `primary`
/// or `strong` table the index through which its Raft log was applied where it was served.
/// A session token carries it; a region serves the session's reads once it has applied
/// at least as much.
public struct SessionMarks: Sendable, Equatable {
    public var positions: Positions
    public var raft: [TableName: UInt64]

    public init(positions: Positions = Positions(), raft: [TableName: UInt64] = [:]) {
        self.positions = positions
        self.raft = raft.filter { $0.value > 0 }
    }

    public var isEmpty: Bool { positions.sequences.isEmpty && raft.isEmpty }

    /// The larger of each position and each index.
    public func merged(with other: SessionMarks) -> SessionMarks {
        SessionMarks(positions: positions.merged(with: other.positions), raft: raft.merging(other.raft, uniquingKeysWith: max))
    }

    /// The multi-primary positions, and the Raft index of `table` only: what a request on
    /// `table` adds to its session (a region's other Raft tables stay out of the token,
    /// which would otherwise grow with every table the region holds).
    public func touching(_ table: TableName) -> SessionMarks {
        SessionMarks(positions: positions, raft: raft[table].map { [table: $0] } ?? [:])
    }

    /// What a read in this session requires of the region that serves it.
    public var requirement: ReadRequirement { isEmpty ? .none : .session(positions, raft: raft) }
}
