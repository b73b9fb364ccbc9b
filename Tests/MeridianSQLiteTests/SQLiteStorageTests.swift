import Foundation
import MeridianCore
import MeridianSQLite
import MeridianStorage
import Testing

/// A fresh temporary directory, removed by `remove()`.
struct TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-sqlite-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

@Suite("SQLiteStorage conformance")
struct SQLiteStorageConformanceTests {
    @Test(arguments: StorageConformance.cases)
    func conforms(_ check: StorageConformance.Case) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try check.run(makeStorage: { try SQLiteStorage(path: directory.path("region.sqlite")) })
    }
}

@Suite("SQLiteStorage")
struct SQLiteStorageTests {
    static let region = try! RegionID("us-east")
    static let table = try! TableName("orders")
    static let key = try! Key("order/1")
    static let item = StoredItem(
        key: key, value: .object(["total": .integer(42)]),
        version: ItemVersion(timestamp: HLCTimestamp(physicalMilliseconds: 1_700_000_000_000, logical: 3), origin: region))
    static let definition = CatalogRecord(
        name: table, definition: TableDefinition(name: table, mode: .multiPrimary, conflict: .merge, regions: [region]),
        version: ItemVersion(timestamp: HLCTimestamp(physicalMilliseconds: 5, logical: 0), origin: region), deletedBefore: .zero)

    /// The `sqlite3` command-line shell, when it is installed.
    static let sqlite3Path: String? = ["/usr/bin/sqlite3", "/usr/local/bin/sqlite3", "/opt/homebrew/bin/sqlite3"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    @Test func reopeningTheSameFileKeepsTablesItemsAndMetadata() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("region.sqlite")
        do {
            let storage = try SQLiteStorage(path: path)
            try storage.write { writer in
                try writer.putCatalogRecord(Self.definition)
                try writer.putItem(table: Self.table, Self.item)
                try writer.setMetadata(MetadataName.clockHighWater, UInt64(123_456).bigEndianBytes)
            }
        }
        let reopened = try SQLiteStorage(path: path)
        #expect(try reopened.read { try $0.catalog() } == [Self.definition])
        #expect(try reopened.read { try $0.item(table: Self.table, key: Self.key) } == Self.item)
        #expect(try reopened.read { try $0.metadata(MetadataName.clockHighWater) } == UInt64(123_456).bigEndianBytes)
    }

    @Test func openedDatabaseIsInWALMode() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let storage = try SQLiteStorage(path: directory.path("region.sqlite"))
        #expect(try storage.journalMode() == "wal")
    }

    @Test func storedSchemaVersionIsTheCurrentOne() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let storage = try SQLiteStorage(path: directory.path("region.sqlite"))
        #expect(try storage.storedSchemaVersion() == SQLiteStorage.schemaVersion)
    }

    @Test(arguments: SyncPolicy.allCases)
    func bothSyncPoliciesOpenAndCommit(_ policy: SyncPolicy) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let storage = try SQLiteStorage(path: directory.path("region.sqlite"), syncPolicy: policy)
        try storage.write { try $0.putCatalogRecord(Self.definition) }
        #expect(try storage.read { try $0.catalog() } == [Self.definition])
    }

    @Test(.enabled(if: sqlite3Path != nil, "the sqlite3 command-line shell is not installed"))
    func databaseWithAnUnknownNewerMigrationIsRefused() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("region.sqlite")
        do {
            let storage = try SQLiteStorage(path: path)
            try storage.write { try $0.putCatalogRecord(Self.definition) }
        }

        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: try #require(Self.sqlite3Path))
        shell.arguments = [path, "INSERT INTO grdb_migrations (identifier) VALUES ('v2: from a newer Meridian');"]
        try shell.run()
        shell.waitUntilExit()
        try #require(shell.terminationStatus == 0, "sqlite3 could not add the migration row")

        let error = #expect(throws: MeridianError.self) { try SQLiteStorage(path: path) }
        #expect(error?.code == "schema_too_new")
    }
}
