// MeridianSQLite owns the SQLite implementation of `RegionStorage`, through GRDB: the
// schema and its migrations, WAL mode and the sync policy that decides what an
// acknowledged write survives. It is the only target that links SQLite.

import Foundation
import GRDB
import MeridianCore
import MeridianCodec
import MeridianStorage

/// Runs passive WAL checkpoints on its own connection and thread every
/// `intervalMilliseconds`, until it is released.
final class Checkpointer: @unchecked Sendable {
    /// How often the WAL is copied into the database, in milliseconds.
    static let intervalMilliseconds = 100

    private let queue: DatabaseQueue
    private let condition = NSCondition()
    private var stopped = false
    /// Held around each background checkpoint, and by `exclusively`, so that a truncating
    /// checkpoint never finds this one running (SQLite would answer it `SQLITE_BUSY`).
    private let checkpointLock = NSLock()

    init(path: String, syncPolicy: SyncPolicy) throws {
        var configuration = Configuration()
        configuration.label = "meridian-checkpoint"
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(syncPolicy == .full ? "FULL" : "NORMAL")")
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 0")
        }
        queue = try DatabaseQueue(path: path, configuration: configuration)
        let thread = Thread { [weak self] in
            while let self, self.waitForNextRound() {
                // A passive checkpoint never blocks writers; a busy database is tried again next round.
                self.checkpointLock.withLock {
                    try? self.queue.writeWithoutTransaction { db in _ = try db.checkpoint(.passive) }
                }
            }
        }
        thread.name = "meridian-checkpoint"
        thread.start()
    }

    /// Runs `body` while no background checkpoint runs.
    func exclusively<T>(_ body: () throws -> T) rethrows -> T {
        try checkpointLock.withLock(body)
    }

    /// Sleeps one interval; false once stopped.
    private func waitForNextRound() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        if !stopped { _ = condition.wait(until: Date().addingTimeInterval(Double(Self.intervalMilliseconds) / 1000)) }
        return !stopped
    }

    deinit {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }
}

/// A region's storage in one SQLite database in WAL mode.
public final class SQLiteStorage: RegionStorage {
    /// The schema version this build writes and understands.
    public static let schemaVersion = 6

    private let pool: DatabasePool
    /// A second connection that copies the WAL into the database in the background. SQLite's
    /// automatic checkpoint still runs in the commit that crosses its threshold (that is what
    /// lets the WAL restart from its beginning), but finds the frames already copied and
    /// synced, so it no longer stalls that write for milliseconds.
    private let checkpointer: Checkpointer

