import MeridianCore
import MeridianStorage
import Testing

@Suite("InMemoryStorage conformance")
struct InMemoryStorageConformanceTests {
    @Test(arguments: StorageConformance.cases)
    func conforms(_ check: StorageConformance.Case) throws {
        try check.run(makeStorage: { InMemoryStorage() })
    }
}

/// Proves the conformance suite can fail: each broken storage breaks one rule of the contract.
@Suite("StorageConformance catches broken storage")
struct StorageConformanceFailureTests {
    static func failingCaseNames(_ makeStorage: () -> any RegionStorage) -> Set<String> {
        var failing: Set<String> = []
        for check in StorageConformance.cases {
            do {
                try check.run(makeStorage: makeStorage)
            } catch is StorageConformance.Failure {
                failing.insert(check.name)
            } catch {
                Issue.record("case '\(check.name)' threw \(error), not a StorageConformance.Failure")
            }
        }
        return failing
    }

    @Test func scanInReverseOrderFailsTheOrderingCase() throws {
        let scansOrder = try #require(StorageConformance.cases.first { $0.name == "scans order keys by UTF-8 bytes" })
        #expect(throws: StorageConformance.Failure.self) {
            try scansOrder.run(makeStorage: { ReversedScanStorage() })
        }
        #expect(Self.failingCaseNames { ReversedScanStorage() }.contains("scans order keys by UTF-8 bytes"))
    }

    @Test func writeThatDoesNotRollBackFailsTheAtomicityCase() throws {
        let atomicity = try #require(StorageConformance.cases.first { $0.name == "a write that throws leaves nothing" })
        #expect(throws: StorageConformance.Failure.self) {
            try atomicity.run(makeStorage: { NonAtomicStorage() })
        }
        #expect(Self.failingCaseNames { NonAtomicStorage() } == ["a write that throws leaves nothing"])
    }
}

/// Storage whose scans return items in descending key order.
final class ReversedScanStorage: RegionStorage {
    let inner = InMemoryStorage()

    struct Reader: StorageReader {
        let base: any StorageReader
        func catalog() throws -> [CatalogRecord] { try base.catalog() }
        func item(table: TableName, key: Key) throws -> StoredItem? { try base.item(table: table, key: key) }
        func scan(table: TableName, range: ScanRange) throws -> [StoredItem] { try base.scan(table: table, range: range).reversed() }
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
    }

    func read<T>(_ body: (any StorageReader) throws -> T) throws -> T {
        try inner.read { try body(Reader(base: $0)) }
    }

    func write<T>(_ body: (any StorageWriter) throws -> T) throws -> T {
        try inner.write(body)
    }

    func reclaimSpace() throws {}
}

/// Storage whose write transactions apply each change at once, so a body that throws
/// leaves its earlier changes behind.
final class NonAtomicStorage: RegionStorage {
    let inner = InMemoryStorage()

    final class ImmediateWriter: StorageWriter {
        let storage: InMemoryStorage
        init(storage: InMemoryStorage) { self.storage = storage }

        func catalog() throws -> [CatalogRecord] { try storage.read { try $0.catalog() } }
        func item(table: TableName, key: Key) throws -> StoredItem? { try storage.read { try $0.item(table: table, key: key) } }
        func scan(table: TableName, range: ScanRange) throws -> [StoredItem] { try storage.read { try $0.scan(table: table, range: range) } }
        func tableSize(table: TableName) throws -> (items: Int, bytes: Int) { try storage.read { try $0.tableSize(table: table) } }
        func metadata(_ name: String) throws -> [UInt8]? { try storage.read { try $0.metadata(name) } }
        func appliedPositions() throws -> Positions { try storage.read { try $0.appliedPositions() } }
        func logEntries(origin: RegionID, after: UInt64, limit: Int) throws -> [LogEntry] { try storage.read { try $0.logEntries(origin: origin, after: after, limit: limit) } }
        func conflicts(table: TableName, afterID: Int64, limit: Int) throws -> [ConflictEntry] { try storage.read { try $0.conflicts(table: table, afterID: afterID, limit: limit) } }
        func residue(table: TableName) throws -> TableResidue { try storage.read { try $0.residue(table: table) } }
        func purgeTable(_ table: TableName) throws { try storage.write { try $0.purgeTable(table) } }

        func putCatalogRecord(_ record: CatalogRecord) throws { try storage.write { try $0.putCatalogRecord(record) } }
        func deleteItems(table: TableName, writtenBefore timestamp: HLCTimestamp) throws { try storage.write { try $0.deleteItems(table: table, writtenBefore: timestamp) } }
        func putItem(table: TableName, _ item: StoredItem) throws { try storage.write { try $0.putItem(table: table, item) } }
        func setMetadata(_ name: String, _ value: [UInt8]) throws { try storage.write { try $0.setMetadata(name, value) } }
        func setApplied(origin: RegionID, sequence: UInt64) throws { try storage.write { try $0.setApplied(origin: origin, sequence: sequence) } }
        func appendLog(_ entry: LogEntry) throws { try storage.write { try $0.appendLog(entry) } }
        func truncateLog(origin: RegionID, through sequence: UInt64) throws { try storage.write { try $0.truncateLog(origin: origin, through: sequence) } }
        func appendConflict(table: TableName, _ entry: ConflictEntry) throws { try storage.write { try $0.appendConflict(table: table, entry) } }
        func raftEntries(group: String, from index: UInt64, limit: Int) throws -> [StoredRaftEntry] { try storage.read { try $0.raftEntries(group: group, from: index, limit: limit) } }
        func divergence(table: TableName, afterID: Int64, limit: Int) throws -> [DivergenceEntry] { try storage.read { try $0.divergence(table: table, afterID: afterID, limit: limit) } }
        func putRaftEntries(group: String, _ entries: [StoredRaftEntry]) throws { try storage.write { try $0.putRaftEntries(group: group, entries) } }
        func deleteRaftEntries(group: String, through index: UInt64) throws { try storage.write { try $0.deleteRaftEntries(group: group, through: index) } }
        func appendDivergence(table: TableName, _ entry: DivergenceEntry) throws { try storage.write { try $0.appendDivergence(table: table, entry) } }
        func changes(table: TableName?, after sequence: UInt64, limit: Int) throws -> [ChangeRecord] { try storage.read { try $0.changes(table: table, after: sequence, limit: limit) } }
        func changeBounds() throws -> ClosedRange<UInt64>? { try storage.read { try $0.changeBounds() } }
        func firstChange(table: TableName, notCoveredBy mark: ResolvedMark) throws -> ChangeRecord? { try storage.read { try $0.firstChange(table: table, notCoveredBy: mark) } }
        func appendChange(_ change: ChangeRecord) throws { try storage.write { try $0.appendChange(change) } }
        func truncateChanges(through sequence: UInt64) throws { try storage.write { try $0.truncateChanges(through: sequence) } }
    }

    func read<T>(_ body: (any StorageReader) throws -> T) throws -> T {
        try inner.read(body)
    }

    func write<T>(_ body: (any StorageWriter) throws -> T) throws -> T {
        try body(ImmediateWriter(storage: inner))
    }

    func reclaimSpace() throws {}
}
