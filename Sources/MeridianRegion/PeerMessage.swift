import MeridianCore
import MeridianRaft
import MeridianReplication

/// Every message one region sends another over the peer transport (after the handshake):
/// multi-primary shipping, or the Raft messages of `primary` and `strong` tables.
///
/// Replication and Raft know nothing of each other; the region composes them, and the
/// wire encodes this composition (its frame kinds are unchanged by the split: one kind per
/// replication message, and kind 8 for Raft).
public enum PeerMessage: Hashable, Sendable {
    case replication(ReplicationMessage)
    /// Raft messages of `primary` and `strong` tables' groups. A step sends every group's
    /// messages for one peer in one of these, so many tables' heartbeats share one frame.
    case raft([RaftEnvelope])
}

/// One Raft message of one table's group.
public struct RaftEnvelope: Hashable, Sendable {
    /// The table whose group the message belongs to.
    public var table: TableName
    /// The table's incarnation (its catalog record's deletion bound): a message of an
    /// earlier incarnation of a re-created table is ignored.
    public var incarnation: HLCTimestamp
    public var message: RaftMessage

    public init(table: TableName, incarnation: HLCTimestamp, message: RaftMessage) {
        self.table = table
        self.incarnation = incarnation
        self.message = message
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(table)
        hasher.combine(incarnation)
        hasher.combine(message.kind)
        hasher.combine(message.term)
        hasher.combine(message.index)
    }
}