    /// Opens (creating and migrating as needed) the database at `path`.
    ///
    /// - Throws: when the file cannot be opened, or was written by a newer Meridian whose
    ///   schema this build does not know.
    public init(path: String, syncPolicy: SyncPolicy = .full) throws {
        var configuration = Configuration()
        configuration.label = "meridian"
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(syncPolicy == .full ? "FULL" : "NORMAL")")
            // Deleted content is overwritten with zeros, so a table removed from a region
            // leaves none of its bytes in free pages (data residency).
            try db.execute(sql: "PRAGMA secure_delete = ON")
        }
        pool = try DatabasePool(path: path, configuration: configuration)
        try pool.write { db in
            if try Self.migrator.hasBeenSuperseded(db) {
                throw MeridianError(.internalError, code: "schema_too_new",
                    "the database at \(path) was written by a newer Meridian (schema newer than \(Self.schemaVersion)); refusing to open it")
            }
        }
        try Self.migrator.migrate(pool)
        checkpointer = try Checkpointer(path: path, syncPolicy: syncPolicy)
    }

    /// The schema version recorded in the file (`PRAGMA user_version`).
    public func storedSchemaVersion() throws -> Int {
        try pool.read { db in try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0 }
    }

    /// The journal mode in force (`wal` after opening).
    public func journalMode() throws -> String {
        try pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" }
    }

    /// The schema, one migration per version. Never edit a shipped migration: add one.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: catalog, items, origin log, applied positions, conflict ledger, metadata") { db in
            try db.execute(sql: """
                CREATE TABLE meta (name TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL) WITHOUT ROWID;
                CREATE TABLE catalog (name TEXT PRIMARY KEY NOT NULL, record BLOB NOT NULL) WITHOUT ROWID;
                CREATE TABLE items (
                    table_name TEXT NOT NULL,
                    key BLOB NOT NULL,
                    value BLOB,
                    hlc INTEGER NOT NULL,
                    origin TEXT NOT NULL,
                    record BLOB,
                    PRIMARY KEY (table_name, key)
                ) WITHOUT ROWID;
                CREATE TABLE origin_log (
                    origin TEXT NOT NULL,
                    sequence INTEGER NOT NULL,
                    table_name TEXT,
                    holds_data INTEGER NOT NULL,
                    entry BLOB NOT NULL,
                    PRIMARY KEY (origin, sequence)
                ) WITHOUT ROWID;
                CREATE INDEX origin_log_by_table ON origin_log (table_name) WHERE holds_data = 1;
                CREATE TABLE applied (origin TEXT PRIMARY KEY NOT NULL, sequence INTEGER NOT NULL) WITHOUT ROWID;
                CREATE TABLE conflicts (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    table_name TEXT NOT NULL,
                    hlc INTEGER NOT NULL,
                    entry BLOB NOT NULL
                );
                CREATE INDEX conflicts_by_table ON conflicts (table_name, id);
                PRAGMA user_version = 1;
                """)
        }
        migrator.registerMigration("v2: Raft logs, divergence ledger") { db in
            try db.execute(sql: """
                CREATE TABLE raft_log (
                    group_name TEXT NOT NULL,
                    log_index INTEGER NOT NULL,
                    entry BLOB NOT NULL,
                    PRIMARY KEY (group_name, log_index)
                ) WITHOUT ROWID;
                CREATE TABLE divergence (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    table_name TEXT NOT NULL,
                    hlc INTEGER NOT NULL,
                    entry BLOB NOT NULL
                );
                CREATE INDEX divergence_by_table ON divergence (table_name, id);
                PRAGMA user_version = 2;
                """)
        }
        // No table changes: from here on origin-log entries and item records may be stored
        // binary (`StoredRecords`), which a build of schema 2 cannot read. The migration
        // makes such a build refuse the file (`schema_too_new`) instead of failing on rows.
        migrator.registerMigration("v3: binary origin-log entries and item records") { db in
            try db.execute(sql: "PRAGMA user_version = 3")
        }
        // No table changes: from here on every record (origin-log entries, item records,
        // catalog and ledger rows, Raft state) is written in `StoredRecord`'s checksummed
        // envelope, which a build of schema 3 cannot read. Rows of earlier schemas still read.
        migrator.registerMigration("v4: checksummed records") { db in
            try db.execute(sql: "PRAGMA user_version = 4")
        }
        // The change feed (docs/changefeed.md): one row per change, in the region's apply
        // order. `kind` is 0 for an item (key, value, hlc, origin, record as in `items`), 1
        // for a cleared table (hlc: the deletion's timestamp), 2 for a withheld change.
        migrator.registerMigration("v5: change feed") { db in
            try db.execute(sql: """
                CREATE TABLE changes (
                    sequence INTEGER PRIMARY KEY NOT NULL,
                    table_name TEXT NOT NULL,
                    kind INTEGER NOT NULL,
                    key BLOB,
                    value BLOB,
                    hlc INTEGER NOT NULL,
                    origin TEXT,
                    record BLOB,
                    conflict INTEGER NOT NULL,
                    applied_at INTEGER NOT NULL,
                    raft_index INTEGER NOT NULL
                );
                CREATE INDEX changes_by_table ON changes (table_name, sequence);
                PRAGMA user_version = 5;
                """)
        }
        // Items and changes keep their key and value in columns of their own (for key order
        // and for scans that need no decoding), outside any checksummed envelope: a
        // CRC-32C of the row's bytes (`rowChecksum`) now covers them, verified on every
        // read. Rows written before have none (NULL) and read as before.
        migrator.registerMigration("v6: row checksums on items and changes") { db in
            try db.execute(sql: """
                ALTER TABLE items ADD COLUMN checksum INTEGER;
                ALTER TABLE changes ADD COLUMN checksum INTEGER;
                PRAGMA user_version = 6;
                """)
        }
        return migrator
    }

    public func read<T>(_ body: (any StorageReader) throws -> T) throws -> T {
        try Self.namingCorruption { try pool.read { db in try body(Connection(db: db)) } }
    }

    public func write<T>(_ body: (any StorageWriter) throws -> T) throws -> T {
        try Self.namingCorruption { try pool.write { db in try body(Connection(db: db)) } }
    }

    /// Runs `body`; SQLite's own finding that the file is damaged (a b-tree page that does
    /// not parse) becomes `corrupt_database`, which the node reports loudly.
    static func namingCorruption<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CORRUPT || error.resultCode == .SQLITE_NOTADB {
            throw MeridianError(.unavailable, code: "corrupt_database",
                "the region's database file is damaged (\(error.message ?? "SQLITE_CORRUPT")): stop the region, move its data directory aside and start it again to re-copy everything from the other regions (docs/operations.md)")
        }
    }

    /// SQLite's `quick_check` of the file's structure, then every item and change row
    /// against its checksum and every enveloped record (catalog, origin log, conflict and
    /// divergence ledgers, Raft log) against its own; rows are read through cursors, so
    /// memory stays flat whatever the size of the data.
    public func checkIntegrity(problemsMax: Int) throws -> [String] {
        try Self.namingCorruption {
            try pool.read { db in
                var problems: [String] = []
                for row in try String.fetchAll(db, sql: "PRAGMA quick_check(\(max(1, problemsMax)))") where row != "ok" {
                    problems.append("the database file's structure is damaged: \(row)")
                }
                let connection = Connection(db: db)
                try connection.collectDamage("SELECT table_name || '/' || CAST(key AS TEXT), \(Connection.itemColumns) FROM items", what: "item",
                                             into: &problems, problemsMax: problemsMax) { _ = try Connection.item(from: $0) }
                try connection.collectDamage("SELECT sequence, \(Connection.changeColumns) FROM changes", what: "change",
                                             into: &problems, problemsMax: problemsMax) { _ = try Connection.change(from: $0) }
                try connection.collectDamage("SELECT name, record FROM catalog", what: "catalog record",
                                             into: &problems, problemsMax: problemsMax) { _ = try Connection.decodeRow(CatalogRecord.self, $0["record"]) }
                try connection.collectDamage("SELECT origin || '/' || sequence, entry FROM origin_log", what: "log entry",
                                             into: &problems, problemsMax: problemsMax) { _ = try Connection.decodeLogEntry($0["entry"]) }
                try connection.collectDamage("SELECT table_name || '/' || id, entry FROM conflicts", what: "conflict ledger row",
                                             into: &problems, problemsMax: problemsMax) { _ = try Connection.decodeRow(ConflictEntry.self, $0["entry"]) }
                try connection.collectDamage("SELECT table_name || '/' || id, entry FROM divergence", what: "divergence ledger row",
                                             into: &problems, problemsMax: problemsMax) { _ = try Connection.decodeRow(DivergenceEntry.self, $0["entry"]) }
                try connection.collectDamage("SELECT group_name || '/' || log_index, entry FROM raft_log", what: "Raft log entry",
                                             into: &problems, problemsMax: problemsMax) { row in
                    let bytes: Data = row["entry"]
                    // Entries of earlier schemas carry no envelope; enveloped ones must verify.
                    if StoredRecord.isEnveloped(bytes) { _ = try StoredRecord.verified(Array(bytes)) }
                }
                return problems
            }
        }
    }

    /// Throws `SQLITE_BUSY` when a reader still holds an older snapshot; the region keeps
    /// the reclaim pending and tries again in its next step.
    public func reclaimSpace() throws {
        try checkpointer.exclusively {
            try pool.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
        }
    }
}

