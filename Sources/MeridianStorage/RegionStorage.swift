// MeridianStorage owns the storage contract a region is written against: the
// `RegionStorage` protocol, the in-memory implementation, and the conformance suite
// that every implementation (in-memory, SQLite) must pass.
//
// It must never depend on SQLite or any I/O: the simulator runs on the in-memory
// implementation, and MeridianRegion sees storage only through these protocols.

import MeridianCore

/// One item as stored: its key, its visible value (or `nil` for a tombstone), the
/// version of the write that decided it, and (for multi-primary tables) its replicated record.
public struct StoredItem: Sendable, Equatable {
    public var key: Key
    /// The JSON value; `nil` when the item is deleted (a tombstone).
    public var value: JSONValue?
    public var version: ItemVersion
    /// The multi-primary state (version vector, fields, siblings); `nil` for other tables.
    public var record: ItemRecord?

    public init(key: Key, value: JSONValue?, version: ItemVersion, record: ItemRecord? = nil) {
        self.key = key
        self.value = value
        self.version = version
        self.record = record
    }

    /// An item holding a multi-primary record: value and version are the record's.
    public init(key: Key, record: ItemRecord) {
        self.init(key: key, value: record.value, version: record.version, record: record)
    }

    /// Whether this is a tombstone left by a delete.
    public var isTombstone: Bool { value == nil }
}

/// When SQLite syncs the write-ahead log to the disk, and so what a committed write survives.
///
/// See docs/durability.md for the full account.
public enum SyncPolicy: String, Sendable, CaseIterable {
    /// `PRAGMA synchronous = FULL`: the WAL is fsynced before every commit returns. A
    /// committed write survives a process crash (`kill -9`), an OS crash and power loss.
    case full
    /// `PRAGMA synchronous = NORMAL`: the WAL is fsynced only at checkpoints. A committed
    /// write survives a process crash (`kill -9`: the kernel holds the written pages);
    /// an OS crash or power loss may lose the most recent commits, never corrupt the file.
    case normal
}

/// A range of one table's keys, in byte order.
///
/// Every bound that is set applies (they combine with AND); the limit takes the first
/// keys of the range in the scan's direction: ascending, or descending when `reverse`.
public struct ScanRange: Sendable, Equatable {
    /// Only keys that start with these bytes.
    public var prefix: [UInt8]
    /// Only keys strictly after this one.
    public var startAfter: Key?
    /// Only keys at or after this one.
    public var startAt: Key?
    /// Only keys strictly before this one.
    public var endBefore: Key?
    /// Only keys at or before this one.
    public var endAt: Key?
    /// At most this many items.
    public var limit: Int
    /// Whether tombstones are returned too.
    public var includeTombstones: Bool
    /// Descending key order: the page holds the greatest keys of the range, greatest first.
    public var reverse: Bool

    public init(prefix: [UInt8] = [], startAfter: Key? = nil, startAt: Key? = nil, endBefore: Key? = nil, endAt: Key? = nil,
                limit: Int, includeTombstones: Bool = false, reverse: Bool = false) {
        precondition(limit >= 0, "a scan limit is never negative")
        self.prefix = prefix
        self.startAfter = startAfter
        self.startAt = startAt
        self.endBefore = endBefore
        self.endAt = endAt
        self.limit = limit
        self.includeTombstones = includeTombstones
        self.reverse = reverse
    }

    /// Whether a key falls in the range (ignoring the limit).
    public func contains(_ key: Key) -> Bool {
        key.hasPrefix(prefix)
            && (startAfter.map { $0 < key } ?? true)
            && (startAt.map { $0 <= key } ?? true)
            && (endBefore.map { key < $0 } ?? true)
            && (endAt.map { key <= $0 } ?? true)
    }
}

