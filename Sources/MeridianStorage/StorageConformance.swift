import MeridianCore

/// The behaviour every `RegionStorage` implementation must have, as a list of cases.
///
/// A test target runs each case against a fresh storage of its implementation:
/// ```swift
/// @Test(arguments: StorageConformance.cases)
/// func conforms(_ check: StorageConformance.Case) throws {
///     try check.run(makeStorage: { InMemoryStorage() })
/// }
/// ```
public enum StorageConformance {
    /// One named behaviour.
    public struct Case: Sendable, CustomStringConvertible {
        public let name: String
        let body: @Sendable (() throws -> any RegionStorage) throws -> Void
        public var description: String { name }

        /// Runs the case; throws `Failure` when the storage misbehaves.
        public func run(makeStorage: () throws -> any RegionStorage) throws {
            try withoutActuallyEscaping(makeStorage) { try body($0) }
        }
    }

    /// A behaviour the storage did not have.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Every case.
    public static let cases: [Case] = [
        Case(name: "empty storage has no tables", body: emptyStorageHasNoTables),
        Case(name: "catalog records round-trip", body: catalogRecordsRoundTrip),
        Case(name: "items round-trip with value and version", body: itemsRoundTrip),
        Case(name: "tombstones are kept but skipped by scans", body: tombstonesAreKeptButSkipped),
        Case(name: "a write that throws leaves nothing", body: failedWriteLeavesNothing),
        Case(name: "scans order keys by UTF-8 bytes", body: scansOrderByBytes),
        Case(name: "prefix scans page through every key exactly once", body: prefixScansPageExactlyOnce),
        Case(name: "bounded scans hold every bound, in both directions", body: boundedScansInBothDirections),
        Case(name: "reverse scans page backward through every key exactly once", body: reverseScansPageExactlyOnce),
        Case(name: "deleting items written before a time keeps later ones", body: deletingItemsWrittenBefore),
        Case(name: "multi-primary records round-trip with items", body: recordsRoundTrip),
        Case(name: "origin logs append, read in order, and truncate", body: originLogs),
        Case(name: "applied positions round-trip", body: appliedPositionsRoundTrip),
        Case(name: "conflict ledgers keep order and ids per table", body: conflictLedgers),
        Case(name: "tables keep their items apart", body: tablesKeepItemsApart),
        Case(name: "metadata round-trips", body: metadataRoundTrips),
        Case(name: "table size counts live items and their bytes", body: tableSizeCountsLiveItems),
        Case(name: "Raft logs append, replace a conflicting suffix, and compact", body: raftLogs),
        Case(name: "divergence ledgers keep order and go with their table", body: divergenceLedgers),
        Case(name: "changes append, read per table in order, and truncate", body: changeFeed),
        Case(name: "a purge withholds a table's changes but keeps their sequences", body: purgeWithholdsChanges),
        Case(name: "the first change a resolved mark does not cover", body: firstUncoveredChange),
    ]

    static func change(_ sequence: UInt64, _ table: String, _ key: String, physical: UInt64, raftIndex: UInt64 = 0, conflict: Bool = false) -> ChangeRecord {
        let item = StoredItem(key: Self.key(key), value: .object(["n": .integer(Int64(sequence))]), version: version(physical))
        return ChangeRecord(sequence: sequence, table: Self.table(table), change: .item(item), conflict: conflict,
                            appliedAtMilliseconds: 1_000 + sequence, raftIndex: raftIndex)
    }