extension SQLiteStorage {
    /// Reads and writes through one GRDB connection inside a transaction.
    struct Connection: StorageWriter {
        let db: Database

        func catalog() throws -> [CatalogRecord] {
            try Data.fetchAll(db.cachedStatement(sql: "SELECT record FROM catalog ORDER BY name")).map { try Self.decodeRow(CatalogRecord.self, $0) }
        }

        func item(table: TableName, key: Key) throws -> StoredItem? {
            try Row.fetchOne(db.cachedStatement(sql: "SELECT \(Self.itemColumns) FROM items WHERE table_name = ? AND key = ?"),
                             arguments: [table.name, Data(key.bytes)]).map(Self.item(from:))
        }

        func scan(table: TableName, range: ScanRange) throws -> [StoredItem] {
            var conditions = ["table_name = ?"]
            var arguments: StatementArguments = [table.name]
            if !range.prefix.isEmpty {
                conditions.append("key >= ?")
                arguments += [Data(range.prefix)]
                if let upperBound = Self.prefixUpperBound(range.prefix) {
                    conditions.append("key < ?")
                    arguments += [Data(upperBound)]
                }
            }
            for (bound, comparison) in [(range.startAfter, ">"), (range.startAt, ">="), (range.endBefore, "<"), (range.endAt, "<=")] {
                guard let bound else { continue }
                conditions.append("key \(comparison) ?")
                arguments += [Data(bound.bytes)]
            }
            if !range.includeTombstones { conditions.append("value IS NOT NULL") }
            arguments += [range.limit]
            let order = range.reverse ? "DESC" : "ASC"
            let sql = "SELECT \(Self.itemColumns) FROM items WHERE \(conditions.joined(separator: " AND ")) ORDER BY key \(order) LIMIT ?"
            return try Row.fetchAll(db.cachedStatement(sql: sql), arguments: arguments).map(Self.item(from:))
        }