/// Reads from a consistent snapshot of a region's storage.
public protocol StorageReader {
    /// Every table's catalog record (deleted tables included), ordered by name.
    func catalog() throws -> [CatalogRecord]
    /// One item, tombstones included; `nil` when the key was never written.
    func item(table: TableName, key: Key) throws -> StoredItem?
    /// Items of a range in key byte order: ascending, or descending when `range.reverse`.
    func scan(table: TableName, range: ScanRange) throws -> [StoredItem]
    /// The number of live items (tombstones excluded) and the bytes of their keys and values.
    func tableSize(table: TableName) throws -> (items: Int, bytes: Int)
    /// A small value of region metadata, such as the clock's high-water mark.
    func metadata(_ name: String) throws -> [UInt8]?
    /// For each origin, the last log sequence this region has applied.
    func appliedPositions() throws -> Positions
    /// Stored entries of one origin's log with sequence greater than `after`, ascending, at
    /// most `limit`. The first may be later than `after + 1` when the log was truncated.
    func logEntries(origin: RegionID, after: UInt64, limit: Int) throws -> [LogEntry]
    /// The conflict ledger of a table: rows with id greater than `afterID`, ascending.
    func conflicts(table: TableName, afterID: Int64, limit: Int) throws -> [ConflictEntry]
    /// Everything of a table this storage holds, counted from the storage itself: the
    /// proof a region gives that it holds none of a table it may not store.
    func residue(table: TableName) throws -> TableResidue
    /// Stored entries of a Raft group's log with index at least `from`, ascending, at most `limit`.
    func raftEntries(group: String, from index: UInt64, limit: Int) throws -> [StoredRaftEntry]
    /// A page of a table's divergence ledger: rows with id greater than `afterID`, ascending.
    func divergence(table: TableName, afterID: Int64, limit: Int) throws -> [DivergenceEntry]
    /// Recorded changes with sequence greater than `after`, ascending, at most `limit`: of one
    /// table (withheld changes left out), or of every table with `table == nil` (withheld
    /// ones included, so the sequence shows no gaps).
    func changes(table: TableName?, after sequence: UInt64, limit: Int) throws -> [ChangeRecord]
    /// The sequences of the oldest and the newest change held; `nil` when none is held.
    func changeBounds() throws -> ClosedRange<UInt64>?
    /// The held change of `table` with the lowest sequence that `mark` does not cover
    /// (withheld changes left out); `nil` when the mark covers every one.
    func firstChange(table: TableName, notCoveredBy mark: ResolvedMark) throws -> ChangeRecord?
}

/// One entry of a Raft group's log as storage keeps it: its index and its encoded bytes.
public struct StoredRaftEntry: Sendable, Equatable {
    public var index: UInt64
    public var bytes: [UInt8]

    public init(index: UInt64, bytes: [UInt8]) {
        self.index = index
        self.bytes = bytes
    }
}

/// What one storage holds of one table.
public struct TableResidue: Sendable, Equatable {
    /// Item rows, tombstones included.
    public var items: Int
    /// Bytes of their keys and values.
    public var bytes: Int
    /// Origin-log entries carrying the table's keys and values (withheld ones excluded),
    /// and the entries of the table's Raft log.
    public var logEntries: Int
    /// Conflict-ledger and divergence-ledger rows.
    public var conflicts: Int
    /// Change-feed rows carrying the table's keys and values (withheld ones excluded).
    public var changes: Int
    /// Deleted rows whose bytes may still sit in the storage's files (SQLite: in the WAL)
    /// until a reclaim succeeds. Set by the region, not by storage.
    public var reclaimPending: Bool

    public init(items: Int, bytes: Int, logEntries: Int, conflicts: Int, changes: Int = 0, reclaimPending: Bool = false) {
        self.items = items
        self.bytes = bytes
        self.logEntries = logEntries
        self.conflicts = conflicts
        self.changes = changes
        self.reclaimPending = reclaimPending
    }

    /// Whether nothing of the table is held.
    public var isEmpty: Bool { items == 0 && logEntries == 0 && conflicts == 0 && changes == 0 && !reclaimPending }
}

