import MeridianCore
import MeridianRaft
import MeridianStorage

/// One `primary` or `strong` table's Raft group as this region runs it.
///
/// The group's state machine is the table's items in this region's storage: a committed
/// entry is applied in the same storage transaction that persists the group's progress.
struct RaftGroup: Sendable {
    var node: RaftNode
    /// The table's incarnation (its catalog record's deletion bound).
    var incarnation: HLCTimestamp
    var definition: TableDefinition
    /// The last index persisted in storage.
    var persistedLastIndex: UInt64
    /// The index of the membership last persisted (`RaftMetadata.membership`).
    var persistedMembershipIndex: UInt64 = 0
    /// The last index whose command is applied to the items. Under `commit: "local"` a
    /// leader applies its own entries when it appends them, so this may pass the commit index.
    var appliedIndex: UInt64
    /// Entries through this index were applied ahead of their commit by this region as
    /// leader (`commit: "local"`); each has an undo record until it commits.
    var speculativeThrough: UInt64
    /// The role and leader at the end of the last step, to count leader changes.
    var lastRole: RaftRole
    var lastLeader: RaftNodeID?
    /// Elections this region started in the group, and leader changes it saw.
    var campaigns = 0
    var leaderChanges = 0

    var table: TableName { definition.name }

    /// Whether `region` is the table's witness: it votes and keeps the log, but stores no
    /// items, serves no requests and sends no snapshots (it has nothing to put in them).
    func isWitness(_ region: RegionID) -> Bool { definition.witness == region }

    /// Whether the table acknowledges after the leader's own durable write.
    var commitsLocally: Bool { definition.mode == .primary && definition.commit == .local }
}

/// Raft group counters, for metrics and the cluster view.
public struct RaftCounters: Sendable, Equatable {
    /// Times this region started an election (pre-vote or vote) in any group.
    public var campaigns = 0
    /// Times a group's leader changed, as this region saw it.
    public var leaderChanges = 0
    /// Acknowledged `commit: "local"` writes found replaced by a new leader's log.
    public var divergedWrites = 0
    /// Proposals that timed out with an unknown outcome.
    public var proposalTimeouts = 0
    /// Snapshots a leader could not send because the table exceeds one frame.
    public var snapshotsTooLarge = 0
    /// Membership changes this region proposed as a leader (learners added, promoted, removed).
    public var membershipChanges = 0
}

/// What a `primary` or `strong` table's group looks like from this region.
public struct RaftTableStatus: Sendable, Equatable {
    public var role: String
    public var term: UInt64
    public var leader: RegionID?
    public var commitIndex: UInt64
    public var appliedIndex: UInt64
    public var lastIndex: UInt64
    /// Elections this region started in the group, and leader changes it saw, since it started.
    public var campaigns: Int
    public var leaderChanges: Int

    init(_ group: RaftGroup) {
        let status = group.node.status
        role = status.role.rawValue
        term = status.term
        leader = status.leader.flatMap { try? RegionID($0) }
        commitIndex = status.commit
        appliedIndex = group.appliedIndex
        lastIndex = status.lastIndex
        campaigns = group.campaigns
        leaderChanges = group.leaderChanges
    }
}

/// A write entered in a group's log and waiting for its commit.
struct PendingProposal: Sendable {
    var table: TableName
    var index: UInt64
    var term: UInt64
    var deadlineMilliseconds: UInt64
}

/// A linearizable read waiting for its read index and for the items to be applied that far.
struct PendingRead: Sendable {
    var table: TableName
    var key: Key
    var consistency: ConsistencyLevel
    /// Set when the leader confirmed it: the read may be served once applied reaches it.
    var readIndex: UInt64?
    var deadlineMilliseconds: UInt64
}

/// Metadata names of a group's persisted state.
enum RaftMetadata {
    static func hardState(_ table: TableName) -> String { "raft.hard.\(table.name)" }
    static func applied(_ table: TableName) -> String { "raft.applied.\(table.name)" }
    static func speculative(_ table: TableName) -> String { "raft.speculative.\(table.name)" }
    static func incarnation(_ table: TableName) -> String { "raft.incarnation.\(table.name)" }
    static func undo(_ table: TableName, _ index: UInt64) -> String { "raft.undo.\(table.name).\(index)" }
    /// The index and term through which the log was compacted (16 bytes).
    static func snapshot(_ table: TableName) -> String { "raft.snapshot.\(table.name)" }
    /// The group's members as the node last knew them, and the index they hold from.
    static func membership(_ table: TableName) -> String { "raft.membership.\(table.name)" }
    /// The log group name in storage.
    static func group(_ table: TableName) -> String { table.name }
}

/// A stable 64-bit hash of bytes (FNV-1a): Swift's `Hasher` is seeded per process, and a
/// seed derived from it would break replay.
func stableHash(_ bytes: some Sequence<UInt8>) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in bytes {
        hash ^= UInt64(byte)
        hash = hash &* 0x0000_0100_0000_01b3
    }
    return hash
}

extension UInt64 {
    /// The bits rotated by 32, so that two stable hashes combined by xor do not cancel.
    var rotated: UInt64 { self << 32 | self >> 32 }
}