        func tableSize(table: TableName) throws -> (items: Int, bytes: Int) {
            let row = try Row.fetchOne(db, sql: """
                SELECT count(*) AS items, coalesce(sum(length(key) + length(value)), 0) AS bytes
                FROM items WHERE table_name = ? AND value IS NOT NULL
                """, arguments: [table.name])
            return (row?["items"] ?? 0, row?["bytes"] ?? 0)
        }

        func metadata(_ name: String) throws -> [UInt8]? {
            try Data.fetchOne(db.cachedStatement(sql: "SELECT value FROM meta WHERE name = ?"), arguments: [name]).map { Array($0) }
        }

        func appliedPositions() throws -> Positions {
            var positions = Positions()
            for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT origin, sequence FROM applied")) {
                positions[try RegionID(row["origin"])] = UInt64(bitPattern: row["sequence"])
            }
            return positions
        }

        func logEntries(origin: RegionID, after: UInt64, limit: Int) throws -> [LogEntry] {
            try Data.fetchAll(db.cachedStatement(sql: "SELECT entry FROM origin_log WHERE origin = ? AND sequence > ? ORDER BY sequence LIMIT ?"),
                              arguments: [origin.name, Int64(bitPattern: after), limit]).map { try Self.decodeLogEntry($0) }
        }

        func conflicts(table: TableName, afterID: Int64, limit: Int) throws -> [ConflictEntry] {
            try Row.fetchAll(db.cachedStatement(sql: "SELECT id, entry FROM conflicts WHERE table_name = ? AND id > ? ORDER BY id LIMIT ?"),
                             arguments: [table.name, afterID, limit]).map { row in
                var entry = try Self.decodeRow(ConflictEntry.self, row["entry"])
                entry.id = row["id"]
                return entry
            }
        }

        func putCatalogRecord(_ record: CatalogRecord) throws {
            try db.cachedStatement(sql: "INSERT OR REPLACE INTO catalog (name, record) VALUES (?, ?)").execute(arguments: [record.name.name, Data(StoredRecord.encode(record))])
        }

        func deleteItems(table: TableName, writtenBefore timestamp: HLCTimestamp) throws {
            let bound = Int64(bitPattern: timestamp.rawValue)
            try db.cachedStatement(sql: "DELETE FROM items WHERE table_name = ? AND hlc < ?").execute(arguments: [table.name, bound])
            try db.cachedStatement(sql: "DELETE FROM conflicts WHERE table_name = ? AND hlc < ?").execute(arguments: [table.name, bound])
            try db.cachedStatement(sql: "DELETE FROM divergence WHERE table_name = ? AND hlc < ?").execute(arguments: [table.name, bound])
        }

        func setApplied(origin: RegionID, sequence: UInt64) throws {
            try db.cachedStatement(sql: "INSERT OR REPLACE INTO applied (origin, sequence) VALUES (?, ?)").execute(arguments: [origin.name, Int64(bitPattern: sequence)])
        }

        func appendLog(_ entry: LogEntry) throws {
            let (table, holdsData) = Self.tableAndData(of: entry)
            try db.cachedStatement(sql: "INSERT OR IGNORE INTO origin_log (origin, sequence, table_name, holds_data, entry) VALUES (?, ?, ?, ?, ?)").execute(
                           arguments: [entry.origin.name, Int64(bitPattern: entry.sequence), table?.name, holdsData, Data(StoredRecord.encode(entry))])
        }

        /// The table an entry belongs to, and whether it carries that table's keys and values.
        static func tableAndData(of entry: LogEntry) -> (TableName?, Bool) {
            switch entry.payload {
            case .item(let record, _, _): return (record.name, true)
            case .withheld(let table): return (table, false)
            case .catalog: return (nil, false)
            }
        }

