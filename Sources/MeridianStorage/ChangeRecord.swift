import MeridianCore

/// One change a region applied to a table, as its change feed serves it (docs/changefeed.md).
///
/// A region records every change to its items in the storage transaction that applies
/// it, under a sequence of its own that starts at 1 and has no gaps: the order of the
/// sequence is the order in which the region applied the changes, whatever caused them
/// (a local write, another region's log entry, a Raft command, a snapshot, a deletion).
public struct ChangeRecord: Sendable, Equatable {
    /// What changed.
    public enum Change: Sendable, Equatable {
        /// An item was put: its new value, or a tombstone.
        case item(StoredItem)
        /// Every item of the table went at once: the table was deleted (the timestamp is the
        /// deletion's) or replaced by a Raft snapshot (zero). A subscriber drops what it holds.
        case tableCleared(HLCTimestamp)
        /// The change's table left this region (data residency): its key and value are gone
        /// from storage. Never served; it keeps the sequence without gaps.
        case withheld
    }

    /// The region's own order of changes, from 1, without gaps.
    public var sequence: UInt64
    public var table: TableName
    public var change: Change
    /// Whether applying it overwrote a concurrent write (the loser is in the conflict ledger).
    public var conflict: Bool
    /// The region's wall clock in the step that applied it, in milliseconds since the epoch.
    public var appliedAtMilliseconds: UInt64
    /// For `primary` and `strong` tables, the index through which the region had applied
    /// the table's Raft log at the end of the step that made the change (at least the index
    /// of the entry that caused it); 0 for multi-primary tables.
    public var raftIndex: UInt64

    public init(sequence: UInt64, table: TableName, change: Change, conflict: Bool = false, appliedAtMilliseconds: UInt64, raftIndex: UInt64 = 0) {
        self.sequence = sequence
        self.table = table
        self.change = change
        self.conflict = conflict
        self.appliedAtMilliseconds = appliedAtMilliseconds
        self.raftIndex = raftIndex
    }

    /// The timestamp a resume in another region compares: the item's version (the greatest
    /// version of every write merged into it), or the deletion's.
    public var timestamp: HLCTimestamp {
        switch change {
        case .item(let item): return item.version.timestamp
        case .tableCleared(let timestamp): return timestamp
        case .withheld: return .zero
        }
    }

    /// Whether the change still holds its table's data (it is not withheld).
    public var isServed: Bool {
        if case .withheld = change { return false }
        return true
    }
}

/// What a subscriber has provably seen of a table, in terms every region of the table
/// understands; a region that did not issue the subscriber's cursor resumes from the first
/// of its own changes this does not cover (docs/changefeed.md).
public enum ResolvedMark: Sendable, Equatable {
    /// Multi-primary tables: every write with a timestamp at or below this one. A change
    /// whose `timestamp` is at or below it holds nothing the subscriber has not seen.
    case timestamp(HLCTimestamp)
    /// `primary` and `strong` tables: the table's Raft log through this index.
    case raftIndex(UInt64)

    /// Whether a change holds nothing beyond what the mark covers.
    public func covers(_ change: ChangeRecord) -> Bool {
        switch self {
        case .timestamp(let timestamp): return change.timestamp <= timestamp
        case .raftIndex(let index): return change.raftIndex <= index
        }
    }
}