    static func changeFeed(_ make: () throws -> any RegionStorage) throws {
        let storage = try make()
        try expect(try storage.read { try $0.changeBounds() }, nil, "bounds of an empty feed")
        let written = [
            change(1, "t", "a", physical: 10, conflict: true),
            change(2, "u", "x", physical: 11),
            ChangeRecord(sequence: 3, table: table("t"), change: .tableCleared(HLCTimestamp(physicalMilliseconds: 12, logical: 0)), appliedAtMilliseconds: 1_003),
            change(4, "t", "b", physical: 13, raftIndex: 7),
            ChangeRecord(sequence: 5, table: table("t"), change: .item(StoredItem(key: key("gone"), value: nil, version: version(14))), appliedAtMilliseconds: 1_005),
        ]
        try storage.write { writer in
            for change in written { try writer.appendChange(change) }
        }
        try expect(try storage.read { try $0.changes(table: nil, after: 0, limit: 100) }, written, "every change, as written")
        try expect(try storage.read { try $0.changes(table: table("t"), after: 0, limit: 100) }.map(\.sequence), [1, 3, 4, 5], "the changes of t")
        try expect(try storage.read { try $0.changes(table: table("t"), after: 1, limit: 2) }, [written[2], written[3]], "a page of t after 1")
        try expect(try storage.read { try $0.changes(table: table("u"), after: 2, limit: 100) }, [], "nothing of u after 2")
        try expect(try storage.read { try $0.changeBounds() }, ClosedRange<UInt64>?(1...5), "bounds")
        try storage.write { try $0.truncateChanges(through: 3) }
        try expect(try storage.read { try $0.changes(table: nil, after: 0, limit: 100) }, Array(written[3...]), "after truncating through 3")
        try expect(try storage.read { try $0.changeBounds() }, ClosedRange<UInt64>?(4...5), "bounds after truncation")
        try storage.write { try $0.appendChange(change(6, "u", "y", physical: 15)) }
        try expect(try storage.read { try $0.changeBounds() }, ClosedRange<UInt64>?(4...6), "bounds after another append")
        try storage.write { try $0.truncateChanges(through: 6) }
        try expect(try storage.read { try $0.changeBounds() }, nil, "bounds once everything is truncated")
    }

    static func purgeWithholdsChanges(_ make: () throws -> any RegionStorage) throws {
        let storage = try make()
        try storage.write { writer in
            try writer.putCatalogRecord(definition("t"))
            try writer.appendChange(change(1, "t", "a", physical: 10))
            try writer.appendChange(change(2, "u", "x", physical: 11))
            try writer.appendChange(change(3, "t", "b", physical: 12))
        }
        try expect(try storage.read { try $0.residue(table: table("t")) }.changes, 2, "changes of t counted in its residue")
        try storage.write { try $0.purgeTable(table("t")) }
        try expect(try storage.read { try $0.residue(table: table("t")) }.changes, 0, "no change of t after the purge")
        try expect(try storage.read { try $0.changes(table: table("t"), after: 0, limit: 100) }, [], "a purged table serves no change")
        let all = try storage.read { try $0.changes(table: nil, after: 0, limit: 100) }
        try expect(all.map(\.sequence), [1, 2, 3], "sequences keep no gap")
        try expect(all.map(\.isServed), [false, true, false], "t's changes are withheld, u's kept")
        try expect(all[0].timestamp == .zero && all[0].change == .withheld, true, "a withheld change holds no key, value or version")
        try expect(try storage.read { try $0.firstChange(table: table("t"), notCoveredBy: .raftIndex(0)) }, nil, "a withheld change is never resumed from")
    }

    static func firstUncoveredChange(_ make: () throws -> any RegionStorage) throws {
        let storage = try make()
        try storage.write { writer in
            try writer.appendChange(change(1, "t", "a", physical: 30, raftIndex: 1))
            try writer.appendChange(change(2, "t", "b", physical: 10, raftIndex: 2))
            try writer.appendChange(change(3, "u", "x", physical: 50, raftIndex: 9))
            try writer.appendChange(change(4, "t", "c", physical: 40, raftIndex: 4))
        }
        func first(_ mark: ResolvedMark) throws -> UInt64? { try storage.read { try $0.firstChange(table: table("t"), notCoveredBy: mark) }?.sequence }
        let at = { (physical: UInt64) in ResolvedMark.timestamp(HLCTimestamp(physicalMilliseconds: physical, logical: 0)) }
        try expect(try first(at(5)), 1, "a mark below every change")
        try expect(try first(at(30)), 4, "covers 1 and 2: the first later change of t")
        try expect(try first(at(40)), nil, "covers every change of t (u's is not t's)")
        try expect(try first(.raftIndex(1)), 2, "by Raft index")
        try expect(try first(.raftIndex(4)), nil, "every index covered")
    }

