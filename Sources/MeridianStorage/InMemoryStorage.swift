import MeridianCore

/// Storage held in memory: for tests and the simulator.
///
/// A write transaction works on a copy of the image and replaces the image only when
/// its body returns, so a body that throws leaves nothing behind.
public final class InMemoryStorage: RegionStorage {
    /// Everything the storage holds, as a value: copying it is a snapshot, assigning it
    /// back a restore (the simulator keeps a durable image this way to roll back to).
    public struct Image {
        var catalog: [TableName: CatalogRecord] = [:]
        var items: [TableName: [Key: StoredItem]] = [:]
        var metadata: [String: [UInt8]] = [:]
        var applied = Positions()
        /// Per origin, entries in ascending sequence order.
        var logs: [RegionID: [LogEntry]] = [:]
        var conflicts: [TableName: [ConflictEntry]] = [:]
        var nextConflictID: Int64 = 1
        /// Per Raft group, entries by index.
        var raftLogs: [String: [UInt64: [UInt8]]] = [:]
        var divergence: [TableName: [DivergenceEntry]] = [:]
        var nextDivergenceID: Int64 = 1
        /// The change feed, in ascending sequence order.
        var changes: [ChangeRecord] = []

        /// An empty image.
        public init() {}
    }

    /// The committed image: what the next transaction starts from. Setting it replaces
    /// everything the storage holds.
    public var image = Image()

    /// Makes empty storage.
    public init() {}

    public func read<T>(_ body: (any StorageReader) throws -> T) throws -> T {
        try body(Transaction(image: image))
    }

    public func write<T>(_ body: (any StorageWriter) throws -> T) throws -> T {
        let transaction = Transaction(image: image)
        let result = try body(transaction)
        image = transaction.image
        return result
    }

    /// Nothing to do: deleted data is gone from memory at once.
    public func reclaimSpace() throws {}
}

extension InMemoryStorage {
    final class Transaction: StorageWriter {
        var image: Image
        init(image: Image) { self.image = image }

        func catalog() throws -> [CatalogRecord] {
            image.catalog.values.sorted { $0.name < $1.name }
        }

        func item(table: TableName, key: Key) throws -> StoredItem? {
            image.items[table]?[key]
        }

        func scan(table: TableName, range: ScanRange) throws -> [StoredItem] {
            guard let items = image.items[table] else { return [] }
            let matching = items.values.filter { range.contains($0.key) && (range.includeTombstones || !$0.isTombstone) }
            let ordered = matching.sorted { range.reverse ? $0.key > $1.key : $0.key < $1.key }
            return Array(ordered.prefix(range.limit))
        }

        func tableSize(table: TableName) throws -> (items: Int, bytes: Int) {
            let live = (image.items[table] ?? [:]).values.filter { !$0.isTombstone }
            return (live.count, live.reduce(0) { $0 + $1.key.bytes.count + ($1.value?.canonicalBytes.count ?? 0) })
        }

        func metadata(_ name: String) throws -> [UInt8]? { image.metadata[name] }

        func appliedPositions() throws -> Positions { image.applied }

        func logEntries(origin: RegionID, after: UInt64, limit: Int) throws -> [LogEntry] {
            let log = image.logs[origin] ?? []
            // Entries are ascending by sequence: find the first after `after` by binary search.
            var low = 0, high = log.count
            while low < high {
                let middle = (low + high) / 2
                if log[middle].sequence <= after { low = middle + 1 } else { high = middle }
            }
            return Array(log[low...].prefix(limit))
        }

        func conflicts(table: TableName, afterID: Int64, limit: Int) throws -> [ConflictEntry] {
            Array((image.conflicts[table] ?? []).filter { $0.id > afterID }.prefix(limit))
        }

        func residue(table: TableName) throws -> TableResidue {
            let items = Array((image.items[table] ?? [:]).values)
            let logEntries = image.logs.values.joined().filter { entry in
                if case .item(let record, _, _) = entry.payload { return record.name == table }
                return false
            }
            return TableResidue(items: items.count, bytes: items.reduce(0) { $0 + $1.key.bytes.count + ($1.value?.canonicalBytes.count ?? 0) },
                                logEntries: logEntries.count + (image.raftLogs[table.name]?.count ?? 0),
                                conflicts: (image.conflicts[table]?.count ?? 0) + (image.divergence[table]?.count ?? 0),
                                changes: image.changes.filter { $0.table == table && $0.isServed }.count)
        }

        func changes(table: TableName?, after sequence: UInt64, limit: Int) throws -> [ChangeRecord] {
            // Changes are ascending by sequence: find the first after `sequence` by binary search.
            var low = 0, high = image.changes.count
            while low < high {
                let middle = (low + high) / 2
                if image.changes[middle].sequence <= sequence { low = middle + 1 } else { high = middle }
            }
            guard let table else { return Array(image.changes[low...].prefix(limit)) }
            return Array(image.changes[low...].lazy.filter { $0.table == table && $0.isServed }.prefix(limit))
        }