        func residue(table: TableName) throws -> TableResidue {
            let items = try Row.fetchOne(db, sql: """
                SELECT count(*) AS items, coalesce(sum(length(key) + coalesce(length(value), 0)), 0) AS bytes
                FROM items WHERE table_name = ?
                """, arguments: [table.name])
            let logEntries = try Int.fetchOne(db.cachedStatement(sql: "SELECT count(*) FROM origin_log WHERE table_name = ? AND holds_data = 1"), arguments: [table.name]) ?? 0
            let raftEntries = try Int.fetchOne(db.cachedStatement(sql: "SELECT count(*) FROM raft_log WHERE group_name = ?"), arguments: [table.name]) ?? 0
            let conflicts = try Int.fetchOne(db.cachedStatement(sql: "SELECT count(*) FROM conflicts WHERE table_name = ?"), arguments: [table.name]) ?? 0
            let divergence = try Int.fetchOne(db.cachedStatement(sql: "SELECT count(*) FROM divergence WHERE table_name = ?"), arguments: [table.name]) ?? 0
            let changes = try Int.fetchOne(db.cachedStatement(sql: "SELECT count(*) FROM changes WHERE table_name = ? AND kind != 2"), arguments: [table.name]) ?? 0
            return TableResidue(items: items?["items"] ?? 0, bytes: items?["bytes"] ?? 0, logEntries: logEntries + raftEntries,
                                conflicts: conflicts + divergence, changes: changes)
        }

        static let changeColumns = "sequence, table_name, kind, key, value, hlc, origin, record, conflict, applied_at, raft_index, checksum"
        static let itemColumns = "key, value, hlc, origin, record, checksum"

        func changes(table: TableName?, after sequence: UInt64, limit: Int) throws -> [ChangeRecord] {
            if let table {
                return try Row.fetchAll(db.cachedStatement(sql: "SELECT \(Self.changeColumns) FROM changes WHERE table_name = ? AND sequence > ? AND kind != 2 ORDER BY sequence LIMIT ?"),
                                        arguments: [table.name, Int64(bitPattern: sequence), limit]).map(Self.change(from:))
            }
            return try Row.fetchAll(db.cachedStatement(sql: "SELECT \(Self.changeColumns) FROM changes WHERE sequence > ? ORDER BY sequence LIMIT ?"),
                                    arguments: [Int64(bitPattern: sequence), limit]).map(Self.change(from:))
        }

        func changeBounds() throws -> ClosedRange<UInt64>? {
            guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT min(sequence) AS first, max(sequence) AS last FROM changes")),
                  let first: Int64 = row["first"], let last: Int64 = row["last"] else { return nil }
            return UInt64(bitPattern: first)...UInt64(bitPattern: last)
        }

        func firstChange(table: TableName, notCoveredBy mark: ResolvedMark) throws -> ChangeRecord? {
            let condition: String
            let bound: Int64
            switch mark {
            case .timestamp(let timestamp): (condition, bound) = ("hlc > ?", Int64(bitPattern: timestamp.rawValue))
            case .raftIndex(let index): (condition, bound) = ("raft_index > ?", Int64(bitPattern: index))
            }
            // HLC values are compared as signed integers in SQL: every timestamp a region
            // issues is below 2^63 (48 bits of milliseconds), so the order is the same.
            return try Row.fetchOne(db.cachedStatement(sql: "SELECT \(Self.changeColumns) FROM changes WHERE table_name = ? AND kind != 2 AND \(condition) ORDER BY sequence LIMIT 1"),
                                    arguments: [table.name, bound]).map(Self.change(from:))
        }

        func appendChange(_ change: ChangeRecord) throws {
            var kind = 0
            var item: StoredItem?
            switch change.change {
            case .item(let stored): item = stored
            case .tableCleared: kind = 1
            case .withheld: kind = 2
            }
            let columns = item.map(ItemColumns.init)
            try db.cachedStatement(sql: "INSERT INTO changes (\(Self.changeColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)").execute(arguments: [
                Int64(bitPattern: change.sequence), change.table.name, kind, columns?.key, columns?.value,
                Int64(bitPattern: change.timestamp.rawValue), item?.version.origin.name, columns?.record,
                change.conflict, Int64(bitPattern: change.appliedAtMilliseconds), Int64(bitPattern: change.raftIndex), columns?.checksum,
            ])
        }