    static func raftLogs(_ make: () throws -> any RegionStorage) throws {
        let storage = try make()
        func entries(_ range: ClosedRange<UInt64>, tag: UInt8) -> [StoredRaftEntry] {
            range.map { StoredRaftEntry(index: $0, bytes: [tag, UInt8(truncatingIfNeeded: $0)]) }
        }
        try storage.write { writer in
            try writer.putRaftEntries(group: "a", entries(1...5, tag: 1))
            try writer.putRaftEntries(group: "b", entries(1...2, tag: 9))
        }
        try expect(try storage.read { try $0.raftEntries(group: "a", from: 1, limit: 100) }, entries(1...5, tag: 1), "group a as written")
        try expect(try storage.read { try $0.raftEntries(group: "a", from: 4, limit: 1) }, entries(4...4, tag: 1), "a page from index 4")
        // A new leader's entries from index 3 on replace 3, 4 and 5, even where the new log is shorter.
        try storage.write { try $0.putRaftEntries(group: "a", entries(3...4, tag: 2)) }
        try expect(try storage.read { try $0.raftEntries(group: "a", from: 1, limit: 100) }, entries(1...2, tag: 1) + entries(3...4, tag: 2), "after a conflict")
        try storage.write { try $0.deleteRaftEntries(group: "a", through: 2) }
        try expect(try storage.read { try $0.raftEntries(group: "a", from: 0, limit: 100) }, entries(3...4, tag: 2), "after compaction")
        try expect(try storage.read { try $0.raftEntries(group: "b", from: 0, limit: 100) }, entries(1...2, tag: 9), "other group untouched")
        try storage.write { try $0.deleteRaftEntries(group: "a", through: .max) }
        try expect(try storage.read { try $0.raftEntries(group: "a", from: 0, limit: 100) }, [], "after deleting the group's log")
    }

    static func divergenceLedgers(_ make: () throws -> any RegionStorage) throws {
        let storage = try make()
        func row(_ key: String, _ physical: UInt64) -> DivergenceEntry {
            DivergenceEntry(key: Self.key(key), value: .string(key), version: version(physical), index: physical, term: 2, replacedInTerm: 3, detectedBy: region)
        }
        try storage.write { writer in
            try writer.putCatalogRecord(definition("t"))
            try writer.appendDivergence(table: table("t"), row("a", 10))
            try writer.appendDivergence(table: table("u"), row("x", 11))
            try writer.appendDivergence(table: table("t"), row("b", 20))
        }
        let rows = try storage.read { try $0.divergence(table: table("t"), afterID: 0, limit: 10) }
        try expect(rows.map(\.key), [key("a"), key("b")], "rows of t in order")
        try expect(rows[0].id < rows[1].id, true, "ids ascend")
        try expect(try storage.read { try $0.divergence(table: table("t"), afterID: rows[0].id, limit: 10) }.map(\.key), [key("b")], "page after the first")
        try storage.write { try $0.deleteItems(table: table("t"), writtenBefore: HLCTimestamp(physicalMilliseconds: 15, logical: 0)) }
        try expect(try storage.read { try $0.divergence(table: table("t"), afterID: 0, limit: 10) }.map(\.key), [key("b")], "rows of a deleted incarnation go")
        try storage.write { try $0.purgeTable(table("t")) }
        try expect(try storage.read { try $0.divergence(table: table("t"), afterID: 0, limit: 10) }, [], "rows after purge")
        try expect(try storage.read { try $0.divergence(table: table("u"), afterID: 0, limit: 10) }.count, 1, "other table untouched")
    }

    static let region = try! RegionID("us-east")
    static func table(_ name: String) -> TableName { try! TableName(name) }
    static func key(_ string: String) -> Key { try! Key(string) }
    static func version(_ physical: UInt64) -> ItemVersion {
        ItemVersion(timestamp: HLCTimestamp(physicalMilliseconds: physical, logical: 0), origin: region)
    }
    static func definition(_ name: String) -> CatalogRecord {
        CatalogRecord(name: table(name), definition: TableDefinition(name: table(name), mode: .multiPrimary, conflict: .lww, regions: [region]),
                      version: version(1), deletedBefore: .zero)
    }

    static func expect<T: Equatable>(_ actual: T, _ expected: T, _ what: String, line: Int = #line) throws {
        guard actual == expected else {
            throw Failure(description: "\(what): expected \(expected), got \(actual) (StorageConformance.swift:\(line))")
        }
    }

    static func emptyStorageHasNoTables(_ make: () throws -> any RegionStorage) throws {
        let storage = try make()
        try expect(try storage.read { try $0.catalog() }, [], "tables of new storage")
        try expect(try storage.read { try $0.item(table: table("t"), key: key("k")) }, nil, "item of new storage")
    }

