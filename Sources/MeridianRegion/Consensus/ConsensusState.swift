import MeridianCore
import MeridianRaft

/// Everything of the `primary` and `strong` tables' Raft groups that a step may change:
/// the groups, the writes and strong reads that wait on them, and the Raft messages a step
/// produced. Part of `RegionState`, adopted only when a step commits.
///
/// Invariants (checked by `checkInvariants`): every waiting proposal is found under its
/// table and index in `proposalTickets` and the other way round; at most
/// `pendingProposalsMax` writes and `pendingReadsMax` reads wait.
struct ConsensusState: Sendable {
    /// Raft groups of the `primary` and `strong` tables this region holds.
    var groups: [TableName: RaftGroup] = [:]
    var counters = RaftCounters()
    /// When Raft last ticked, in wall milliseconds.
    var lastTickMilliseconds: UInt64 = 0
    /// Writes waiting for their commit, by ticket, and the tickets by table and log index.
    var pendingProposals: [UInt64: PendingProposal] = [:]
    var proposalTickets: [TableName: [UInt64: UInt64]] = [:]
    /// Strong reads waiting for their read index, by ticket.
    var pendingReads: [UInt64: PendingRead] = [:]
    /// Raft messages produced in this step, per peer.
    var outbox: [RegionID: [RaftEnvelope]] = [:]

    /// The most writes waiting for their commit at once: past it a write is refused
    /// (`overloaded`) instead of growing memory.
    static let pendingProposalsMax = 16_384
    /// The most strong reads waiting at once.
    static let pendingReadsMax = 4096
    /// The most bytes of Raft messages put in one peer message (a frame holds 4 MiB).
    static let messageBytesMax = 3 << 20

    /// Registers a write waiting for the commit of `index` in `table`'s log; returns the
    /// ticket of an earlier write that waited for the same index, which is displaced: its
    /// entry is gone from the log (a leader's log was cut back below it, and this region,
    /// leading again, proposed at that index anew), so it will never commit.
    mutating func awaitCommit(ticket: UInt64, _ proposal: PendingProposal) -> UInt64? {
        let displaced = proposalTickets[proposal.table]?[proposal.index]
        if let displaced { _ = removeProposal(ticket: displaced) }
        precondition(pendingProposals.count < Self.pendingProposalsMax, "a proposal is registered only below the bound")
        pendingProposals[ticket] = proposal
        proposalTickets[proposal.table, default: [:]][proposal.index] = ticket
        return displaced
    }

    /// Forgets a waiting write; returns it.
    mutating func removeProposal(ticket: UInt64) -> PendingProposal? {
        guard let proposal = pendingProposals.removeValue(forKey: ticket) else { return nil }
        proposalTickets[proposal.table]?[proposal.index] = nil
        if proposalTickets[proposal.table]?.isEmpty == true { proposalTickets[proposal.table] = nil }
        return proposal
    }

    /// Stops the program when the waiting requests break an invariant (checked after every step).
    func checkInvariants() {
        precondition(pendingProposals.count <= Self.pendingProposalsMax, "at most pendingProposalsMax writes wait")
        precondition(pendingReads.count <= Self.pendingReadsMax, "at most pendingReadsMax reads wait")
        let indexed = proposalTickets.values.reduce(0) { $0 + $1.count }
        precondition(indexed == pendingProposals.count, "every waiting write is indexed by table and log index, once")
        for (table, group) in groups {
            let status = group.node.status
            precondition(group.table == table, "a group is filed under its own table")
            precondition(status.commit <= status.lastIndex, "a group's commit index never passes its log")
            precondition(group.speculativeThrough == 0 || group.speculativeThrough <= group.appliedIndex,
                         "entries applied ahead of their commit are applied")
        }
    }

    /// The step's Raft messages, every group's for one peer in one message (split only to
    /// fit a frame). Sent after the step's log entries, so that a table's catalog entry
    /// reaches a peer before the first message of the table's group.
    mutating func takeOutbox() -> [(RegionID, PeerMessage)] {
        var messages: [(RegionID, PeerMessage)] = []
        for (peer, envelopes) in outbox.sorted(by: { $0.key < $1.key }) {
            var batch: [RaftEnvelope] = []
            var batchBytes = 0
            for envelope in envelopes {
                let bytes = 64 + envelope.message.entries.reduce(0) { $0 + $1.data.count + 16 } + (envelope.message.snapshot?.data.count ?? 0)
                if !batch.isEmpty && batchBytes + bytes > Self.messageBytesMax {
                    messages.append((peer, .raft(batch)))
                    batch = []
                    batchBytes = 0
                }
                batch.append(envelope)
                batchBytes += bytes
            }
            if !batch.isEmpty { messages.append((peer, .raft(batch))) }
        }
        outbox = [:]
        return messages
    }
}