        func changeBounds() throws -> ClosedRange<UInt64>? {
            guard let first = image.changes.first, let last = image.changes.last else { return nil }
            return first.sequence...last.sequence
        }

        func firstChange(table: TableName, notCoveredBy mark: ResolvedMark) throws -> ChangeRecord? {
            image.changes.first { $0.table == table && $0.isServed && !mark.covers($0) }
        }

        func appendChange(_ change: ChangeRecord) throws {
            precondition(change.sequence > (image.changes.last?.sequence ?? 0), "changes are appended in ascending sequence order")
            image.changes.append(change)
        }

        func truncateChanges(through sequence: UInt64) throws {
            let kept = image.changes.firstIndex { $0.sequence > sequence } ?? image.changes.count
            image.changes.removeFirst(kept)
        }

        func raftEntries(group: String, from index: UInt64, limit: Int) throws -> [StoredRaftEntry] {
            guard let log = image.raftLogs[group] else { return [] }
            return log.filter { $0.key >= index }.sorted { $0.key < $1.key }.prefix(limit).map { StoredRaftEntry(index: $0.key, bytes: $0.value) }
        }

        func divergence(table: TableName, afterID: Int64, limit: Int) throws -> [DivergenceEntry] {
            Array((image.divergence[table] ?? []).filter { $0.id > afterID }.prefix(limit))
        }

        func putRaftEntries(group: String, _ entries: [StoredRaftEntry]) throws {
            guard let first = entries.first else { return }
            for (offset, entry) in entries.enumerated() {
                precondition(entry.index == first.index + UInt64(offset), "Raft entries are stored consecutively")
            }
            var log = image.raftLogs[group] ?? [:]
            log = log.filter { $0.key < first.index }
            for entry in entries { log[entry.index] = entry.bytes }
            image.raftLogs[group] = log
        }

        func deleteRaftEntries(group: String, through index: UInt64) throws {
            image.raftLogs[group] = image.raftLogs[group]?.filter { $0.key > index }
            if image.raftLogs[group]?.isEmpty == true { image.raftLogs[group] = nil }
        }

        func appendDivergence(table: TableName, _ entry: DivergenceEntry) throws {
            var entry = entry
            entry.id = image.nextDivergenceID
            image.nextDivergenceID += 1
            image.divergence[table, default: []].append(entry)
        }

        func purgeTable(_ table: TableName) throws {
            for index in image.changes.indices where image.changes[index].table == table {
                image.changes[index].change = .withheld
            }
            image.items[table] = nil
            image.conflicts[table] = nil
            image.divergence[table] = nil
            for (origin, log) in image.logs {
                image.logs[origin] = log.map { entry in
                    guard case .item(let record, _, _) = entry.payload, record.name == table else { return entry }
                    var withheld = entry
                    withheld.payload = .withheld(table: table)
                    return withheld
                }
            }
        }

        func putCatalogRecord(_ record: CatalogRecord) throws { image.catalog[record.name] = record }

        func deleteItems(table: TableName, writtenBefore timestamp: HLCTimestamp) throws {
            image.items[table] = image.items[table]?.filter { $0.value.version.timestamp >= timestamp }
            image.conflicts[table] = image.conflicts[table]?.filter { $0.overwritten.winner.timestamp >= timestamp }
            image.divergence[table] = image.divergence[table]?.filter { $0.version.timestamp >= timestamp }
        }

        func putItem(table: TableName, _ item: StoredItem) throws { image.items[table, default: [:]][item.key] = item }

        func setMetadata(_ name: String, _ value: [UInt8]) throws { image.metadata[name] = value }

        func setApplied(origin: RegionID, sequence: UInt64) throws { image.applied[origin] = sequence }

        func appendLog(_ entry: LogEntry) throws {
            // Appended in place: a transaction may append hundreds of entries.
            guard let last = image.logs[entry.origin]?.last, last.sequence >= entry.sequence else {
                image.logs[entry.origin, default: []].append(entry)
                return
            }
            // Out of order or a duplicate: keep the log sorted and unique.
            guard image.logs[entry.origin]?.contains(where: { $0.sequence == entry.sequence }) == false else { return }
            image.logs[entry.origin, default: []].append(entry)
            image.logs[entry.origin]?.sort { $0.sequence < $1.sequence }
        }

        func truncateLog(origin: RegionID, through sequence: UInt64) throws {
            image.logs[origin]?.removeAll { $0.sequence <= sequence }
        }

        func appendConflict(table: TableName, _ entry: ConflictEntry) throws {
            var entry = entry
            entry.id = image.nextConflictID
            image.nextConflictID += 1
            image.conflicts[table, default: []].append(entry)
        }
    }
}
