import MeridianCore
import MeridianStorage

/// A region's storage in the simulated world: an `InMemoryStorage`, plus the one thing
/// the simulator needs from a disk, which commits survive a power loss.
///
/// It keeps two images: the live one, the in-memory storage's own (every committed
/// transaction), and `durable`, what a power loss rolls back to. Under `SyncPolicy.full`
/// every commit advances `durable`; under `.normal` only `checkpoint()` does. A process
/// crash loses neither image: the simulator only discards the `Region` object above it.
public final class SimulatedStorage: RegionStorage {
    /// An item a committed transaction put, for the checkers that watch every change.
    public struct ItemWrite: Sendable, Equatable {
        public var table: TableName
        public var item: StoredItem

        public init(table: TableName, item: StoredItem) {
            self.table = table
            self.item = item
        }
    }

    /// Raft entries a committed transaction persisted for one group, for the checker of
    /// committed entries.
    public struct RaftWrite: Sendable, Equatable {
        public var group: String
        public var entries: [StoredRaftEntry]
    }

    public let syncPolicy: SyncPolicy
    /// The `skip-ledger` mutation: conflict rows are silently dropped. Set only by the
    /// simulator for a run that checks its checkers.
    let dropsConflictRows: Bool

    /// The storage proper; its image is the live one, what readers see.
    private let memory = InMemoryStorage()
    private var durable = InMemoryStorage.Image()
    /// Commits so far, never rolled back: a commit's number names it across a power loss.
    public private(set) var commitCount: UInt64 = 0
    /// The number of the last commit that is durable.
    public private(set) var durableCommitCount: UInt64 = 0
    /// Items put by commits not yet taken by `takeItemWrites()`, in commit order.
    private var pendingItemWrites: [ItemWrite] = []
    /// Raft entries persisted by commits not yet taken by `takeRaftWrites()`, in commit order.
    private var pendingRaftWrites: [RaftWrite] = []
    /// Changes recorded by commits not yet taken by `takeChangeWrites()`, in commit order.
    private var pendingChangeWrites: [ChangeRecord] = []

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
        try memory.read(body)
    }

    public func write<T>(_ body: (any StorageWriter) throws -> T) throws -> T {
        var itemWrites: [ItemWrite] = []
        var raftWrites: [RaftWrite] = []
        var changeWrites: [ChangeRecord] = []
        let result = try memory.write { writer in
            let recording = RecordingWriter(writer, dropsConflictRows: dropsConflictRows)
            let result = try body(recording)
            itemWrites = recording.itemWrites
            raftWrites = recording.raftWrites
            changeWrites = recording.changeWrites
            return result
        }
        commitCount += 1
        pendingItemWrites += itemWrites
        pendingRaftWrites += raftWrites
        pendingChangeWrites += changeWrites
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
        memory.image = durable
        pendingItemWrites = []
        pendingRaftWrites = []
        pendingChangeWrites = []
        return lost
    }

    /// The items committed transactions put since the last call, in commit order.
    public func takeItemWrites() -> [ItemWrite] {
        defer { pendingItemWrites = [] }
        return pendingItemWrites
    }

    /// The changes committed transactions recorded in the change feed since the last call, in commit order.
    public func takeChangeWrites() -> [ChangeRecord] {
        defer { pendingChangeWrites = [] }
        return pendingChangeWrites
    }

    /// The Raft entries committed transactions persisted since the last call, in commit order.
    public func takeRaftWrites() -> [RaftWrite] {
        defer { pendingRaftWrites = [] }
        return pendingRaftWrites
    }

    private func sync() {
        durable = memory.image
        durableCommitCount = commitCount
    }
}

extension SimulatedStorage {
    /// The in-memory transaction, passed through: it records the items and Raft entries put and, under the
    /// `skip-ledger` mutation, drops conflict rows.
    final class RecordingWriter: StorageWriter {
        let base: any StorageWriter
        let dropsConflictRows: Bool
        private(set) var itemWrites: [ItemWrite] = []
        private(set) var raftWrites: [RaftWrite] = []
        private(set) var changeWrites: [ChangeRecord] = []