        func truncateChanges(through sequence: UInt64) throws {
            try db.cachedStatement(sql: "DELETE FROM changes WHERE sequence <= ?").execute(arguments: [Int64(bitPattern: sequence)])
        }

        static func change(from row: Row) throws -> ChangeRecord {
            let sequence: Int64 = row["sequence"]
            let kind: Int = row["kind"]
            let hlc: Int64 = row["hlc"]
            let appliedAt: Int64 = row["applied_at"]
            let raftIndex: Int64 = row["raft_index"]
            let change: ChangeRecord.Change
            switch kind {
            case 0: change = .item(try item(from: row))
            case 1: change = .tableCleared(HLCTimestamp(rawValue: UInt64(bitPattern: hlc)))
            case 2: change = .withheld
            default: throw MeridianError(.internalError, code: "corrupt_row", "a stored change has kind \(kind); the row is damaged")
            }
            return ChangeRecord(sequence: UInt64(bitPattern: sequence), table: try TableName(row["table_name"]), change: change,
                                conflict: row["conflict"], appliedAtMilliseconds: UInt64(bitPattern: appliedAt), raftIndex: UInt64(bitPattern: raftIndex))
        }

        func raftEntries(group: String, from index: UInt64, limit: Int) throws -> [StoredRaftEntry] {
            try Row.fetchAll(db.cachedStatement(sql: "SELECT log_index, entry FROM raft_log WHERE group_name = ? AND log_index >= ? ORDER BY log_index LIMIT ?"),
                             arguments: [group, Int64(bitPattern: index), limit]).map { row in
                let stored: Int64 = row["log_index"]
                let bytes: Data = row["entry"]
                return StoredRaftEntry(index: UInt64(bitPattern: stored), bytes: Array(bytes))
            }
        }

        func divergence(table: TableName, afterID: Int64, limit: Int) throws -> [DivergenceEntry] {
            try Row.fetchAll(db.cachedStatement(sql: "SELECT id, entry FROM divergence WHERE table_name = ? AND id > ? ORDER BY id LIMIT ?"),
                             arguments: [table.name, afterID, limit]).map { row in
                var entry = try Self.decodeRow(DivergenceEntry.self, row["entry"])
                entry.id = row["id"]
                return entry
            }
        }

        func putRaftEntries(group: String, _ entries: [StoredRaftEntry]) throws {
            guard let first = entries.first else { return }
            try db.cachedStatement(sql: "DELETE FROM raft_log WHERE group_name = ? AND log_index >= ?").execute(arguments: [group, Int64(bitPattern: first.index)])
            let statement = try db.cachedStatement(sql: "INSERT INTO raft_log (group_name, log_index, entry) VALUES (?, ?, ?)")
            for (offset, entry) in entries.enumerated() {
                precondition(entry.index == first.index + UInt64(offset), "Raft entries are stored consecutively")
                try statement.execute(arguments: [group, Int64(bitPattern: entry.index), Data(entry.bytes)])
            }
        }

        func deleteRaftEntries(group: String, through index: UInt64) throws {
            if index == .max {
                try db.cachedStatement(sql: "DELETE FROM raft_log WHERE group_name = ?").execute(arguments: [group])
            } else {
                try db.cachedStatement(sql: "DELETE FROM raft_log WHERE group_name = ? AND log_index <= ?").execute(arguments: [group, Int64(bitPattern: index)])
            }
        }

        func appendDivergence(table: TableName, _ entry: DivergenceEntry) throws {
            try db.cachedStatement(sql: "INSERT INTO divergence (table_name, hlc, entry) VALUES (?, ?, ?)").execute(
                           arguments: [table.name, Int64(bitPattern: entry.version.timestamp.rawValue), Data(StoredRecord.encode(entry))])
        }

