// ReadIndex: linearizable reads without writing to the log (Raft thesis §6.4).

/// The leader's unanswered ReadIndex requests.
///
/// A `.safe` read records the commit index and starts a heartbeat round with a fresh round
/// id. A heartbeat response carrying round `r` proves the responder acknowledged this leader
/// after every round up to `r` began, so once a majority acknowledged `r` every read of a
/// round `<= r` is confirmed.
struct RaftPendingReads: Sendable {
    struct Read: Sendable {
        let index: UInt64
        let context: [UInt8]
        let round: UInt64
        /// The node that asked: this leader, or a follower that forwarded its read.
        let requester: RaftNodeID
    }

    /// Reads waiting until the leader has committed an entry of its term (its commit index
    /// may lag the group's before that), with the node that asked.
    var awaitingCommit: [(context: [UInt8], requester: RaftNodeID)] = []
    /// Reads waiting for their heartbeat round to be acknowledged, oldest first.
    var unconfirmed: [Read] = []
    var lastRound: UInt64 = 0
    /// The highest round each voter acknowledged.
    var acknowledgedRounds: [RaftNodeID: UInt64] = [:]
    /// The tick at which each recent round's heartbeats were sent, for the leader lease.
    var roundSentTicks: [UInt64: UInt64] = [:]
    /// The most rounds whose send tick is remembered (older ones cannot hold a lease).
    static let roundsRememberedMax = 64
    /// The send tick of the newest round a majority acknowledged: the leader's lease runs
    /// from there.
    var leaseStartTick: UInt64?

    /// Starts a heartbeat round sent at `tick`; returns its context.
    mutating func startRound(at tick: UInt64) -> [UInt8] {
        lastRound += 1
        roundSentTicks[lastRound] = tick
        if roundSentTicks.count > Self.roundsRememberedMax, let oldest = roundSentTicks.keys.min() { roundSentTicks[oldest] = nil }
        return Self.context(ofRound: lastRound)
    }

    var count: Int { awaitingCommit.count + unconfirmed.count }


    static func context(ofRound round: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: round >> (8 * $0)) }
    }

    static func round(ofContext context: [UInt8]) -> UInt64? {
        guard context.count == 8 else { return nil }
        return context.enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * $1.offset) }
    }
}

extension RaftNode {
    /// A read index asked at this leader by `requester` (itself, or a follower that sent
    /// `readIndex`): answered once the leader knows it still leads.
    mutating func requestRead(context: [UInt8], requester: RaftNodeID) throws(RaftError) {
        // FAULT skipReadConfirmation: answer with the local commit index, unconfirmed.
        if configuration.fault == .skipReadConfirmation {
            answerRead(index: log.committed, context: context, requester: requester)
            return
        }
        guard reads.count < configuration.pendingReadsMax else { throw .tooManyPendingReads }
        if committedEntryInCurrentTerm {
            confirmRead(context: context, requester: requester)
        } else {
            reads.awaitingCommit.append((context, requester))
        }
    }

    mutating func releaseReadsAwaitingCommit() {
        let waiting = reads.awaitingCommit
        reads.awaitingCommit = []
        for read in waiting {
            confirmRead(context: read.context, requester: read.requester)
        }
    }

    private mutating func confirmRead(context readContext: [UInt8], requester: RaftNodeID) {
        precondition(committedEntryInCurrentTerm, "a read index is taken only after the leader committed an entry of its term")
        if voters.count == 1 || (configuration.readOnly == .leaseBased && isLeaseValid) {
            answerRead(index: log.committed, context: readContext, requester: requester)
            return
        }
        // Without a lease (just elected, or a majority not heard from recently): confirm
        // leadership with a heartbeat round, as `.safe` does.
        let context = reads.startRound(at: ticks)
        reads.unconfirmed.append(.init(index: log.committed, context: readContext, round: reads.lastRound, requester: requester))
        broadcastHeartbeat(context: context)
    }

    /// Hands a confirmed read index to whoever asked: a read state here, or a
    /// `readIndexResponse` to the follower (which serves the read once it has applied `index`).
    private mutating func answerRead(index: UInt64, context: [UInt8], requester: RaftNodeID) {
        if requester == id {
            readStates.append(RaftReadState(index: index, context: context))
        } else {
            send(RaftMessage(kind: .readIndexResponse, from: id, to: requester, term: term, index: index, context: context))
        }
    }

    /// Records a voter's acknowledgement of a heartbeat round: confirms the reads of that
    /// round and earlier once a majority acknowledged, and extends the lease.
    mutating func acknowledgeReadRound(from voter: RaftNodeID, context: [UInt8]) {
        guard let round = RaftPendingReads.round(ofContext: context), round <= reads.lastRound else { return }
        reads.acknowledgedRounds[voter] = max(reads.acknowledgedRounds[voter] ?? 0, round)
        let rounds = voters.map { $0 == id ? reads.lastRound : reads.acknowledgedRounds[$0] ?? 0 }.sorted(by: >)
        let confirmed = rounds[quorum - 1]
        if let sent = reads.roundSentTicks[confirmed] { reads.leaseStartTick = max(reads.leaseStartTick ?? 0, sent) }
        while let read = reads.unconfirmed.first, read.round <= confirmed {
            reads.unconfirmed.removeFirst()
            answerRead(index: read.index, context: read.context, requester: read.requester)
        }
    }
}
