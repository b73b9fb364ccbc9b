import MeridianCore
import MeridianRegion
import MeridianStorage

/// `Property.committedEntriesImmutable`: once an entry of a Raft group is committed, every
/// region that commits that index commits the same entry, and no region ever replaces it
/// (Raft's state machine safety, §5.4.3).
///
/// Fed from each region's storage as its commit index advances: the entries through the
/// commit index, read incrementally (each index of each region once), must match the first
/// entry any region committed at that index; and every entry a region persists at or below
/// what it had committed must be that same entry (a rewrite of a committed index).
public struct CommittedEntryChecker: Sendable {
    struct GroupOfRegion: Hashable {
        var region: RegionID
        var table: TableName
    }

    struct Committed {
        var bytes: [UInt8]
        var committedBy: RegionID
    }

    /// Per table and index, the entry first seen committed, and by whom.
    private var committed: [TableName: [UInt64: Committed]] = [:]
    /// Per region and table, the index through which its committed entries were read.
    private var checkedThrough: [GroupOfRegion: UInt64] = [:]

    public init() {}

    /// The index through which `region`'s committed entries of `table` were checked.
    public func checkedIndex(region: RegionID, table: TableName) -> UInt64 {
        checkedThrough[GroupOfRegion(region: region, table: table)] ?? 0
    }

    /// Checks entries `region` holds as committed, in index order, all above
    /// `checkedIndex(region:table:)` (a gap, left by a snapshot, is skipped); advances the mark.
    public mutating func observeCommitted(region: RegionID, table: TableName, entries: [StoredRaftEntry]) -> Violation? {
        let group = GroupOfRegion(region: region, table: table)
        for entry in entries {
            precondition(entry.index > checkedThrough[group] ?? 0, "committed entries are read once, in order")
            checkedThrough[group] = entry.index
            guard let first = committed[table]?[entry.index] else {
                committed[table, default: [:]][entry.index] = Committed(bytes: entry.bytes, committedBy: region)
                continue
            }
            guard first.bytes != entry.bytes else { continue }
            return Violation(.committedEntriesImmutable,
                "table \(table) index \(entry.index): \(first.committedBy) committed \(Self.describe(first.bytes)), \(region) committed \(Self.describe(entry.bytes))")
        }
        return nil
    }

    /// Checks entries `region` just persisted: none at or below what it had committed may
    /// differ from the committed entry.
    public func observeWritten(region: RegionID, table: TableName, entries: [StoredRaftEntry]) -> Violation? {
        let mark = checkedIndex(region: region, table: table)
        for entry in entries where entry.index <= mark {
            guard let first = committed[table]?[entry.index], first.bytes != entry.bytes else { continue }
            return Violation(.committedEntriesImmutable,
                "table \(table) index \(entry.index): \(region) had committed \(Self.describe(first.bytes)) and replaced it with \(Self.describe(entry.bytes))")
        }
        return nil
    }

    /// Forgets what `region` committed: its storage rolled back (a power loss under
    /// `SyncPolicy.normal`), so it reads its committed entries again from its new commit index.
    public mutating func forget(region: RegionID) {
        for group in checkedThrough.keys where group.region == region { checkedThrough[group] = nil }
    }

    /// An entry as its term, index and command.
    static func describe(_ bytes: [UInt8]) -> String {
        describeStoredRaftEntry(bytes)
    }
}
