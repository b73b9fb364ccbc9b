// The values a Raft group exchanges and persists: entries, hard state, snapshots, messages.

/// A voter's identity: the name of the region that hosts it, e.g. `"us-east"`.
public typealias RaftNodeID = String

/// One log entry: an opaque command at a position (`index`) stamped with the leader's term.
public struct RaftEntry: Sendable, Equatable {
    /// What an entry carries.
    public enum Kind: UInt8, Sendable {
        /// A command from `RaftNode.propose(_:)`; `data` is the caller's payload.
        case normal = 0
        /// The no-op a new leader appends so that it can commit entries of its term.
        case empty = 1
        /// A change of the group's members: `data` is `RaftMembership.entryData`. It takes
        /// effect in each node when the node learns that it is committed.
        case membership = 2
    }

    /// The term of the leader that created the entry.
    public var term: UInt64
    /// The position of the entry in the log; the first entry has index 1.
    public var index: UInt64
    /// Whether the entry is a command or a leader's no-op.
    public var kind: Kind
    /// The command, opaque to Raft.
    public var data: [UInt8]

    /// Creates an entry.
    public init(term: UInt64, index: UInt64, kind: Kind = .normal, data: [UInt8] = []) {
        self.term = term
        self.index = index
        self.kind = kind
        self.data = data
    }
}

/// The state that must be durable before any message of the same `RaftReady` is sent.
public struct RaftHardState: Sendable, Equatable {
    /// The latest term this node has seen.
    public var term: UInt64
    /// The candidate this node voted for in `term`, if any.
    public var vote: RaftNodeID?
    /// The highest log index known to be committed.
    public var commit: UInt64

    /// The hard state of a node that has never run.
    public static let zero = RaftHardState(term: 0, vote: nil, commit: 0)

    /// Creates a hard state.
    public init(term: UInt64, vote: RaftNodeID?, commit: UInt64) {
        self.term = term
        self.vote = vote
        self.commit = commit
    }
}

/// The application's state through `index`, which replaces the log up to that index.
public struct RaftSnapshot: Sendable, Equatable {
    /// The last log index the snapshot covers.
    public var index: UInt64
    /// The term of the entry at `index`.
    public var term: UInt64
    /// The members of the group at `index`.
    public var membership: RaftMembership
    /// The application's state, opaque to Raft.
    public var data: [UInt8]

    /// Creates a snapshot.
    public init(index: UInt64, term: UInt64, membership: RaftMembership, data: [UInt8]) {
        self.index = index
        self.term = term
        self.membership = membership
        self.data = data
    }

    /// The voters of the group at `index`.
    public var voters: [RaftNodeID] { membership.voters }
}

/// The part a node plays in its current term.
public enum RaftRole: String, Sendable {
    /// Accepts entries from a leader and grants votes.
    case follower
    /// Asks whether it could win an election, without raising its term (pre-vote).
    case preCandidate
    /// Asks for votes in a new term.
    case candidate
    /// Accepts proposals and replicates the log.
    case leader
}

/// The kind of a message between voters.
public enum RaftMessageKind: UInt8, Sendable, CaseIterable {
    /// "Could I win an election in `term`?", asked without raising the sender's term.
    case preVote
    /// The answer to a `preVote`.
    case preVoteResponse
    /// "Vote for me in `term`."
    case vote
    /// The answer to a `vote`.
    case voteResponse
    /// Entries (possibly none) for a follower, with the leader's commit index.
    case append
    /// A follower's match index, or its rejection of an append.
    case appendResponse
    /// The leader's periodic "I still lead", possibly carrying a ReadIndex round.
    case heartbeat
    /// The answer to a `heartbeat`, echoing its round.
    case heartbeatResponse
    /// The leader's snapshot, for a follower whose next entries were compacted away.
    case snapshot
    /// "Campaign now": the last step of a leadership transfer.
    case timeoutNow
    /// A follower's proposal, forwarded to the leader (`entries` holds its data).
    case propose
    /// A follower asks the leader for a read index (`context` names the read).
    case readIndex
    /// The leader's answer to `readIndex`: the read may be served once the follower has
    /// applied through `index`.
    case readIndexResponse
}

/// A message between two voters of a group. Which fields matter depends on `kind`.
public struct RaftMessage: Sendable, Equatable {
    /// The context of a vote request sent by a campaign that `timeoutNow` forced: voters
    /// grant it even while they still follow a live leader (leader stickiness does not apply).
    public static let campaignTransferContext: [UInt8] = Array("campaign-transfer".utf8)

    /// What the message asks or answers.
    public var kind: RaftMessageKind
    /// The sender.
    public var from: RaftNodeID
    /// The receiver.
    public var to: RaftNodeID
    /// The sender's term (a pre-vote carries the term it would campaign in).
    public var term: UInt64
    /// append: the term of the entry at `index`; vote and preVote: the candidate's last log term.
    public var logTerm: UInt64
    /// append: the index preceding `entries`; vote and preVote: the candidate's last index;
    /// appendResponse: the follower's match index, or the rejected index.
    public var index: UInt64
    /// append: the entries that follow `index`.
    public var entries: [RaftEntry]
    /// append and heartbeat: the leader's commit index (for a heartbeat, at most the receiver's match).
    public var commit: UInt64
    /// Responses: whether the request was refused.
    public var reject: Bool
    /// appendResponse with `reject`: the follower's last index, so the leader can skip back at once.
    public var rejectHint: UInt64
    /// snapshot: the snapshot to install.
    public var snapshot: RaftSnapshot?
    /// heartbeat and heartbeatResponse: the ReadIndex round id (opaque bytes);
    /// vote: `campaignTransferContext` for a campaign forced by `timeoutNow`;
    /// readIndex and readIndexResponse: the follower's read context.
    public var context: [UInt8]

    /// Creates a message.
    public init(
        kind: RaftMessageKind, from: RaftNodeID, to: RaftNodeID, term: UInt64,
        logTerm: UInt64 = 0, index: UInt64 = 0, entries: [RaftEntry] = [], commit: UInt64 = 0,
        reject: Bool = false, rejectHint: UInt64 = 0, snapshot: RaftSnapshot? = nil, context: [UInt8] = []
    ) {
        self.kind = kind
        self.from = from
        self.to = to
        self.term = term
        self.logTerm = logTerm
        self.index = index
        self.entries = entries
        self.commit = commit
        self.reject = reject
        self.rejectHint = rejectHint
        self.snapshot = snapshot
        self.context = context
    }
}
