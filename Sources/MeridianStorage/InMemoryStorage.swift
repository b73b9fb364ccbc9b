import MeridianCore

/// Storage held in memory: for tests and the simulator.
///
/// A write transaction works on a copy of the state and replaces the state only when
/// its body returns, so a body that throws leaves nothing behind.
public final class InMemoryStorage: RegionStorage {
    struct State {
        var catalog: [TableName: CatalogRecord] = [:]
        var items: [TableName: [Key: StoredItem]] = [:]
        var metadata: [String: [UInt8]] = [:]
        var applied = Positions()
        /// Per origin, entries in ascending sequence order.
        var logs: [RegionID: [LogEntry]] = [:]
        var conflicts: [TableName: [ConflictEntry]] = [:]
        var nextConflictID: Int64 = 1
    }

    private var state = State()

    /// Makes empty storage.
    public init() {}

    public func read<T>(_ body: (any StorageReader) throws -> T) throws -> T {
        try body(Transaction(state: state))
    }

    public func write<T>(_ body: (any StorageWriter) throws -> T) throws -> T {
        let transaction = Transaction(state: state)
        let result = try body(transaction)
        state = transaction.state
        return result
    }

    /// Nothing to do: deleted data is gone from memory at once.
    public func reclaimSpace() throws {}
}

extension InMemoryStorage {
    final class Transaction: StorageWriter {
        var state: State
        init(state: State) { self.state = state }

        func catalog() throws -> [CatalogRecord] {
            state.catalog.values.sorted { $0.name < $1.name }
        }

        func item(table: TableName, key: Key) throws -> StoredItem? {
            state.items[table]?[key]
        }

        func scan(table: TableName, range: ScanRange) throws -> [StoredItem] {
            guard let items = state.items[table] else { return [] }
            let matching = items.values.filter { range.contains($0.key) && (range.includeTombstones || !$0.isTombstone) }
            return Array(matching.sorted { $0.key < $1.key }.prefix(range.limit))
        }

        func tableSize(table: TableName) throws -> (items: Int, bytes: Int) {
            let live = (state.items[table] ?? [:]).values.filter { !$0.isTombstone }
            return (live.count, live.reduce(0) { $0 + $1.key.bytes.count + ($1.value?.canonicalBytes.count ?? 0) })
        }

        func metadata(_ name: String) throws -> [UInt8]? { state.metadata[name] }

        func appliedPositions() throws -> Positions { state.applied }

        func logEntries(origin: RegionID, after: UInt64, limit: Int) throws -> [LogEntry] {
            let log = state.logs[origin] ?? []
            // Entries are ascending by sequence: find the first after `after` by binary search.
            var low = 0, high = log.count
            while low < high {
                let middle = (low + high) / 2
                if log[middle].sequence <= after { low = middle + 1 } else { high = middle }
            }
            return Array(log[low...].prefix(limit))
        }

        func conflicts(table: TableName, afterID: Int64, limit: Int) throws -> [ConflictEntry] {
            Array((state.conflicts[table] ?? []).filter { $0.id > afterID }.prefix(limit))
        }

        func residue(table: TableName) throws -> TableResidue {
            let items = Array((state.items[table] ?? [:]).values)
            let logEntries = state.logs.values.joined().filter { entry in
                if case .item(let record, _, _) = entry.payload { return record.name == table }
                return false
            }
            return TableResidue(items: items.count, bytes: items.reduce(0) { $0 + $1.key.bytes.count + ($1.value?.canonicalBytes.count ?? 0) },
                                logEntries: logEntries.count, conflicts: state.conflicts[table]?.count ?? 0)
        }

        func purgeTable(_ table: TableName) throws {
            state.items[table] = nil
            state.conflicts[table] = nil
            for (origin, log) in state.logs {
                state.logs[origin] = log.map { entry in
                    guard case .item(let record, _, _) = entry.payload, record.name == table else { return entry }
                    var withheld = entry
                    withheld.payload = .withheld(table: table)
                    return withheld
                }
            }
        }

        func putCatalogRecord(_ record: CatalogRecord) throws { state.catalog[record.name] = record }

        func deleteItems(table: TableName, writtenBefore timestamp: HLCTimestamp) throws {
            state.items[table] = state.items[table]?.filter { $0.value.version.timestamp >= timestamp }
            state.conflicts[table] = state.conflicts[table]?.filter { $0.overwritten.winner.timestamp >= timestamp }
        }

        func putItem(table: TableName, _ item: StoredItem) throws { state.items[table, default: [:]][item.key] = item }

        func setMetadata(_ name: String, _ value: [UInt8]) throws { state.metadata[name] = value }

        func setApplied(origin: RegionID, sequence: UInt64) throws { state.applied[origin] = sequence }

        func appendLog(_ entry: LogEntry) throws {
            var log = state.logs[entry.origin] ?? []
            if let last = log.last, last.sequence >= entry.sequence {
                // Out of order or a duplicate: keep the log sorted and unique.
                if !log.contains(where: { $0.sequence == entry.sequence }) {
                    log.append(entry)
                    log.sort { $0.sequence < $1.sequence }
                }
            } else {
                log.append(entry)
            }
            state.logs[entry.origin] = log
        }

        func truncateLog(origin: RegionID, through sequence: UInt64) throws {
            state.logs[origin]?.removeAll { $0.sequence <= sequence }
        }

        func appendConflict(table: TableName, _ entry: ConflictEntry) throws {
            var entry = entry
            entry.id = state.nextConflictID
            state.nextConflictID += 1
            state.conflicts[table, default: []].append(entry)
        }
    }
}