    static func catalogRecordsRoundTrip(_ make: () throws -> any RegionStorage) throws {
        let storage = try make()
        let other = try RegionID("eu-west")
        let primary = CatalogRecord(
            name: table("orders"),
            definition: TableDefinition(name: table("orders"), mode: .primary, primary: other, commit: .local, regions: [other, region].sorted()),
            version: version(7), deletedBefore: HLCTimestamp(rawValue: 3))
        try storage.write { try $0.putCatalogRecord(definition("zeta")); try $0.putCatalogRecord(primary) }
        try expect(try storage.read { try $0.catalog() }, [primary, definition("zeta")], "catalog after two puts")
        var deleted = primary
        deleted.definition = nil
        deleted.version = version(9)
        try storage.write { try $0.putCatalogRecord(deleted) }
        try expect(try storage.read { try $0.catalog() }, [deleted, definition("zeta")], "catalog after a deletion record")
    }

    static func itemsRoundTrip(_ make: () throws -> any RegionStorage) throws {
        let storage = try make()
        let value = JSONValue.object([
            "text": .string("héllo \u{1F30D} \"quoted\""), "count": .integer(-42), "ratio": .double(0.25),
            "tags": .array([.bool(true), .null, .integer(Int64.max)]), "nested": .object(["a": .object([:])]),
        ])
        let item = StoredItem(key: key("user/1"), value: value, version: version(1_700_000_000_000))
        try storage.write { try $0.putCatalogRecord(definition("t")); try $0.putItem(table: table("t"), item) }
        try expect(try storage.read { try $0.item(table: table("t"), key: key("user/1")) }, Optional(item), "item read back")
        let replaced = StoredItem(key: key("user/1"), value: .string("v2"), version: version(1_700_000_000_001))
        try storage.write { try $0.putItem(table: table("t"), replaced) }
        try expect(try storage.read { try $0.item(table: table("t"), key: key("user/1")) }, Optional(replaced), "item after replace")
    }

    static func tombstonesAreKeptButSkipped(_ make: () throws -> any RegionStorage) throws {
        let storage = try make()
        try storage.write { writer in
            try writer.putCatalogRecord(definition("t"))
            try writer.putItem(table: table("t"), StoredItem(key: key("a"), value: .integer(1), version: version(1)))
            try writer.putItem(table: table("t"), StoredItem(key: key("b"), value: nil, version: version(2)))
        }
        let tombstone = try storage.read { try $0.item(table: table("t"), key: key("b")) }
        try expect(tombstone?.isTombstone, true, "tombstone kept")
        try expect(tombstone?.version, version(2), "tombstone version")
        try expect(try storage.read { try $0.scan(table: table("t"), range: ScanRange(limit: 10)) }.map(\.key), [key("a")], "scan without tombstones")
        try expect(try storage.read { try $0.scan(table: table("t"), range: ScanRange(limit: 10, includeTombstones: true)) }.map(\.key), [key("a"), key("b")], "scan with tombstones")
    }

    static func failedWriteLeavesNothing(_ make: () throws -> any RegionStorage) throws {
        struct Abort: Error {}
        let storage = try make()
        try storage.write { try $0.putCatalogRecord(definition("t")) }
        do {
            try storage.write { writer in
                try writer.putCatalogRecord(definition("u"))
                try writer.putItem(table: table("t"), StoredItem(key: key("k"), value: .integer(1), version: version(1)))
                try writer.setMetadata("m", [1])
                try writer.setApplied(origin: region, sequence: 1)
                try writer.appendLog(entry(region, 1))
                throw Abort()
            }
            throw Failure(description: "write did not rethrow the body's error")
        } catch is Abort {}
        try expect(try storage.read { try $0.catalog() }.map(\.name), [table("t")], "tables after aborted write")
        try expect(try storage.read { try $0.appliedPositions() }, Positions(), "positions after aborted write")
        try expect(try storage.read { try $0.item(table: table("t"), key: key("k")) }, nil, "item after aborted write")
        try expect(try storage.read { try $0.metadata("m") }, nil, "metadata after aborted write")
        try expect(try storage.read { try $0.logEntries(origin: region, after: 0, limit: 10) }, [], "log after aborted write")
    }

