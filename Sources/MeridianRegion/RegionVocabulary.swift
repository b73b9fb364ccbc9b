import MeridianCore
@_spi(Simulation) import MeridianRaft
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
    /// The members the catalog group starts with when this region first runs it: by default
    /// every region of the cluster votes. A region that joins a running cluster starts as a
    /// learner beside the regions that already vote (it learns the real members from the
    /// group's log), and a one-region test fixture may vote alone.
    public var catalogVoters: [RegionID]? = nil
    public var catalogLearners: [RegionID] = []
    /// The change feed's retention (docs/changefeed.md).
    public var changeFeed = ChangeFeedSettings()
    /// A planted bug, set only by the simulator to check its checkers (SPI, not public API).
    @_spi(Simulation) public var fault: RegionFault? = nil

    public init(id: RegionID, clusterRegions: [RegionID], clockSkewMillisecondsMax: UInt64 = Limits.clockSkewMillisecondsMaxDefault) {
        precondition(clusterRegions.contains(id), "a region belongs to its own cluster")
        self.id = id
        self.clusterRegions = clusterRegions
        self.clockSkewMillisecondsMax = clockSkewMillisecondsMax
        replication = ReplicationConfiguration(local: id, peers: clusterRegions.filter { $0 != id })
    }

}

/// Bugs planted on purpose in the region so that the simulator's checkers can show they
/// catch them. Never set one outside a test: the type and the switch are SPI.
@_spi(Simulation) public enum RegionFault: String, Sendable, CaseIterable {
    /// Session reads are served whatever the session's token says the session has seen.
    case ignoreSessionToken
}

/// A client request, already parsed and validated at the edge.
public enum RegionRequest: Sendable, Equatable {
    case createTable(TableName, definition: JSONValue)
    case listTables
    case showTable(TableName)
    case deleteTable(TableName)
    /// A write; `context` (siblings tables) is the version vector the client read.
    case putItem(TableName, Key, JSONValue, WritePrecondition, context: VersionVector? = nil)
    /// A read; a `session` or `bounded` read the local copy cannot serve yet waits in the
    /// region for up to `waitMilliseconds` (answered `.pending`), then is refused with an
    /// error naming where to go instead.
    case getItem(TableName, Key, ConsistencyLevel, requirement: ReadRequirement = .none, waitMilliseconds: UInt64 = 0)
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
    /// Operations on several items of one `strong` table applied all or none, as one
    /// entry of its Raft log (Consensus/Transactions.swift).
    case transact(TableName, [TransactOperation])
    /// A page of a table's change feed after `start`, at most `limit` changes
    /// (ChangeFeed/Step+Changes.swift).
    case changes(TableName, ChangeStart, limit: Int)
    /// Removes this region's damaged rows of a multi-primary table and asks a healthy region
    /// for a copy of the table (docs/operations.md, "Corruption").
    case repairTable(TableName)

    /// Whether executing the request may change storage (a read that a Raft group must
    /// confirm counts: it runs in the write transaction that persists the group's progress).
    public var isWrite: Bool {
        switch self {
        case .createTable, .deleteTable, .putItem, .deleteItem, .changeRegions, .failover, .transact, .repairTable: return true
        case .getItem(_, _, let consistency, _, _): return consistency != .eventual
        case .listTables, .showTable, .scan, .conflicts, .clusterStatus, .placement, .divergence, .changes: return false
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
    /// What a transaction did: applied every operation, or refused them all.
    case transacted(TransactOutcome)
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
    /// A page of a table's change feed.
    case changes(ChangePage)
    /// A repair started: `removedRows` damaged rows were removed, and a copy of the table
    /// was asked of `source` (`nil`: no region holding the table is connected yet; the copy
    /// is asked as soon as one is).
    case repairing(TableName, removedRows: Int, source: RegionID?)
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
    /// The earliest deadline of a request still waiting in the region, in wall milliseconds:
    /// the driver must run a step (a tick) by then, even with no other input, so that the
    /// request is answered on time. `nil` when nothing waits with a deadline.
    public var nextDeadlineMilliseconds: UInt64? = nil
    /// Why the step's storage transaction failed (a full disk, an I/O error): then nothing
    /// of the step was applied and every request of it got this error. `nil` when it
    /// committed. The driver may run the step's requests that change nothing again on
    /// their own (a read must not fail because a tick it was batched with could not write).
    public var storageFailure: MeridianError? = nil
    /// The sequence of the newest change in the region's change feed after the step: a
    /// subscriber waiting for changes after its cursor wakes when it grows.
    public var latestChangeSequence: UInt64 = 0
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
