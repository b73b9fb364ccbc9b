// MeridianReplication owns multi-primary shipping as a pure state machine: per-origin
// gap-free sequence numbers, the positions each region has applied, catch-up after
// (re)connection, streaming with a bounded window, acknowledgements, relay of other
// origins' entries, retransmission after loss, log truncation, and snapshot catch-up.
//
// It must never do I/O, read a clock, draw from a global random source or use the
// concurrency runtime. It decides what to send and when; MeridianRegion reads and
// writes storage, and MeridianNode or the simulator moves the messages.

import MeridianCore

/// A table definition as replicated: last-writer-wins by `version`, with deletes kept.
public struct CatalogRecord: Hashable, Sendable, Codable {
    public var name: TableName
    /// The definition; `nil` once the table is deleted.
    public var definition: TableDefinition?
    /// The write that made this state (creation or deletion).
    public var version: ItemVersion
    /// Items written before this timestamp belong to a deleted incarnation of the table
    /// and are discarded (zero when the table was never deleted).
    public var deletedBefore: HLCTimestamp

    public init(name: TableName, definition: TableDefinition?, version: ItemVersion, deletedBefore: HLCTimestamp) {
        self.name = name
        self.definition = definition
        self.version = version
        self.deletedBefore = deletedBefore
    }

    /// The join of two states of one table's record: the greater version's definition,
    /// the greater deletion bound. Commutative, associative and idempotent.
    public func merged(with other: CatalogRecord) -> CatalogRecord {
        precondition(name == other.name, "catalog records of different tables never merge")
        var winner = other.version > version ? other : self
        winner.deletedBefore = max(deletedBefore, other.deletedBefore)
        return winner
    }
}

/// What one origin-log entry carries.
public enum LogPayload: Hashable, Sendable {
    /// An item's record after a write at the origin, with its table's catalog record so
    /// that a receiver can apply it without waiting for another origin's entries.
    case item(table: CatalogRecord, key: Key, record: ItemRecord)
    /// A table was created, changed or deleted.
    case catalog(CatalogRecord)
    /// The entry exists but is withheld from this receiver (its table is not stored
    /// there); it only moves the receiver's position past it.
    case withheld
}

/// One entry of an origin's log: the unit of multi-primary replication.
public struct LogEntry: Hashable, Sendable {
    /// The region that accepted the write.
    public var origin: RegionID
    /// The entry's position in its origin's log: 1, 2, 3, ... without gaps.
    public var sequence: UInt64
    /// When the origin accepted the write.
    public var timestamp: HLCTimestamp
    public var payload: LogPayload

    public init(origin: RegionID, sequence: UInt64, timestamp: HLCTimestamp, payload: LogPayload) {
        precondition(sequence > 0, "sequences start at 1")
        self.origin = origin
        self.sequence = sequence
        self.timestamp = timestamp
        self.payload = payload
    }
}

/// For each origin, the last sequence applied (or sent, or acknowledged).
public struct Positions: Hashable, Sendable, Codable {
    public private(set) var sequences: [RegionID: UInt64]

    public init(_ sequences: [RegionID: UInt64] = [:]) {
        self.sequences = sequences.filter { $0.value > 0 }
    }

    public subscript(origin: RegionID) -> UInt64 {
        get { sequences[origin] ?? 0 }
        set { sequences[origin] = newValue > 0 ? newValue : nil }
    }

    /// The pointwise maximum.
    public func merged(with other: Positions) -> Positions {
        Positions(sequences.merging(other.sequences, uniquingKeysWith: max))
    }
}

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
    /// The sender's applied positions when the snapshot began: once the final chunk is
    /// applied, the receiver has everything up to them.
    public var positions: Positions
    /// The whole catalog (first chunk only; empty in later chunks).
    public var catalog: [CatalogRecord]
    /// Items, in (table, key) order.
    public var items: [SnapshotItem]
    /// Whether this is the last chunk.
    public var isFinal: Bool

    public init(transfer: UInt64, positions: Positions, catalog: [CatalogRecord], items: [SnapshotItem], isFinal: Bool) {
        self.transfer = transfer
        self.positions = positions
        self.catalog = catalog
        self.items = items
        self.isFinal = isFinal
    }
}

/// Every message one region sends another over the peer transport (after the handshake).
public enum PeerMessage: Hashable, Sendable {
    /// "Send me everything after these positions": sent once a connection is up.
    case catchUp(Positions)
    /// Log entries, in sequence order per origin.
    case entries([LogEntry])
    /// The sender's applied positions: acknowledges entries and opens the window.
    case ack(Positions)
    case heartbeat(Heartbeat)
    case snapshot(SnapshotChunk)
}
