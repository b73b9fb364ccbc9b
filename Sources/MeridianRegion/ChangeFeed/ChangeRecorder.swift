import MeridianCore
import MeridianStorage

/// What a region knows of its own change feed, restored from storage when it opens.
struct ChangeFeedState: Sendable, Equatable {
    /// When the feed began (the wall clock of the first write step, in milliseconds); 0 until then.
    var epoch: UInt64 = 0
    /// The sequence of the latest change recorded (0: none yet).
    var latest: UInt64 = 0
    /// Every change at or below this sequence was truncated (retention).
    var truncatedThrough: UInt64 = 0
    /// The greatest timestamp among truncated changes: a resume from another region's
    /// cursor is only gap-free here if the cursor's mark covers it.
    var truncatedTimestampMax = HLCTimestamp.zero
    /// The greatest Raft index among truncated changes, likewise.
    var truncatedRaftIndexMax: UInt64 = 0

    /// The stored form: five big-endian 8-byte numbers.
    var bytes: [UInt8] {
        [epoch, truncatedThrough, truncatedTimestampMax.rawValue, truncatedRaftIndexMax, latest].flatMap(\.bigEndianBytes)
    }

    /// Reads the stored form and the newest change held; a feed that was never stored starts empty.
    init(stored: [UInt8]?, newestHeld: UInt64?) throws(MeridianError) {
        if let stored {
            guard stored.count == 40 else {
                throw MeridianError(.internalError, code: "corrupt_row", "the change feed's metadata has \(stored.count) bytes, not 40; the row is damaged")
            }
            let numbers = stride(from: 0, to: 40, by: 8).map { UInt64(bigEndianBytes: Array(stored[$0..<$0 + 8]))! }
            epoch = numbers[0]
            truncatedThrough = numbers[1]
            truncatedTimestampMax = HLCTimestamp(rawValue: numbers[2])
            truncatedRaftIndexMax = numbers[3]
            latest = numbers[4]
        }
        // The metadata is written with every change, so it is never behind the rows; the
        // greater of the two is taken all the same.
        latest = max(latest, newestHeld ?? 0, truncatedThrough)
    }

    init() {}
}

/// The storage writer a region's write step runs against: every call passes through to
/// storage, and every change to items is noted, in order, so that the step records it in
/// the change feed in the same transaction (`Step.recordChanges`).
///
/// This is the one place where the feed learns of changes: whatever code puts an item
/// (local writes, replicated entries, Raft commands, snapshots, undone speculative writes,
/// table deletions) goes through `putItem` or `deleteItems` here, so none can be missed.
/// A conflict-ledger row marks the change of its key made just before it in the same step
/// (the resolution that overwrote the concurrent write).
final class ChangeRecorder: StorageWriter {
    /// A change noted but not yet recorded: its sequence, step time and Raft index are set
    /// when the step records it.
    struct Noted {
        var table: TableName
        var change: ChangeRecord.Change
        var conflict = false
    }

    let base: any StorageWriter
    private(set) var noted: [Noted] = []
    /// The newest catalog record put in this step, per table: a deletion's timestamp.
    private var catalogRecords: [TableName: CatalogRecord] = [:]

    init(_ base: any StorageWriter) { self.base = base }

    /// Takes the changes noted so far.
    func takeNoted() -> [Noted] {
        defer { noted = [] }
        return noted
    }

    func putItem(table: TableName, _ item: StoredItem) throws {
        try base.putItem(table: table, item)
        noted.append(Noted(table: table, change: .item(item)))
    }

    func deleteItems(table: TableName, writtenBefore timestamp: HLCTimestamp) throws {
        precondition(timestamp == .incarnationsEnd, "a region only ever deletes every item of a table (a deletion, a Raft snapshot)")
        try base.deleteItems(table: table, writtenBefore: timestamp)
        noted.append(Noted(table: table, change: .tableCleared(catalogRecords[table]?.deletedBefore ?? .zero)))
    }

    func appendConflict(table: TableName, _ entry: ConflictEntry) throws {
        try base.appendConflict(table: table, entry)
        guard let index = noted.lastIndex(where: { noted in
            guard noted.table == table, case .item(let item) = noted.change else { return false }
            return item.key == entry.key
        }) else { return }
        noted[index].conflict = true
    }

    func purgeTable(_ table: TableName) throws {
        try base.purgeTable(table)
        // Storage withholds the table's recorded changes; those of this step go the same way.
        for index in noted.indices where noted[index].table == table {
            noted[index].change = .withheld
        }
    }

    func putCatalogRecord(_ record: CatalogRecord) throws {
        try base.putCatalogRecord(record)
        catalogRecords[record.name] = record
    }

    // Everything else passes through unchanged.

    func catalog() throws -> [CatalogRecord] { try base.catalog() }
    func item(table: TableName, key: Key) throws -> StoredItem? { try base.item(table: table, key: key) }
    func scan(table: TableName, range: ScanRange) throws -> [StoredItem] { try base.scan(table: table, range: range) }
    func tableSize(table: TableName) throws -> (items: Int, bytes: Int) { try base.tableSize(table: table) }
    func metadata(_ name: String) throws -> [UInt8]? { try base.metadata(name) }
    func appliedPositions() throws -> Positions { try base.appliedPositions() }
    func logEntries(origin: RegionID, after: UInt64, limit: Int) throws -> [LogEntry] { try base.logEntries(origin: origin, after: after, limit: limit) }
    func conflicts(table: TableName, afterID: Int64, limit: Int) throws -> [ConflictEntry] { try base.conflicts(table: table, afterID: afterID, limit: limit) }
    func residue(table: TableName) throws -> TableResidue { try base.residue(table: table) }
    func raftEntries(group: String, from index: UInt64, limit: Int) throws -> [StoredRaftEntry] { try base.raftEntries(group: group, from: index, limit: limit) }
    func divergence(table: TableName, afterID: Int64, limit: Int) throws -> [DivergenceEntry] { try base.divergence(table: table, afterID: afterID, limit: limit) }
    func changes(table: TableName?, after sequence: UInt64, limit: Int) throws -> [ChangeRecord] { try base.changes(table: table, after: sequence, limit: limit) }
    func changeBounds() throws -> ClosedRange<UInt64>? { try base.changeBounds() }
    func firstChange(table: TableName, notCoveredBy mark: ResolvedMark) throws -> ChangeRecord? { try base.firstChange(table: table, notCoveredBy: mark) }
    func setMetadata(_ name: String, _ value: [UInt8]) throws { try base.setMetadata(name, value) }
    func setApplied(origin: RegionID, sequence: UInt64) throws { try base.setApplied(origin: origin, sequence: sequence) }
    func appendLog(_ entry: LogEntry) throws { try base.appendLog(entry) }
    func truncateLog(origin: RegionID, through sequence: UInt64) throws { try base.truncateLog(origin: origin, through: sequence) }
    func putRaftEntries(group: String, _ entries: [StoredRaftEntry]) throws { try base.putRaftEntries(group: group, entries) }
    func deleteRaftEntries(group: String, through index: UInt64) throws { try base.deleteRaftEntries(group: group, through: index) }
    func appendDivergence(table: TableName, _ entry: DivergenceEntry) throws { try base.appendDivergence(table: table, entry) }
    func appendChange(_ change: ChangeRecord) throws { try base.appendChange(change) }
    func truncateChanges(through sequence: UInt64) throws { try base.truncateChanges(through: sequence) }
    func removeDamagedRows(table: TableName) throws -> Int { try base.removeDamagedRows(table: table) }
}