        func purgeTable(_ table: TableName) throws {
            try db.cachedStatement(sql: "UPDATE changes SET kind = 2, key = NULL, value = NULL, origin = NULL, record = NULL WHERE table_name = ? AND kind != 2")
                .execute(arguments: [table.name])
            try db.cachedStatement(sql: "DELETE FROM items WHERE table_name = ?").execute(arguments: [table.name])
            try db.cachedStatement(sql: "DELETE FROM divergence WHERE table_name = ?").execute(arguments: [table.name])
            try db.cachedStatement(sql: "DELETE FROM conflicts WHERE table_name = ?").execute(arguments: [table.name])
            let rows = try Row.fetchAll(db.cachedStatement(sql: "SELECT entry FROM origin_log WHERE table_name = ? AND holds_data = 1"), arguments: [table.name])
            for row in rows {
                var entry = try Self.decodeLogEntry(row["entry"])
                entry.payload = .withheld(table: table)
                try db.cachedStatement(sql: "UPDATE origin_log SET holds_data = 0, entry = ? WHERE origin = ? AND sequence = ?").execute(
                               arguments: [Data(StoredRecord.encode(entry)), entry.origin.name, Int64(bitPattern: entry.sequence)])
            }
        }

        /// The most damaged rows one repair removes (a repair run again removes more).
        static let damagedRowsPerRepairMax = 100_000

        func removeDamagedRows(table: TableName) throws -> Int {
            var damagedKeys: [Data] = []
            let items = try Row.fetchCursor(db, sql: "SELECT \(Self.itemColumns) FROM items WHERE table_name = ?", arguments: [table.name])
            while let row = try items.next(), damagedKeys.count < Self.damagedRowsPerRepairMax {
                if (try? Self.item(from: row)) == nil { damagedKeys.append(row["key"]) }
            }
            var damagedChanges: [Int64] = []
            let changes = try Row.fetchCursor(db, sql: "SELECT \(Self.changeColumns) FROM changes WHERE table_name = ? AND kind = 0", arguments: [table.name])
            while let row = try changes.next(), damagedChanges.count < Self.damagedRowsPerRepairMax {
                if (try? Self.change(from: row)) == nil { damagedChanges.append(row["sequence"]) }
            }
            for key in damagedKeys {
                try db.cachedStatement(sql: "DELETE FROM items WHERE table_name = ? AND key = ?").execute(arguments: [table.name, key])
            }
            for sequence in damagedChanges {
                try db.cachedStatement(sql: "UPDATE changes SET kind = 2, key = NULL, value = NULL, origin = NULL, record = NULL, checksum = NULL WHERE sequence = ?")
                    .execute(arguments: [sequence])
            }
            return damagedKeys.count + damagedChanges.count
        }

        /// Every row of `sql` (whose first column names the row) that `check` refuses, as a
        /// problem of `what`, until `problems` holds `problemsMax`.
        func collectDamage(_ sql: String, what: String, into problems: inout [String], problemsMax: Int, _ check: (Row) throws -> Void) throws {
            let rows = try Row.fetchCursor(db, sql: sql)
            while problems.count < problemsMax, let row = try rows.next() {
                do { try check(row) } catch {
                    let value: DatabaseValue = row[0]
                    let name = value.storage.value.map { "\($0)" } ?? "?"
                    problems.append("\(what) \(name.prefix(200)) is damaged: \((error as? MeridianError)?.message ?? "\(error)")")
                }
            }
        }

        func truncateLog(origin: RegionID, through sequence: UInt64) throws {
            try db.cachedStatement(sql: "DELETE FROM origin_log WHERE origin = ? AND sequence <= ?").execute(arguments: [origin.name, Int64(bitPattern: sequence)])
        }

        func appendConflict(table: TableName, _ entry: ConflictEntry) throws {
            try db.cachedStatement(sql: "INSERT INTO conflicts (table_name, hlc, entry) VALUES (?, ?, ?)").execute(
                           arguments: [table.name, Int64(bitPattern: entry.overwritten.winner.timestamp.rawValue), Data(StoredRecord.encode(entry))])
        }

        func putItem(table: TableName, _ item: StoredItem) throws {
            let columns = ItemColumns(item)
            try db.cachedStatement(sql: "INSERT OR REPLACE INTO items (table_name, key, value, hlc, origin, record, checksum) VALUES (?, ?, ?, ?, ?, ?, ?)").execute(
                           arguments: [table.name, columns.key, columns.value, Int64(bitPattern: item.version.timestamp.rawValue),
                                       item.version.origin.name, columns.record, columns.checksum])
        }

        /// The columns an item is stored in, and their checksum.
        struct ItemColumns {
            var key: Data
            var value: Data?
            var record: Data?
            var checksum: Int64

            init(_ item: StoredItem) {
                key = Data(item.key.bytes)
                value = item.value.map { Data($0.canonicalBytes) }
                record = item.record.map { Data(StoredRecord.encode($0)) }
                checksum = Connection.rowChecksum(key: key, value: value, hlc: Int64(bitPattern: item.version.timestamp.rawValue),
                                                  origin: item.version.origin.name, record: record)
            }
        }