    static func scansOrderByBytes(_ make: () throws -> any RegionStorage) throws {
        let storage = try make()
        // Precomposed and decomposed "é" are different keys; order is by UTF-8 bytes.
        let strings = ["z", "e\u{301}", "\u{E9}", "a", "A", "a\u{0}", "\u{1F30D}", "\u{FF}", "aa", "\u{7F}"]
        try storage.write { writer in
            try writer.putCatalogRecord(definition("t"))
            for (index, string) in strings.enumerated() {
                try writer.putItem(table: table("t"), StoredItem(key: key(string), value: .integer(Int64(index)), version: version(UInt64(index + 1))))
            }
        }
        let scanned = try storage.read { try $0.scan(table: table("t"), range: ScanRange(limit: 100)) }
        try expect(scanned.map(\.key.bytes), strings.map { Array($0.utf8) }.sorted { $0.lexicographicallyPrecedes($1) }, "scan order")
        try expect(try storage.read { try $0.item(table: table("t"), key: key("e\u{301}")) }?.value, .integer(1), "decomposed key")
        try expect(try storage.read { try $0.item(table: table("t"), key: key("\u{E9}")) }?.value, .integer(2), "precomposed key")
    }

    static func prefixScansPageExactlyOnce(_ make: () throws -> any RegionStorage) throws {
        let storage = try make()
        var expected: [Key] = []
        try storage.write { writer in
            try writer.putCatalogRecord(definition("t"))
            for index in 0..<120 {
                for prefix in ["p/", "p", "q/", "p\u{FFFF}"] {
                    let item = key("\(prefix)\(index)")
                    if prefix == "p/" { expected.append(item) }
                    try writer.putItem(table: table("t"), StoredItem(key: item, value: .integer(Int64(index)), version: version(UInt64(index + 1))))
                }
            }
        }
        var seen: [Key] = []
        var cursor: Key? = nil
        for _ in 0..<100 {
            let page = try storage.read { try $0.scan(table: table("t"), range: ScanRange(prefix: Array("p/".utf8), startAfter: cursor, limit: 7)) }
            seen += page.map(\.key)
            guard page.count == 7 else { break }
            cursor = page.last?.key
        }
        try expect(seen, expected.sorted(), "prefix pages")
        try expect(try storage.read { try $0.scan(table: table("t"), range: ScanRange(limit: 0)) }, [], "limit 0")
    }

    static func boundedScansInBothDirections(_ make: () throws -> any RegionStorage) throws {
        let storage = try make()
        // Keys whose bytes straddle each bound: equal to it, a prefix of it, extending it.
        let strings = ["a", "b", "b\u{0}", "b0", "ba", "bb", "bz", "c", "c\u{0}", "ca", "d", "\u{E9}", "\u{1F30D}"]
        try storage.write { writer in
            try writer.putCatalogRecord(definition("t"))
            for (index, string) in strings.enumerated() {
                try writer.putItem(table: table("t"), StoredItem(key: key(string), value: .integer(Int64(index)), version: version(UInt64(index + 1))))
            }
            try writer.putItem(table: table("t"), StoredItem(key: key("bc"), value: nil, version: version(99)))
            try writer.putItem(table: table("u"), StoredItem(key: key("bb"), value: .integer(0), version: version(100)))
        }
        let sorted = strings.map(key).sorted()
        let bounds: [Key?] = [nil, key("b"), key("ba"), key("c"), key("b\u{0}"), key("zz")]
        for startAfter in bounds { for startAt in bounds { for endBefore in bounds { for endAt in bounds { for prefix in ["", "b", "c"] {
            for reverse in [false, true] {
                let range = ScanRange(prefix: Array(prefix.utf8), startAfter: startAfter, startAt: startAt, endBefore: endBefore, endAt: endAt,
                                      limit: 4, reverse: reverse)
                let matching = sorted.filter(range.contains)
                let expected = Array((reverse ? matching.reversed() : matching).prefix(4))
                try expect(try storage.read { try $0.scan(table: table("t"), range: range) }.map(\.key), expected, "scan of \(range)")
            }
        } } } } }
    }

    static func reverseScansPageExactlyOnce(_ make: () throws -> any RegionStorage) throws {
        let storage = try make()
        var expected: [Key] = []
        try storage.write { writer in
            try writer.putCatalogRecord(definition("t"))
            for index in 0..<60 {
                for prefix in ["p/", "p", "q/"] {
                    let item = key("\(prefix)\(index)")
                    // Byte order: "p/2" falls between "p/10" and "p/49", "p/5" does not.
                    if prefix == "p/" && key("p/10") <= item && item <= key("p/49") { expected.append(item) }
                    try writer.putItem(table: table("t"), StoredItem(key: item, value: .integer(Int64(index)), version: version(UInt64(index + 1))))
                }
            }
        }
        var seen: [Key] = []
        var cursor: Key? = nil
        for _ in 0..<100 {
            // Descending from p/49 down to p/10, resuming strictly before the last key seen.
            let range = ScanRange(prefix: Array("p/".utf8), startAt: key("p/10"), endBefore: cursor, endAt: key("p/49"), limit: 7, reverse: true)
            let page = try storage.read { try $0.scan(table: table("t"), range: range) }
            seen += page.map(\.key)
            guard page.count == 7 else { break }
            cursor = page.last?.key
        }
        try expect(seen, expected.sorted().reversed(), "reverse pages")
    }

