// MeridianRaft owns the Raft consensus algorithm for one replication group, as a pure,
// synchronous and deterministic state machine: input arrives through `RaftNode.step(_:)`,
// `tick()` and the proposal methods; output leaves as a `RaftReady` value that the caller
// persists, sends and applies, then acknowledges with `advance(_:)`.
//
// It must never do I/O, read a clock, spawn work, or draw randomness from anywhere but the
// generator seeded by `RaftConfiguration.randomSeed`. It never traps on remote input: a
// malformed or stale message is dropped. Preconditions guard only local contracts.
//
// This file is the public face of a node: construction, inputs (tick, step, propose, read,
// campaign, transfer, compact) and outputs (ready, advance, status). The log lives in
// RaftLog.swift, per-follower flow control in RaftProgress.swift, role behaviour in the
// RaftNode+*.swift files.

/// One voter of a Raft group, as a pure state machine.
///
/// ```swift
/// var node = RaftNode(configuration: configuration, hardState: .zero, entries: [], snapshot: nil, applied: 0)
/// node.tick()                         // on every timer tick
/// node.step(message)                  // for every message received
/// if node.hasReady {
///     let ready = node.ready()
///     // persist ready.snapshot, ready.entries, ready.hardState; then send ready.messages,
///     // apply ready.committedEntries, serve ready.readStates
///     node.advance(ready)
/// }
/// ```
///
/// Rules of use: call `advance(_:)` with every `RaftReady` once it is handled, in order;
/// never send a message before the state of its Ready is durable.
public struct RaftNode: Sendable {
    let configuration: RaftConfiguration
    /// The members as of the newest committed membership entry (or snapshot) this node
    /// knows of, and that entry's index.
    var membership: RaftMembership
    var membershipIndex: UInt64
    /// The highest committed index scanned for membership entries.
    var membershipScanned: UInt64
    /// Leader only: the index of its latest membership entry, or of its first entry: no
    /// membership change is proposed before that index is committed (one change at a time,
    /// and never before the leader committed an entry of its term).
    var pendingMembershipIndex: UInt64 = 0
    /// The voters, sorted, so that every broadcast goes out in the same order.
    var voters: [RaftNodeID] { membership.voters }
    /// Every member but this node, voters first: who a leader replicates to.
    var peers: [RaftNodeID] { membership.members.filter { $0 != id } }
    var isVoter: Bool { membership.voters.contains(id) }
    var id: RaftNodeID { configuration.id }
    var quorum: Int { membership.quorum }

    var term: UInt64
    var vote: RaftNodeID?
    var leader: RaftNodeID?
    var role: RaftRole = .follower
    var log: RaftLog

    /// Ticks since the last reset; on a follower, since it last heard from a leader.
    var electionElapsed = 0
    var heartbeatElapsed = 0
    var randomizedElectionTicks = 0
    /// Pre-candidate only: ticks until an unanswered pre-vote round is asked again, drawn in
    /// `[2, 2 + electionTicks / 2)` when the round starts.
    var preVoteRetryTicks = 0
    /// Ticks since the current leadership transfer started.
    var transferElapsed = 0
    /// Every tick this node has seen since it started; progress stamps are taken from it.
    var ticks: UInt64 = 0
    var generator: SplitMix64

    /// The votes received in the current (pre-)campaign.
    var votes: [RaftNodeID: Bool] = [:]
    /// Leader only: one entry per member, learners and this node included.
    var progress: [RaftNodeID: RaftProgress] = [:]
    var leadTransferee: RaftNodeID?
    /// Whether this leader told a voter to campaign at once in the current term.
    var timeoutNowSent = false
    var reads = RaftPendingReads()

    var messages: [RaftMessage] = []
    var readStates: [RaftReadState] = []
    /// The hard state the caller last acknowledged as persisted.
    var persistedHardState: RaftHardState

    /// Restores a node from what was persisted (hard state, the log after the snapshot, the
    /// snapshot) — all may be empty for a new group. `applied` is the last index the caller's
    /// state machine holds; committed entries after it are handed out again.
    public init(configuration: RaftConfiguration, hardState: RaftHardState, entries: [RaftEntry], snapshot: RaftSnapshot?, applied: UInt64) {
        configuration.validate()
        self.configuration = configuration
        membership = RaftMembership(voters: configuration.voters, learners: configuration.learners)
        membershipIndex = configuration.membershipIndex
        if let snapshot, snapshot.index > membershipIndex {
            membership = snapshot.membership
            membershipIndex = snapshot.index
        }
        term = hardState.term
        vote = hardState.vote
        log = RaftLog(snapshot: snapshot, entries: entries, committed: hardState.commit, applied: applied)
        membershipScanned = max(membershipIndex, log.firstIndex - 1)
        precondition(log.lastTerm <= term || (log.lastIndex == 0), "restored log term \(log.lastTerm) beyond the hard state's term \(term)")
        persistedHardState = hardState
        generator = SplitMix64(seed: configuration.randomSeed)
        becomeFollower(term: term, leader: nil)
        refreshMembership()
    }

