// Value types of multi-primary replication shared by storage, replication and the wire.

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
public enum LogPayload: Hashable, Sendable, Codable {
    /// An item's record after a write at the origin, with its table's catalog record so
    /// that a receiver can apply it without waiting for another origin's entries.
    case item(table: CatalogRecord, key: Key, record: ItemRecord)
    /// A table was created, changed or deleted.
    case catalog(CatalogRecord)
    /// The entry exists but is withheld from this receiver because its table is not stored
    /// there (data residency); it only moves the receiver's position past it. The table's
    /// name lets a relaying region tell whether the next receiver may hold it.
    case withheld(table: TableName)
}

/// One entry of an origin's log: the unit of multi-primary replication.
public struct LogEntry: Hashable, Sendable, Codable {
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