    static func deletingItemsWrittenBefore(_ make: () throws -> any RegionStorage) throws {
        let storage = try make()
        let winner = ItemVersion(timestamp: HLCTimestamp(physicalMilliseconds: 1, logical: 0), origin: region)
        try storage.write { writer in
            try writer.putCatalogRecord(definition("t"))
            try writer.putItem(table: table("t"), StoredItem(key: key("old"), value: .integer(1), version: version(10)))
            try writer.putItem(table: table("t"), StoredItem(key: key("new"), value: .integer(2), version: version(30)))
            try writer.appendConflict(table: table("t"), ConflictEntry(key: key("old"), overwritten: OverwrittenValue(value: .null, version: version(5), winner: winner), detectedBy: region))
        }
        try storage.write { try $0.deleteItems(table: table("t"), writtenBefore: version(20).timestamp) }
        try expect(try storage.read { try $0.item(table: table("t"), key: key("old")) }, nil, "item written before")
        try expect(try storage.read { try $0.item(table: table("t"), key: key("new")) }?.value, .integer(2), "item written after")
        try expect(try storage.read { try $0.conflicts(table: table("t"), afterID: 0, limit: 10) }, [], "ledger rows decided before")
    }

    static func recordsRoundTrip(_ make: () throws -> any RegionStorage) throws {
        let storage = try make()
        let other = try RegionID("eu-west")
        let record = ItemRecord(
            vector: VersionVector([region: 3, other: 1]), version: version(9), root: .object([:]),
            fields: ["a": FieldEntry(value: .string("x"), version: version(9)), "b": FieldEntry(value: nil, version: version(4))],
            siblings: [Sibling(value: .integer(1), version: version(2), dot: Dot(region: other, counter: 1))])
        try storage.write { try $0.putItem(table: table("t"), StoredItem(key: key("k"), value: .object(["a": .string("x")]), version: version(9), record: record)) }
        try expect(try storage.read { try $0.item(table: table("t"), key: key("k")) }?.record, record, "record")
        try expect(try storage.read { try $0.scan(table: table("t"), range: ScanRange(limit: 5)) }.first?.record, record, "record in a scan")
    }

    static func entry(_ origin: RegionID, _ sequence: UInt64) -> LogEntry {
        LogEntry(origin: origin, sequence: sequence, timestamp: version(sequence).timestamp,
                 payload: sequence % 2 == 0 ? .catalog(definition("t")) : .item(table: definition("t"), key: key("k\(sequence)"),
                     record: ItemRecord(vector: VersionVector([origin: sequence]), version: version(sequence), root: .integer(Int64(sequence)))))
    }

    static func originLogs(_ make: () throws -> any RegionStorage) throws {
        let storage = try make()
        let other = try RegionID("eu-west")
        try storage.write { writer in
            for sequence in 1...20 as ClosedRange<UInt64> { try writer.appendLog(entry(region, sequence)) }
            for sequence in 1...5 as ClosedRange<UInt64> { try writer.appendLog(entry(other, sequence)) }
            try writer.appendLog(entry(region, 3))
        }
        try expect(try storage.read { try $0.logEntries(origin: region, after: 0, limit: 100) }, (1...20).map { entry(region, $0) }, "whole log")
        try expect(try storage.read { try $0.logEntries(origin: region, after: 7, limit: 3) }, (8...10).map { entry(region, $0) }, "a window")
        try expect(try storage.read { try $0.logEntries(origin: other, after: 5, limit: 3) }, [], "after the end")
        try storage.write { try $0.truncateLog(origin: region, through: 15) }
        try expect(try storage.read { try $0.logEntries(origin: region, after: 2, limit: 100) }, (16...20).map { entry(region, $0) }, "after truncation")
        try expect(try storage.read { try $0.logEntries(origin: other, after: 0, limit: 100) }.count, 5, "other origin untouched")
    }