    /// Advances time by one tick: followers may start an election, leaders send heartbeats
    /// and check their quorum.
    public mutating func tick() {
        ticks += 1
        if role == .leader {
            tickLeader()
        } else if isVoter {
            tickElection()
        }
        refreshMembership()
    }

    /// Handles a message from another node of the group. Messages to someone else, stale or
    /// malformed are dropped; votes are granted to voters only, and a leader hears only its
    /// members. A node not yet (or no longer) among the members it knows of still follows a
    /// leader's log: that is how a joining node learns the group. Remote input never stops
    /// the program.
    public mutating func step(_ message: RaftMessage) {
        guard message.from != id, message.to == id, isWellFormed(message), isAdmissible(message) else { return }
        stepChecked(message)
        refreshMembership()
    }

    /// Appends `data` to the log as a new entry and returns its index. Leader only (there is
    /// no forwarding); refused while leadership is being transferred.
    @discardableResult
    public mutating func propose(_ data: [UInt8]) throws(RaftError) -> UInt64 {
        guard role == .leader else { throw .notLeader(leader: leader) }
        guard leadTransferee == nil else { throw .transferInProgress }
        let index = appendEntries([RaftEntry(term: term, index: 0, kind: .normal, data: data)])
        broadcastAppend()
        refreshMembership()
        return index
    }

    /// Proposes a change of the group's members and returns its index. Leader only; one
    /// change at a time: refused while an earlier change (or the leader's first entry) is
    /// not committed, and unless it adds or removes at most one voter (learners are free).
    /// The change takes effect in each node when that node learns it is committed; a leader
    /// that removes itself steps down then.
    @discardableResult
    public mutating func proposeMembership(_ proposed: RaftMembership) throws(RaftError) -> UInt64 {
        guard role == .leader else { throw .notLeader(leader: leader) }
        guard leadTransferee == nil else { throw .transferInProgress }
        // FAULT unsafeMembershipChange: no check that the previous change committed, nor
        // that this one is a single step.
        if configuration.fault != .unsafeMembershipChange {
            guard pendingMembershipIndex <= log.committed else { throw .membershipChangePending }
            guard membership.isSingleStep(to: proposed) else { throw .invalidMembershipChange }
        }
        let index = appendEntries([RaftEntry(term: term, index: 0, kind: .membership, data: proposed.entryData)])
        pendingMembershipIndex = index
        broadcastAppend()
        refreshMembership()
        return index
    }

    /// Asks for a read index; the answer arrives as a `RaftReadState` carrying `context` in a
    /// later Ready. A follower asks its leader (a `readIndex` message) and then serves the
    /// read once it has applied through the index: a linearizable read at a follower, for
    /// one round trip to the leader. Refused without a known leader. Reads pending when
    /// leadership changes are dropped: the caller times them out.
    public mutating func readIndex(context: [UInt8]) throws(RaftError) {
        if role == .leader {
            try requestRead(context: context, requester: id)
            return
        }
        guard role == .follower, let leader else { throw .notLeader(leader: leader) }
        send(RaftMessage(kind: .readIndex, from: id, to: leader, term: term, context: context))
    }

    /// Proposes `data` at the leader from anywhere: a leader appends it (as `propose`), a
    /// follower forwards it to its leader, which appends it unless it is transferring
    /// leadership. A forwarded proposal gets no answer: the caller learns its fate from the
    /// committed entries it applies (and times it out). Refused without a known leader.
    public mutating func forwardProposal(_ data: [UInt8]) throws(RaftError) {
        if role == .leader {
            _ = try propose(data)
            return
        }
        guard role == .follower, let leader else { throw .notLeader(leader: leader) }
        send(RaftMessage(kind: .propose, from: id, to: leader, term: term, entries: [RaftEntry(term: 0, index: 0, kind: .normal, data: data)]))
    }

    /// Starts an election now (with a pre-vote first when enabled). Ignored by a leader.
    public mutating func campaign() {
        startElection(forced: false)
    }

