import Foundation
import MeridianCodec
import MeridianCore
import MeridianSQLite
import MeridianStorage
import MeridianWire
import GRDB
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

/// Every record is stored in the checksummed envelope; rows an earlier build wrote (the
/// unchecksummed binary rows of schema 3, the JSON rows before them) must still read, and a
/// row whose bytes changed must be refused, never read as another value.
@Suite("SQLiteStorage record formats")
struct SQLiteRecordFormatTests {
    static let record = ItemRecord(vector: VersionVector([SQLiteStorageTests.region: 2]), version: SQLiteStorageTests.item.version,
                                   root: .object(["total": .integer(42), "note": .string("é\n")]))
    static let entry = LogEntry(origin: SQLiteStorageTests.region, sequence: 1, timestamp: SQLiteStorageTests.item.version.timestamp,
                                payload: .item(table: SQLiteStorageTests.definition, key: SQLiteStorageTests.key, record: record))

    static func write(_ storage: SQLiteStorage) throws {
        try storage.write { writer in
            try writer.putCatalogRecord(SQLiteStorageTests.definition)
            try writer.putItem(table: SQLiteStorageTests.table, StoredItem(key: SQLiteStorageTests.key, record: record))
            try writer.appendLog(entry)
        }
    }

    static func expectReadsBack(_ storage: SQLiteStorage) throws {
        let item = try storage.read { try $0.item(table: SQLiteStorageTests.table, key: SQLiteStorageTests.key) }
        #expect(item?.record == record)
        #expect(item?.value == record.root)
        #expect(try storage.read { try $0.logEntries(origin: SQLiteStorageTests.region, after: 0, limit: 10) } == [entry])
    }

    @Test func newRowsAreEnvelopedAndReadBack() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("region.sqlite")
        do { try Self.write(try SQLiteStorage(path: path)) }
        let queue = try DatabaseQueue(path: path)
        let firstBytes = try queue.read { db in
            [try Data.fetchOne(db, sql: "SELECT record FROM items")?.first, try Data.fetchOne(db, sql: "SELECT entry FROM origin_log")?.first,
             try Data.fetchOne(db, sql: "SELECT record FROM catalog")?.first]
        }
        #expect(firstBytes == [StoredRecord.checksummedTag, StoredRecord.checksummedTag, StoredRecord.checksummedTag])
        try queue.close()
        try Self.expectReadsBack(try SQLiteStorage(path: path))
    }

    @Test func rowsWrittenAsJSONByAnEarlierBuildStillRead() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("region.sqlite")
        do { try Self.write(try SQLiteStorage(path: path)) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try db.execute(sql: "UPDATE items SET record = ?, checksum = NULL", arguments: [try encoder.encode(Self.record)])
            try db.execute(sql: "UPDATE origin_log SET entry = ?", arguments: [try encoder.encode(Self.entry)])
        }
        try queue.close()
        try Self.expectReadsBack(try SQLiteStorage(path: path))
    }

    @Test func binaryRowsOfSchemaThreeStillRead() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("region.sqlite")
        do { try Self.write(try SQLiteStorage(path: path)) }
        func legacy(_ value: some CanonicalCodable) -> Data {
            var writer = ByteWriter()
            writer.writeUInt8(StoredRecord.legacyBinaryTag)
            value.write(to: &writer)
            return Data(writer.bytes)
        }
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try db.execute(sql: "UPDATE items SET record = ?, checksum = NULL", arguments: [legacy(Self.record)])
            try db.execute(sql: "UPDATE origin_log SET entry = ?", arguments: [legacy(Self.entry)])
        }
        try queue.close()
        try Self.expectReadsBack(try SQLiteStorage(path: path))
    }

    @Test func aFlippedByteInAStoredRecordIsCaughtByItsChecksum() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("region.sqlite")
        do { try Self.write(try SQLiteStorage(path: path)) }
        let queue = try DatabaseQueue(path: path)
        // A byte of the value inside the record: still a well-formed record after the flip.
        let record = try queue.read { db in try #require(try Data.fetchOne(db, sql: "SELECT record FROM items")) }
        var flipped = Array(record)
        let position = try #require(flipped.firstIndex(of: "é".utf8.first!))
        flipped[position] ^= 0x01
        try queue.write { db in try db.execute(sql: "UPDATE items SET record = ?", arguments: [Data(flipped)]) }
        try queue.close()
        let storage = try SQLiteStorage(path: path)
        let error = #expect(throws: MeridianError.self) { try storage.read { try $0.item(table: SQLiteStorageTests.table, key: SQLiteStorageTests.key) } }
        #expect(error?.code == "corrupt_row")
        #expect(error?.message.contains("checksum") == true)
    }

    /// Issue 15, item 2: the value column sits outside any envelope; the row checksum
    /// covers it. A flipped value byte is refused on read, found by the integrity check and
    /// removed by a repair's first step, and rows of earlier schemas (no checksum) still read.
    @Test func aFlippedValueByteFailsTheRowChecksumAndARepairRemovesTheRow() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("region.sqlite")
        do { try Self.write(try SQLiteStorage(path: path)) }
        let queue = try DatabaseQueue(path: path)
        let value = try queue.read { db in try #require(try Data.fetchOne(db, sql: "SELECT value FROM items")) }
        var flipped = Array(value)
        flipped[flipped.count / 2] ^= 0x02
        try queue.write { db in try db.execute(sql: "UPDATE items SET value = ?", arguments: [Data(flipped)]) }
        try queue.close()
        let storage = try SQLiteStorage(path: path)
        let error = #expect(throws: MeridianError.self) { try storage.read { try $0.item(table: SQLiteStorageTests.table, key: SQLiteStorageTests.key) } }
        #expect(error?.code == "corrupt_row")
        #expect(error?.kind == .unavailable)
        #expect(throws: MeridianError.self) { try storage.read { try $0.scan(table: SQLiteStorageTests.table, range: ScanRange(limit: 10)) } }
        let problems = try storage.checkIntegrity(problemsMax: 10)
        #expect(problems.count == 1 && problems[0].contains("item"), "\(problems)")
        #expect(try storage.write { try $0.removeDamagedRows(table: SQLiteStorageTests.table) } == 1)
        #expect(try storage.read { try $0.item(table: SQLiteStorageTests.table, key: SQLiteStorageTests.key) } == nil)
        #expect(try storage.checkIntegrity(problemsMax: 10).isEmpty)
        #expect(try storage.write { try $0.removeDamagedRows(table: SQLiteStorageTests.table) } == 0)
    }

    @Test func aCorruptBinaryRowIsAnErrorNotATrap() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("region.sqlite")
        do { try Self.write(try SQLiteStorage(path: path)) }
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in try db.execute(sql: "UPDATE items SET record = ?, checksum = NULL", arguments: [Data([StoredRecord.legacyBinaryTag, 0xFF, 0x00])]) }
        try queue.close()
        let storage = try SQLiteStorage(path: path)
        let error = #expect(throws: MeridianError.self) { try storage.read { try $0.item(table: SQLiteStorageTests.table, key: SQLiteStorageTests.key) } }
        #expect(error?.code == "corrupt_row")
    }
}
