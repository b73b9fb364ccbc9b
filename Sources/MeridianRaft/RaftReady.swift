// What a node hands to its caller: work to persist, send and apply, and a read-only view.

/// A ReadIndex answer: the read with `context` may be served once the applied index reaches `index`.
public struct RaftReadState: Sendable, Equatable {
    /// The commit index the leader held when the read was accepted and confirmed.
    public var index: UInt64
    /// The caller's context passed to `RaftNode.readIndex(context:)`.
    public var context: [UInt8]

    /// Creates a read state.
    public init(index: UInt64, context: [UInt8]) {
        self.index = index
        self.context = context
    }
}

/// Work for the caller, in this order: persist `snapshot`, `entries` and `hardState`; then
/// send `messages`, apply `snapshot` and `committedEntries`, serve `readStates`; then call
/// `RaftNode.advance(_:)` with this value.
public struct RaftReady: Sendable {
    /// Changed since the last advance: persist before sending messages.
    public var hardState: RaftHardState?
    /// To persist, in order. If `entries.first.index` is at most the last persisted index, the
    /// persisted log from that index on is replaced (conflict truncation).
    public var entries: [RaftEntry]
    /// To install (persist, then apply its data) before `entries`. It replaces the whole
    /// persisted log: discard every persisted entry.
    public var snapshot: RaftSnapshot?
    /// To apply, in order (never beyond what is persisted after this Ready).
    public var committedEntries: [RaftEntry]
    /// To send only after `hardState`, `entries` and `snapshot` are durable.
    public var messages: [RaftMessage]
    /// ReadIndex answers.
    public var readStates: [RaftReadState]
    /// Creates a Ready; a node builds its own, callers build them only for tests and fakes.
    public init(
        hardState: RaftHardState? = nil, entries: [RaftEntry] = [], snapshot: RaftSnapshot? = nil,
        committedEntries: [RaftEntry] = [], messages: [RaftMessage] = [], readStates: [RaftReadState] = []
    ) {
        self.hardState = hardState
        self.entries = entries
        self.snapshot = snapshot
        self.committedEntries = committedEntries
        self.messages = messages
        self.readStates = readStates
    }

    /// Whether there is nothing to do.
    public var isEmpty: Bool {
        hardState == nil && entries.isEmpty && snapshot == nil && committedEntries.isEmpty && messages.isEmpty && readStates.isEmpty
    }
}

/// A read-only view of a node, for monitoring and tests.
public struct RaftStatus: Sendable, Equatable {
    /// The node.
    public var id: RaftNodeID
    /// Its role in `term`.
    public var role: RaftRole
    /// Its current term.
    public var term: UInt64
    /// The leader this node follows in `term`, or itself when it leads.
    public var leader: RaftNodeID?
    /// The highest index known committed.
    public var commit: UInt64
    /// The highest index the caller acknowledged as applied.
    public var applied: UInt64
    /// The last index in the log.
    public var lastIndex: UInt64
    /// The first index still held in the log (one past the snapshot).
    public var firstIndex: UInt64
    /// Leader only: each member's match index (its own is `lastIndex`), learners included.
    public var match: [RaftNodeID: UInt64]
    /// Leader only: whether each member was heard from within the last election timeout.
    public var recentActive: [RaftNodeID: Bool]
    /// Leader only: the voter leadership is being transferred to.
    public var leadTransferee: RaftNodeID?
    /// The members as of the newest committed membership entry this node knows of.
    public var membership: RaftMembership
    /// The log index of the entry (or snapshot) `membership` comes from.
    public var membershipIndex: UInt64
    /// Leader only: whether a membership change (or the leader's first entry) is not
    /// committed yet, so that no other change may be proposed.
    public var membershipChangePending: Bool
}