    /// Starts an election at once that skips the pre-vote and that voters grant despite a
    /// live leader (as after `timeoutNow`): an operator's forced failover. The usual vote
    /// rules still hold (one vote per term, the candidate's log at least as up to date).
    public mutating func campaignForced() {
        startElection(forced: true)
    }

    /// Hands leadership to `target`: the leader catches it up, then tells it to campaign at
    /// once. Aborted after an election timeout. Ignored unless this node leads and `target`
    /// is another voter.
    public mutating func transferLeadership(to target: RaftNodeID) {
        guard role == .leader, target != id, voters.contains(target), leadTransferee != target, progress[target] != nil else { return }
        leadTransferee = target
        transferElapsed = 0
        if progress[target]!.match == log.lastIndex {
            sendTimeoutNow(to: target)
        } else {
            sendAppend(to: target, sendIfEmpty: true)
        }
    }

    /// Drops the log through `index`, which the caller has applied (it was handed out in
    /// `committedEntries`) and captured in `snapshotData`; the snapshot is kept to send to
    /// laggards. The caller persists its own snapshot and compacts its own log: the snapshot
    /// does not come back in a Ready. Ignored if `index` is already compacted.
    public mutating func compact(through index: UInt64, snapshotData: [UInt8]) {
        log.compact(through: index, membership: membership, data: snapshotData)
    }

    /// Whether `ready()` has anything to hand out.
    public var hasReady: Bool {
        currentHardState != persistedHardState || log.hasWork || !messages.isEmpty || !readStates.isEmpty
    }

    /// Hands out the work accumulated since the last call. Messages and read states are handed
    /// out once; everything else stays pending until `advance(_:)` acknowledges it.
    public mutating func ready() -> RaftReady {
        let hardState = currentHardState
        let committedEntries = log.committedEntriesToApply
        let ready = RaftReady(
            hardState: hardState == persistedHardState ? nil : hardState,
            entries: log.unstableEntries,
            snapshot: log.pendingSnapshot,
            committedEntries: committedEntries,
            messages: messages,
            readStates: readStates
        )
        if let last = committedEntries.last { log.markApplying(through: last.index) }
        messages = []
        readStates = []
        return ready
    }

    /// Acknowledges that everything in `ready` was persisted, sent and applied.
    public mutating func advance(_ ready: RaftReady) {
        if let hardState = ready.hardState { persistedHardState = hardState }
        if let snapshot = ready.snapshot { log.stableSnapshot(at: snapshot.index) }
        if let last = ready.entries.last { log.stable(through: last.index, term: last.term) }
        if let last = ready.committedEntries.last { log.markApplied(through: last.index) }
    }

    /// A read-only view of the node.
    public var status: RaftStatus {
        RaftStatus(
            id: id, role: role, term: term, leader: leader,
            commit: log.committed, applied: log.applied, lastIndex: log.lastIndex, firstIndex: log.firstIndex,
            match: role == .leader ? progress.mapValues(\.match).merging([id: log.lastIndex]) { $1 } : [:],
            recentActive: role == .leader ? Dictionary(uniqueKeysWithValues: membership.members.map { ($0, isRecentlyActive($0)) }) : [:],
            leadTransferee: leadTransferee, membership: membership, membershipIndex: membershipIndex,
            membershipChangePending: role == .leader && pendingMembershipIndex > log.committed
        )
    }

    /// Whether this node leads with check-quorum and a majority acknowledged a heartbeat it
    /// sent less than `electionTicks - 2` ticks ago (counted from the send, not the answer).
    /// Sound only while the voters' tick rates agree to within a tick per election timeout:
    /// followers ignore votes for `electionTicks` of their own ticks after a heartbeat.
    /// A leader that sent `timeoutNow` in its term holds no lease for the rest of the term: the
    /// target campaigns past leader stickiness.
    public var isLeaseValid: Bool {
        guard role == .leader, configuration.checkQuorum, !timeoutNowSent else { return false }
        if voters.count == 1 { return true }
        guard let start = reads.leaseStartTick else { return false }
        // A follower that answered a heartbeat sent at `start` refuses to vote for anyone
        // else for `electionTicks` of its own ticks after it received it. Two ticks are kept
        // in hand: one for the tick boundaries of two nodes, one for clock-rate differences.
        return ticks - start + 2 < UInt64(configuration.electionTicks)
    }

    var currentHardState: RaftHardState {
        RaftHardState(term: term, vote: vote, commit: log.committed)
    }

    mutating func send(_ message: RaftMessage) {
        precondition(message.from == id && message.to != id, "send: a node only sends its own messages to others")
        messages.append(message)
    }
}
