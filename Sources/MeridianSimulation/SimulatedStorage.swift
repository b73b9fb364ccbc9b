import MeridianCore
import MeridianStorage

/// When a committed transaction becomes durable, as SQLite's `synchronous` setting decides
/// (docs/durability.md).
public enum SyncPolicy: String, Sendable, CaseIterable {
    /// Every commit is synced before it returns: nothing committed is ever lost.
    case full
    /// Commits reach the operating system at once but are synced only at checkpoints: a
    /// process crash loses nothing, a power loss loses the commits since the last checkpoint.
    case normal
}

/// A region's storage in the simulated world: the in-memory contract of `RegionStorage`,
/// plus the one thing the simulator needs from a disk, which commits survive a power loss.
///
/// It keeps two images: `live`, what readers see (every committed transaction), and
/// `durable`, what a power loss rolls back to. Under `SyncPolicy.full` every commit
/// advances `durable`; under `.normal` only `checkpoint()` does. A process crash loses
/// neither image: the simulator only discards the `Region` object above it.
public final class SimulatedStorage: RegionStorage {
    /// Everything the storage holds.
    struct Image {
        var catalog: [TableName: CatalogRecord] = [:]
        var items: [TableName: [Key: StoredItem]] = [:]
        var metadata: [String: [UInt8]] = [:]
        var applied = Positions()
        /// Per origin, entries in ascending sequence order.
        var logs: [RegionID: [LogEntry]] = [:]
        var conflicts: [TableName: [ConflictEntry]] = [:]
        var nextConflictID: Int64 = 1
    }

    /// An item a committed transaction put, for the checkers that watch every change.
    public struct ItemWrite: Sendable, Equatable {
        public var table: TableName
        public var item: StoredItem
    }

    public let syncPolicy: SyncPolicy
    /// The `skip-ledger` mutation: conflict rows are silently dropped. Set only by the
    /// simulator for a run that checks its checkers.
    let dropsConflictRows: Bool

    private var live = Image()
    private var durable = Image()
    /// Commits so far, never rolled back: a commit's number names it across a power loss.
    public private(set) var commitCount: UInt64 = 0
    /// The number of the last commit that is durable.
    public private(set) var durableCommitCount: UInt64 = 0
    /// Items put by commits not yet taken by `takeItemWrites()`, in commit order.
    private var pendingItemWrites: [ItemWrite] = []

    /// Makes empty storage with a sync policy.
    public init(syncPolicy: SyncPolicy) {
        self.syncPolicy = syncPolicy
        dropsConflictRows = false
    }

    init(syncPolicy: SyncPolicy, dropsConflictRows: Bool) {
        self.syncPolicy = syncPolicy
        self.dropsConflictRows = dropsConflictRows
    }

    public func read<T>(_ body: (any StorageReader) throws -> T) throws -> T {
        try body(Transaction(image: live, dropsConflictRows: dropsConflictRows))
    }

    public func write<T>(_ body: (any StorageWriter) throws -> T) throws -> T {
        let transaction = Transaction(image: live, dropsConflictRows: dropsConflictRows)
        let result = try body(transaction)
        live = transaction.image
        commitCount += 1
        pendingItemWrites += transaction.itemWrites
        if syncPolicy == .full { sync() }
        return result
    }

    /// Nothing to do: deleted data is gone from memory at once.
    public func reclaimSpace() throws {}

    /// A checkpoint: every commit so far becomes durable.
    public func checkpoint() { sync() }

    /// A power loss: the live image rolls back to the durable one. Returns the number of
    /// committed transactions lost.
    @discardableResult
    public func losePower() -> UInt64 {
        let lost = commitCount - durableCommitCount
        live = durable
        pendingItemWrites = []
        return lost
    }

    /// The items committed transactions put since the last call, in commit order.
    public func takeItemWrites() -> [ItemWrite] {
        defer { pendingItemWrites = [] }
        return pendingItemWrites
    }

    private func sync() {
        durable = live
        durableCommitCount = commitCount
    }
}

extension SimulatedStorage {
    /// One transaction on a copy of the live image, adopted only when the body returns.
    final class Transaction: StorageWriter {
        var image: Image
        var itemWrites: [ItemWrite] = []
        let dropsConflictRows: Bool

        init(image: Image, dropsConflictRows: Bool) {
            self.image = image
            self.dropsConflictRows = dropsConflictRows
        }

        func catalog() throws -> [CatalogRecord] {
            image.catalog.values.sorted { $0.name < $1.name }
        }

        func item(table: TableName, key: Key) throws -> StoredItem? {
            image.items[table]?[key]
        }

        func scan(table: TableName, range: ScanRange) throws -> [StoredItem] {
            guard let items = image.items[table] else { return [] }
            let matching = items.values.filter { range.contains($0.key) && (range.includeTombstones || !$0.isTombstone) }
            return Array(matching.sorted { $0.key < $1.key }.prefix(range.limit))
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
            let items = (image.items[table] ?? [:]).values
            let logEntries = image.logs.values.reduce(0) { count, log in
                count + log.filter { entry in
                    if case .item(let record, _, _) = entry.payload { return record.name == table }
                    return false
                }.count
            }
            return TableResidue(items: items.count, bytes: items.reduce(0) { $0 + $1.key.bytes.count + ($1.value?.canonicalBytes.count ?? 0) },
                                logEntries: logEntries, conflicts: image.conflicts[table]?.count ?? 0)
        }

        func putCatalogRecord(_ record: CatalogRecord) throws { image.catalog[record.name] = record }

        func purgeTable(_ table: TableName) throws {
            image.items[table] = nil
            image.conflicts[table] = nil
            for origin in image.logs.keys.sorted() {
                image.logs[origin] = image.logs[origin]?.map { entry in
                    guard case .item(let record, _, _) = entry.payload, record.name == table else { return entry }
                    var withheld = entry
                    withheld.payload = .withheld(table: table)
                    return withheld
                }
            }
        }

        func deleteItems(table: TableName, writtenBefore timestamp: HLCTimestamp) throws {
            image.items[table] = image.items[table]?.filter { $0.value.version.timestamp >= timestamp }
            image.conflicts[table] = image.conflicts[table]?.filter { $0.overwritten.winner.timestamp >= timestamp }
        }

        func putItem(table: TableName, _ item: StoredItem) throws {
            image.items[table, default: [:]][item.key] = item
            itemWrites.append(ItemWrite(table: table, item: item))
        }

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
            guard !dropsConflictRows else { return }
            var entry = entry
            entry.id = image.nextConflictID
            image.nextConflictID += 1
            image.conflicts[table, default: []].append(entry)
        }
    }
}
