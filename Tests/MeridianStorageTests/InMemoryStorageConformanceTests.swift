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
        func tables() throws -> [TableDefinition] { try base.tables() }
        func item(table: TableName, key: Key) throws -> StoredItem? { try base.item(table: table, key: key) }
        func scan(table: TableName, range: ScanRange) throws -> [StoredItem] { try base.scan(table: table, range: range).reversed() }
        func tableSize(table: TableName) throws -> (items: Int, bytes: Int) { try base.tableSize(table: table) }
        func metadata(_ name: String) throws -> [UInt8]? { try base.metadata(name) }
    }

    func read<T>(_ body: (any StorageReader) throws -> T) throws -> T {
        try inner.read { try body(Reader(base: $0)) }
    }

    func write<T>(_ body: (any StorageWriter) throws -> T) throws -> T {
        try inner.write(body)
    }
}

/// Storage whose write transactions apply each change at once, so a body that throws
/// leaves its earlier changes behind.
final class NonAtomicStorage: RegionStorage {
    let inner = InMemoryStorage()

    final class ImmediateWriter: StorageWriter {
        let storage: InMemoryStorage
        init(storage: InMemoryStorage) { self.storage = storage }

        func tables() throws -> [TableDefinition] { try storage.read { try $0.tables() } }
        func item(table: TableName, key: Key) throws -> StoredItem? { try storage.read { try $0.item(table: table, key: key) } }
        func scan(table: TableName, range: ScanRange) throws -> [StoredItem] { try storage.read { try $0.scan(table: table, range: range) } }
        func tableSize(table: TableName) throws -> (items: Int, bytes: Int) { try storage.read { try $0.tableSize(table: table) } }
        func metadata(_ name: String) throws -> [UInt8]? { try storage.read { try $0.metadata(name) } }

        func putTable(_ definition: TableDefinition) throws { try storage.write { try $0.putTable(definition) } }
        func deleteTable(_ name: TableName) throws { try storage.write { try $0.deleteTable(name) } }
        func putItem(table: TableName, _ item: StoredItem) throws { try storage.write { try $0.putItem(table: table, item) } }
        func setMetadata(_ name: String, _ value: [UInt8]) throws { try storage.write { try $0.setMetadata(name, value) } }
    }

    func read<T>(_ body: (any StorageReader) throws -> T) throws -> T {
        try inner.read(body)
    }

    func write<T>(_ body: (any StorageWriter) throws -> T) throws -> T {
        try body(ImmediateWriter(storage: inner))
    }
}
