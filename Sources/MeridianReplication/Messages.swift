// MeridianReplication owns multi-primary shipping as a pure state machine: per-origin
// gap-free sequence numbers, the positions each region has applied, catch-up after
// (re)connection, streaming with a bounded window, acknowledgements, relay of other
// origins' entries, retransmission after loss, log truncation, and snapshot catch-up.
//
// It must never do I/O, read a clock, draw from a global random source or use the
// concurrency runtime. It decides what to send and when; MeridianRegion reads and
// writes storage, and MeridianNode or the simulator moves the messages.

import MeridianCore

/// A region's periodic announcement to a peer.
public struct Heartbeat: Hashable, Sendable {
    /// The last sequence of the sender's own origin log.
    public var latestSequence: UInt64
    /// The timestamp of that entry (zero when the log is empty).
    public var latestTimestamp: HLCTimestamp
    /// The sender's wall clock when it sent the heartbeat, in milliseconds since the epoch.
    public var wallMilliseconds: UInt64
    /// What the sender has applied, per origin (doubles as an acknowledgement).
    public var applied: Positions

    public init(latestSequence: UInt64, latestTimestamp: HLCTimestamp, wallMilliseconds: UInt64, applied: Positions) {
        self.latestSequence = latestSequence
        self.latestTimestamp = latestTimestamp
        self.wallMilliseconds = wallMilliseconds
        self.applied = applied
    }
}

/// One item in a snapshot.
public struct SnapshotItem: Hashable, Sendable {
    public var table: TableName
    public var key: Key
    public var record: ItemRecord

    public init(table: TableName, key: Key, record: ItemRecord) {
        self.table = table
        self.key = key
        self.record = record
    }
}

/// A piece of a snapshot sent to a region too far behind to catch up from the logs.
public struct SnapshotChunk: Hashable, Sendable {
    /// Identifies one snapshot transfer; chunks of an older transfer are ignored.
    public var transfer: UInt64
    /// The chunk's place in its transfer, from 0: a receiver that misses one abandons the
    /// transfer rather than install positions it lacks the data for.
    public var index: UInt64
    /// The sender's applied positions when the snapshot began: once the final chunk is
    /// applied, the receiver has everything up to them.
    public var positions: Positions
    /// The whole catalog (first chunk only; empty in later chunks).
    public var catalog: [CatalogRecord]
    /// Items, in (table, key) order.
    public var items: [SnapshotItem]
    /// Whether this is the last chunk.
    public var isFinal: Bool

    public init(transfer: UInt64, index: UInt64, positions: Positions, catalog: [CatalogRecord], items: [SnapshotItem], isFinal: Bool) {
        self.transfer = transfer
        self.index = index
        self.positions = positions
        self.catalog = catalog
        self.items = items
        self.isFinal = isFinal
    }
}

/// Every message of multi-primary shipping that one region sends another. Regions also
/// exchange Raft messages; `MeridianRegion` composes both into its `PeerMessage`, so this
/// module knows nothing of Raft.
public enum ReplicationMessage: Hashable, Sendable {
    /// "Send me everything after these positions": sent once a connection is up.
    case catchUp(Positions)
    /// Log entries, in sequence order per origin.
    case entries([LogEntry])
    /// The sender's applied positions: acknowledges entries and opens the window.
    case ack(Positions)
    case heartbeat(Heartbeat)
    case snapshot(SnapshotChunk)
    /// "Send me a copy of this table": from a region newly added to the table's regions,
    /// whose positions already moved past the entries that were withheld from it.
    case copyRequest(TableName)
}