        /// CRC-32C over an item row's columns, each length-prefixed (an absent one: 0xFFFFFFFF).
        static func rowChecksum(key: Data, value: Data?, hlc: Int64, origin: String, record: Data?) -> Int64 {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(key.count + (value?.count ?? 0) + (record?.count ?? 0) + origin.utf8.count + 28)
            func append(_ column: Data?) {
                let length = column.map { UInt32($0.count) } ?? .max
                for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: length >> UInt32(shift))) }
                if let column { bytes.append(contentsOf: column) }
            }
            append(key)
            append(value)
            bytes.append(contentsOf: UInt64(bitPattern: hlc).bigEndianBytes)
            append(Data(origin.utf8))
            append(record)
            return Int64(Checksum.crc32c(bytes))
        }

        func setMetadata(_ name: String, _ value: [UInt8]) throws {
            try db.cachedStatement(sql: "INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)").execute(arguments: [name, Data(value)])
        }

        static func item(from row: Row) throws -> StoredItem {
            let keyData: Data = row["key"]
            let valueData: Data? = row["value"]
            let hlc: Int64 = row["hlc"]
            let origin: String = row["origin"]
            let recordData: Data? = row["record"]
            if let checksum: Int64 = row["checksum"],
               checksum != rowChecksum(key: keyData, value: valueData, hlc: hlc, origin: origin, record: recordData) {
                throw damagedItem(keyData)
            }
            return StoredItem(
                key: try Key(utf8: Array(keyData)),
                value: try valueData.map { try JSONValue.decodeCanonical($0) },
                version: ItemVersion(timestamp: HLCTimestamp(rawValue: UInt64(bitPattern: hlc)), origin: try RegionID(origin)),
                record: try recordData.map { try decodeItemRecord($0) })
        }

        /// The error for an item whose row fails its checksum: this region will not serve it.
        static func damagedItem(_ key: Data) -> MeridianError {
            let shown = String(decoding: key.prefix(64), as: UTF8.self).unicodeScalars.map { $0.isASCII && $0.value >= 0x20 ? String($0) : "?" }.joined()
            return MeridianError(.unavailable, code: "corrupt_row",
                "the stored item '\(shown)' failed its checksum in this region: it will not be served from here; another region may serve it, and 'meridian repair' re-copies the table (docs/operations.md)")
        }

        /// Every record is stored in `StoredRecord`'s checksummed envelope, in the canonical
        /// binary layout (JSON through Codable was the largest cost of a multi-primary write).
        /// Rows of earlier builds still read: the binary rows of schema 3 (origin-log entries
        /// and item records, unchecksummed) and the JSON rows before them (they start with
        /// `{`). A row that fails its checksum or does not decode is a `corrupt_row` error
        /// naming what it is, never a trap and never a wrong value.
        static func decodeRow<T: CanonicalCodable & Decodable>(_ type: T.Type, _ data: Data) throws -> T {
            let bytes = Array(data)
            do {
                switch bytes.first {
                case StoredRecord.checksummedTag: return try StoredRecord.decode(bytes, as: T.self)
                case StoredRecord.legacyBinaryTag: return try StoredRecord.decodeLegacyBinary(bytes, as: T.self)
                case UInt8(ascii: "{"): return try JSONDecoder().decode(type, from: data)
                default: throw CodecError.unknownFormat.detailed("unknown first byte \(bytes.first.map(String.init) ?? "(empty)")")
                }
            } catch {
                throw MeridianError(.unavailable, code: "corrupt_row", "a stored \(type) could not be read (\(error)); the row is damaged")
            }
        }

        static func decodeLogEntry(_ data: Data) throws -> LogEntry { try decodeRow(LogEntry.self, data) }

        static func decodeItemRecord(_ data: Data) throws -> ItemRecord { try decodeRow(ItemRecord.self, data) }

        /// The smallest byte string greater than every string that starts with `prefix`;
        /// `nil` when there is none (the prefix is all 0xFF bytes).
        static func prefixUpperBound(_ prefix: [UInt8]) -> [UInt8]? {
            var bound = prefix
            while let last = bound.last {
                if last < 0xFF {
                    bound[bound.count - 1] = last + 1
                    return bound
                }
                bound.removeLast()
            }
            return nil
        }
    }
}