/// Changes inside one atomic write transaction.
public protocol StorageWriter: StorageReader {
    /// Inserts or replaces a table's catalog record.
    func putCatalogRecord(_ record: CatalogRecord) throws
    /// Removes the items of a table whose version is older than `timestamp`, and the
    /// ledger rows of conflicts decided before it (a table deletion).
    func deleteItems(table: TableName, writtenBefore timestamp: HLCTimestamp) throws
    /// Inserts or replaces an item (a tombstone too).
    func putItem(table: TableName, _ item: StoredItem) throws
    /// Sets a metadata value.
    func setMetadata(_ name: String, _ value: [UInt8]) throws
    /// Records that this region has applied `origin`'s log through `sequence`.
    func setApplied(origin: RegionID, sequence: UInt64) throws
    /// Stores one log entry (own or relayed); storing the same entry twice is harmless.
    func appendLog(_ entry: LogEntry) throws
    /// Removes `origin`'s entries with sequence at most `sequence`.
    func truncateLog(origin: RegionID, through sequence: UInt64) throws
    /// Appends a row to a table's conflict ledger; storage assigns its id.
    func appendConflict(table: TableName, _ entry: ConflictEntry) throws
    /// Removes every byte of a table's data: its items, its ledger rows, and the keys and
    /// values of its log entries and its changes (kept as withheld entries and changes, so
    /// positions and change sequences still join up).
    func purgeTable(_ table: TableName) throws
    /// Stores entries of a Raft group's log, consecutive and ascending: every stored entry
    /// with an index at or after the first one's is replaced (a log conflict truncates).
    func putRaftEntries(group: String, _ entries: [StoredRaftEntry]) throws
    /// Removes a Raft group's entries with index at most `index` (`UInt64.max`: all of them).
    func deleteRaftEntries(group: String, through index: UInt64) throws
    /// Appends a row to a table's divergence ledger; storage assigns its id.
    func appendDivergence(table: TableName, _ entry: DivergenceEntry) throws
    /// Records a change. The region assigns sequences: each one greater than every sequence
    /// held or truncated before (it keeps them gap-free); storage stores what it is given.
    func appendChange(_ change: ChangeRecord) throws
    /// Removes the changes with sequence at most `sequence` (retention).
    func truncateChanges(through sequence: UInt64) throws
    /// Removes the items of `table` whose stored bytes fail their checksum or do not
    /// decode, and withholds its damaged changes (their sequences stay): the first step of a
    /// repair, after which a copy from a healthy region fills the keys in again. Returns how
    /// many rows it removed or withheld. Storage that cannot be damaged removes nothing.
    func removeDamagedRows(table: TableName) throws -> Int
}

extension StorageWriter {
    /// Storage held in memory is never damaged at rest.
    public func removeDamagedRows(table: TableName) throws -> Int { 0 }
}

/// A region's durable storage.
///
/// Rules of use:
/// - `write` runs its body as one atomic transaction: when the body throws, nothing of it
///   is applied; when `write` returns, everything is applied and is as durable as the
///   implementation's sync policy promises (see docs/durability.md).
/// - Calls are made from one thread at a time (the region's executor); implementations
///   need not be re-entrant.
public protocol RegionStorage: AnyObject {
    /// Runs `body` against a consistent snapshot.
    func read<T>(_ body: (any StorageReader) throws -> T) throws -> T
    /// Runs `body` in one atomic, durable write transaction.
    func write<T>(_ body: (any StorageWriter) throws -> T) throws -> T
    /// Makes deleted data unrecoverable from the storage's files (SQLite: a WAL
    /// checkpoint that truncates the log; deleted pages are zeroed by `secure_delete`).
    func reclaimSpace() throws
    /// Checks every stored row against its checksum (and the file's own structure) and
    /// returns a description of each damage found, at most `problemsMax`. It reads in its
    /// own snapshot, a few rows at a time, and may run beside the region's transactions.
    func checkIntegrity(problemsMax: Int) throws -> [String]
}

extension RegionStorage {
    /// Storage held in memory is never damaged at rest.
    public func checkIntegrity(problemsMax: Int) throws -> [String] { [] }
}

/// Metadata names used by the region.
public enum MetadataName {
    /// The greatest HLC timestamp the region has issued, as 8 big-endian bytes.
    public static let clockHighWater = "clock_high_water"
    /// What the change feed's retention removed and when the feed began (docs/changefeed.md).
    public static let changeFeed = "change_feed"
}

extension UInt64 {
    /// The value as 8 big-endian bytes.
    public var bigEndianBytes: [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: self >> (56 - 8 * $0)) } }

    /// Reads 8 big-endian bytes; `nil` for any other length.
    public init?(bigEndianBytes bytes: [UInt8]) {
        guard bytes.count == 8 else { return nil }
        self = bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }
}
