import MeridianCore
import MeridianRaft
import MeridianReplication
import MeridianStorage

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

    /// The `primary` and `strong` tables' groups and what waits on them.
    var consensus = ConsensusState()
    /// The change feed's sequence, epoch and retention (ChangeFeed/).
    var changeFeed = ChangeFeedState()
    /// Whether the catalog changed since the groups were last matched to it (set when a
    /// region opens, and by every catalog change).
    var catalogChangedSinceSync = true
    /// Results of pending requests produced in this step.
    var completions: [(UInt64, Result<RegionReply, MeridianError>)] = []
    /// The ticket the next pending request gets.
    var nextTicket: UInt64 = 1
    /// Catalog changes this region proposed, by proposal, with the request waiting for each.
    var catalogWaiters: [UInt64: CatalogProposalWaiter] = [:]
    /// Requests for tables this region does not know, waiting for the catalog, by ticket.
    var catalogWaits: [UInt64: CatalogWait] = [:]
    /// The most catalog proposals, and the most requests waiting for the catalog, at once.
    static let catalogWaitsMax = 4096
    /// How long a request for an unknown table waits for the catalog, in milliseconds.
    static let catalogWaitMilliseconds: UInt64 = 2_000
    /// Consensus tables this region was added to while they ran: their groups start here
    /// as learners.
    var joiningTables: Set<TableName> = []
    /// Tickets that stand for others: a request that waited for the catalog and then ran
    /// again and waits on something new is answered under its first ticket.
    var ticketAliases: [UInt64: UInt64] = [:]
    /// Session and bounded reads waiting for the local copy to catch up, by ticket.
    var parkedReads: [UInt64: ParkedRead] = [:]
    /// The most reads parked at once (past it a read is refused at once, and the edge forwards it).
    static let parkedReadsMax = 4096
    /// The longest a read may wait in the region, in milliseconds.
    static let parkedReadWaitMillisecondsMax: UInt64 = 10_000

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

    /// The earliest deadline of a request waiting in the region (parked reads, proposals
    /// and strong reads waiting on a Raft group).
    var nextDeadlineMilliseconds: UInt64? {
        let deadlines = parkedReads.values.map(\.deadlineMilliseconds) + consensus.pendingProposals.values.map(\.deadlineMilliseconds)
            + consensus.pendingReads.values.map(\.deadlineMilliseconds) + catalogWaiters.values.map(\.deadlineMilliseconds)
            + catalogWaits.values.map(\.deadlineMilliseconds)
        return deadlines.min()
    }

    /// Stops the program when a step broke an invariant of the region: TigerBeetle's habit
    /// of asserting where state is richest, in release builds too, since a region that
    /// carried on would spread the damage to its peers.
    ///
    /// - What the region applied never goes backwards (per origin), nor does its clock.
    /// - Every request got exactly one reply.
    /// - What waits is within its bounds, and every waiting ticket was issued.
    /// - A group's commit index never passes its log, and (within one incarnation) never
    ///   goes backwards.
    func checkInvariants(after previous: RegionState, requestCount: Int, replyCount: Int) {
        precondition(replyCount == requestCount, "a step answers every request once")
        for (origin, sequence) in previous.replication.applied.sequences {
            precondition(replication.applied[origin] >= sequence, "what a region applied of \(origin) never goes backwards")
        }
        precondition(clock.latest >= previous.clock.latest, "a region's clock never goes backwards")
        precondition(parkedReads.count <= Self.parkedReadsMax, "at most parkedReadsMax reads are parked")
        precondition(parkedReads.keys.allSatisfy { $0 < nextTicket }, "every parked read holds an issued ticket")
        precondition(catalogWaiters.count <= Self.catalogWaitsMax && catalogWaits.count <= Self.catalogWaitsMax, "at most catalogWaitsMax catalog waits")
        precondition(consensus.groups[CatalogGroup.name] != nil, "every region runs the catalog group")
        precondition(consensus.pendingProposals.keys.allSatisfy { $0 < nextTicket } && consensus.pendingReads.keys.allSatisfy { $0 < nextTicket },
                     "every request waiting on a Raft group holds an issued ticket")
        consensus.checkInvariants()
        changeFeed.checkInvariants(after: previous.changeFeed)
        for (table, group) in consensus.groups {
            guard let before = previous.consensus.groups[table], before.incarnation == group.incarnation else { continue }
            precondition(group.node.status.commit >= before.node.status.commit, "a group's commit index never goes backwards")
        }
    }

    /// The live definition of a table, if it exists.
    func definition(_ name: TableName) -> TableDefinition? { catalog[name]?.definition }
}