    static func appliedPositionsRoundTrip(_ make: () throws -> any RegionStorage) throws {
        let storage = try make()
        let other = try RegionID("eu-west")
        try expect(try storage.read { try $0.appliedPositions() }, Positions(), "new storage")
        try storage.write { try $0.setApplied(origin: region, sequence: 12); try $0.setApplied(origin: other, sequence: 3) }
        try storage.write { try $0.setApplied(origin: other, sequence: 4) }
        try expect(try storage.read { try $0.appliedPositions() }, Positions([region: 12, other: 4]), "positions")
    }

    static func conflictLedgers(_ make: () throws -> any RegionStorage) throws {
        let storage = try make()
        let winner = version(100)
        try storage.write { writer in
            for index in 1...5 as ClosedRange<UInt64> {
                try writer.appendConflict(table: table(index % 2 == 0 ? "even" : "odd"),
                    ConflictEntry(key: key("k\(index)"), overwritten: OverwrittenValue(value: .integer(Int64(index)), version: version(index), field: index == 3 ? "f" : nil, winner: winner), detectedBy: region))
            }
        }
        let odd = try storage.read { try $0.conflicts(table: table("odd"), afterID: 0, limit: 10) }
        try expect(odd.map(\.key), [key("k1"), key("k3"), key("k5")], "odd ledger in order")
        try expect(odd[1].overwritten.field, "f", "field kept")
        try expect(Set(odd.map(\.id)).count, 3, "distinct ids")
        let page = try storage.read { try $0.conflicts(table: table("odd"), afterID: odd[0].id, limit: 1) }
        try expect(page.map(\.key), [key("k3")], "paging by id")
        try expect(try storage.read { try $0.conflicts(table: table("even"), afterID: 0, limit: 10) }.count, 2, "even ledger")
    }

    static func tablesKeepItemsApart(_ make: () throws -> any RegionStorage) throws {
        let storage = try make()
        try storage.write { writer in
            try writer.putCatalogRecord(definition("a"))
            try writer.putCatalogRecord(definition("b"))
            try writer.putItem(table: table("a"), StoredItem(key: key("k"), value: .string("in a"), version: version(1)))
            try writer.putItem(table: table("b"), StoredItem(key: key("k"), value: .string("in b"), version: version(2)))
        }
        try expect(try storage.read { try $0.item(table: table("a"), key: key("k")) }?.value, .string("in a"), "table a")
        try expect(try storage.read { try $0.item(table: table("b"), key: key("k")) }?.value, .string("in b"), "table b")
        try storage.write { try $0.deleteItems(table: table("a"), writtenBefore: version(10).timestamp) }
        try expect(try storage.read { try $0.item(table: table("a"), key: key("k")) }, nil, "table a after deleting its items")
        try expect(try storage.read { try $0.item(table: table("b"), key: key("k")) }?.value, .string("in b"), "table b after deleting a")
    }

    static func metadataRoundTrips(_ make: () throws -> any RegionStorage) throws {
        let storage = try make()
        try expect(try storage.read { try $0.metadata(MetadataName.clockHighWater) }, nil, "unset metadata")
        try storage.write { try $0.setMetadata(MetadataName.clockHighWater, UInt64(0x0102_0304_0506_0708).bigEndianBytes) }
        try storage.write { try $0.setMetadata("other", [9]) }
        try expect(try storage.read { try $0.metadata(MetadataName.clockHighWater) }.flatMap(UInt64.init(bigEndianBytes:)), 0x0102_0304_0506_0708, "metadata")
    }

    static func tableSizeCountsLiveItems(_ make: () throws -> any RegionStorage) throws {
        let storage = try make()
        try storage.write { writer in
            try writer.putCatalogRecord(definition("t"))
            try writer.putItem(table: table("t"), StoredItem(key: key("ab"), value: .string("xyz"), version: version(1)))
            try writer.putItem(table: table("t"), StoredItem(key: key("c"), value: .integer(7), version: version(2)))
            try writer.putItem(table: table("t"), StoredItem(key: key("gone"), value: nil, version: version(3)))
        }
        let size = try storage.read { try $0.tableSize(table: table("t")) }
        // Keys "ab" and "c" (3 bytes) and values "\"xyz\"" and "7" (6 bytes).
        try expect(size.items, 2, "live items")
        try expect(size.bytes, 9, "bytes")
    }
}