        init(_ base: any StorageWriter, dropsConflictRows: Bool) {
            self.base = base
            self.dropsConflictRows = dropsConflictRows
        }

        func catalog() throws -> [CatalogRecord] { try base.catalog() }

        func item(table: TableName, key: Key) throws -> StoredItem? { try base.item(table: table, key: key) }

        func scan(table: TableName, range: ScanRange) throws -> [StoredItem] { try base.scan(table: table, range: range) }

        func tableSize(table: TableName) throws -> (items: Int, bytes: Int) { try base.tableSize(table: table) }

        func metadata(_ name: String) throws -> [UInt8]? { try base.metadata(name) }

        func appliedPositions() throws -> Positions { try base.appliedPositions() }

        func logEntries(origin: RegionID, after: UInt64, limit: Int) throws -> [LogEntry] {
            try base.logEntries(origin: origin, after: after, limit: limit)
        }

        func conflicts(table: TableName, afterID: Int64, limit: Int) throws -> [ConflictEntry] {
            try base.conflicts(table: table, afterID: afterID, limit: limit)
        }

        func residue(table: TableName) throws -> TableResidue { try base.residue(table: table) }

        func putCatalogRecord(_ record: CatalogRecord) throws { try base.putCatalogRecord(record) }

        func purgeTable(_ table: TableName) throws { try base.purgeTable(table) }

        func deleteItems(table: TableName, writtenBefore timestamp: HLCTimestamp) throws {
            try base.deleteItems(table: table, writtenBefore: timestamp)
        }

        func putItem(table: TableName, _ item: StoredItem) throws {
            try base.putItem(table: table, item)
            itemWrites.append(ItemWrite(table: table, item: item))
        }

        func setMetadata(_ name: String, _ value: [UInt8]) throws { try base.setMetadata(name, value) }

        func setApplied(origin: RegionID, sequence: UInt64) throws { try base.setApplied(origin: origin, sequence: sequence) }

        func appendLog(_ entry: LogEntry) throws { try base.appendLog(entry) }

        func truncateLog(origin: RegionID, through sequence: UInt64) throws {
            try base.truncateLog(origin: origin, through: sequence)
        }

        func raftEntries(group: String, from index: UInt64, limit: Int) throws -> [StoredRaftEntry] {
            try base.raftEntries(group: group, from: index, limit: limit)
        }

        func divergence(table: TableName, afterID: Int64, limit: Int) throws -> [DivergenceEntry] {
            try base.divergence(table: table, afterID: afterID, limit: limit)
        }

        func putRaftEntries(group: String, _ entries: [StoredRaftEntry]) throws {
            try base.putRaftEntries(group: group, entries)
            raftWrites.append(RaftWrite(group: group, entries: entries))
        }

        func deleteRaftEntries(group: String, through index: UInt64) throws { try base.deleteRaftEntries(group: group, through: index) }

        func appendDivergence(table: TableName, _ entry: DivergenceEntry) throws { try base.appendDivergence(table: table, entry) }

        func changes(table: TableName?, after sequence: UInt64, limit: Int) throws -> [ChangeRecord] {
            try base.changes(table: table, after: sequence, limit: limit)
        }

        func changeBounds() throws -> ClosedRange<UInt64>? { try base.changeBounds() }

        func firstChange(table: TableName, notCoveredBy mark: ResolvedMark) throws -> ChangeRecord? {
            try base.firstChange(table: table, notCoveredBy: mark)
        }

        func appendChange(_ change: ChangeRecord) throws {
            try base.appendChange(change)
            changeWrites.append(change)
        }

        func truncateChanges(through sequence: UInt64) throws { try base.truncateChanges(through: sequence) }
        func removeDamagedRows(table: TableName) throws -> Int { try base.removeDamagedRows(table: table) }

        func appendConflict(table: TableName, _ entry: ConflictEntry) throws {
            guard !dropsConflictRows else { return }
            try base.appendConflict(table: table, entry)
        }
    }
}
