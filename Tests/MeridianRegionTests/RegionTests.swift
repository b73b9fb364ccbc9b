import MeridianCore
import MeridianRegion
import MeridianStorage
import Testing

@Suite("Region tables")
struct RegionTableTests {
    @Test func creatingATableReportsCreatedThenIdenticalDefinitionReportsNotCreated() throws {
        let fixture = try Fixture()
        let first = try fixture.region.execute(.createTable(Fixture.table, definition: .object([:])), wallMilliseconds: 1_000).get()
        guard case .tableCreated(let definition, created: true) = first else { throw UnexpectedReply(reply: first) }
        #expect(definition.mode == .multiPrimary)

        let again = try fixture.region.execute(.createTable(Fixture.table, definition: .object(["conflict": .string("lww")])), wallMilliseconds: 1_000).get()
        #expect(again == .tableCreated(definition, created: false))
        #expect(try fixture.tableNames() == [Fixture.table])
    }

    @Test func creatingATableWithADifferentDefinitionIsAConflict() throws {
        let fixture = try Fixture()
        try fixture.createTable()
        let error = fixture.region.execute(.createTable(Fixture.table, definition: .object(["conflict": .string("merge")])), wallMilliseconds: 1_000).error
        #expect(error?.kind == .conflict)
        #expect(error?.code == "table_exists")
    }

    @Test func invalidDefinitionIsRefusedAndNotListed() throws {
        let fixture = try Fixture()
        let error = fixture.region.execute(.createTable(Fixture.table, definition: .object(["mode": .string("eventual")])), wallMilliseconds: 1_000).error
        #expect(error?.code == "invalid_definition")
        #expect(try fixture.tableNames() == [])
    }

    @Test func showTableCountsLiveItems() throws {
        let fixture = try Fixture()
        try fixture.createTable()
        _ = try fixture.putVersion("a", .integer(1))
        _ = try fixture.putVersion("b", .integer(2))
        _ = try fixture.delete("b").get()
        let reply = try fixture.region.execute(.showTable(Fixture.table), wallMilliseconds: 1_000).get()
        guard case .table(let status) = reply else { throw UnexpectedReply(reply: reply) }
        #expect(status.items == 1)
        #expect(status.bytes == 2)
    }

    @Test func deletingATableRemovesItAndItsItems() throws {
        let fixture = try Fixture()
        try fixture.createTable()
        _ = try fixture.putVersion("k", .integer(1))
        #expect(try fixture.region.execute(.deleteTable(Fixture.table), wallMilliseconds: 1_000).get() == .tableDeleted(Fixture.table))
        #expect(try fixture.tableNames() == [])
        try fixture.createTable()
        #expect(fixture.get("k").error?.code == "item_not_found")
    }

    @Test(arguments: [
        RegionRequest.showTable(Fixture.table),
        .deleteTable(Fixture.table),
        .putItem(Fixture.table, try! Key("k"), .integer(1), .none),
        .getItem(Fixture.table, try! Key("k"), .eventual),
        .deleteItem(Fixture.table, try! Key("k"), .none),
        .scan(Fixture.table, ScanRange(limit: 10)),
    ])
    func everyRequestOnAnUnknownTableIsTableNotFound(_ request: RegionRequest) throws {
        let fixture = try Fixture()
        try fixture.createTable(try TableName("other"))
        let error = fixture.region.execute(request, wallMilliseconds: 1_000).error
        #expect(error?.code == "table_not_found")
        #expect(error?.kind == .notFound)
    }

    @Test func requestForATableStoredElsewhereIsMisdirected() throws {
        let fixture = try Fixture()
        try fixture.createTable(Fixture.table, ["regions": .array([.string("eu-west")])])
        let error = fixture.put("k", .integer(1)).error
        #expect(error?.kind == .misdirected)
        #expect(error?.code == "table_not_in_region")
    }
}

@Suite("Region items")
struct RegionItemTests {
    @Test func putThenGetReturnsTheValueAndVersion() throws {
        let fixture = try Fixture()
        try fixture.createTable()
        let value = JSONValue.object(["name": .string("Ada"), "age": .integer(36)])
        let version = try fixture.putVersion("user/1", value)
        #expect(version.origin == Fixture.usEast)
        let item = try fixture.item("user/1")
        #expect(item.key == (try Key("user/1")))
        #expect(item.value == value)
        #expect(item.version == version)
        #expect(item.record?.vector == VersionVector([Fixture.usEast: 1]))
    }

    @Test func getOfAKeyNeverWrittenIsItemNotFound() throws {
        let fixture = try Fixture()
        try fixture.createTable()
        #expect(fixture.get("missing").error?.code == "item_not_found")
    }

    @Test(arguments: [[UInt64(1_000), 1_000, 1_000, 1_000], [5_000, 4_000, 3_000, 0], [2_000, 2_000, 1_999, 2_001]])
    func versionsStrictlyIncreaseWhenWallTimeStandsStillOrGoesBackwards(walls: [UInt64]) throws {
        let fixture = try Fixture()
        try fixture.createTable()
        var versions: [ItemVersion] = []
        for (index, wall) in walls.enumerated() {
            versions.append(try fixture.putVersion(index.isMultiple(of: 2) ? "a" : "b", .integer(Int64(index)), wallMilliseconds: wall))
        }
        _ = try fixture.delete("a", wallMilliseconds: walls.last!).get()
        #expect(zip(versions, versions.dropFirst()).allSatisfy { $0.timestamp < $1.timestamp })
        #expect(fixture.region.latestTimestamp > versions.last!.timestamp)
    }

    @Test func ifMatchWithTheCurrentVersionSucceeds() throws {
        let fixture = try Fixture()
        try fixture.createTable()
        let first = try fixture.putVersion("k", .integer(1))
        let second = try fixture.putVersion("k", .integer(2), .versionMatches(first.token))
        #expect(second > first)
        #expect(try fixture.item("k").value == .integer(2))
    }

    @Test func ifMatchWithAStaleVersionFailsAndChangesNothing() throws {
        let fixture = try Fixture()
        try fixture.createTable()
        let first = try fixture.putVersion("k", .integer(1))
        let second = try fixture.putVersion("k", .integer(2))
        let error = fixture.put("k", .integer(3), .versionMatches(first.token)).error
        #expect(error?.kind == .preconditionFailed)
        #expect(error?.code == "precondition_failed")
        #expect(try fixture.item("k").version == second)
    }

    @Test(arguments: ["0000000000000001-us-east", "garbage", ""])
    func ifMatchWithAVersionThatNeverExistedFails(_ token: String) throws {
        let fixture = try Fixture()
        try fixture.createTable()
        _ = try fixture.putVersion("k", .integer(1))
        #expect(fixture.put("k", .integer(2), .versionMatches(token)).error?.kind == .preconditionFailed)
        #expect(fixture.put("absent", .integer(2), .versionMatches(token)).error?.kind == .preconditionFailed)
        #expect(fixture.delete("k", .versionMatches(token)).error?.kind == .preconditionFailed)
        #expect(try fixture.item("k").value == .integer(1))
    }

    @Test func ifNoneMatchCreatesOnceThenFails() throws {
        let fixture = try Fixture()
        try fixture.createTable()
        _ = try fixture.putVersion("k", .integer(1), .itemAbsent)
        let error = fixture.put("k", .integer(2), .itemAbsent).error
        #expect(error?.kind == .preconditionFailed)
        #expect(try fixture.item("k").value == .integer(1))
    }

    @Test func deleteLeavesATombstoneThatReadsAsNotFound() throws {
        let fixture = try Fixture()
        try fixture.createTable()
        let written = try fixture.putVersion("k", .integer(1))
        let reply = try fixture.delete("k", .versionMatches(written.token)).get()
        guard case .deleted(_, let deletedVersion) = reply else { throw UnexpectedReply(reply: reply) }
        #expect(deletedVersion > written)

        #expect(fixture.get("k").error?.code == "item_not_found")
        let tombstone = try fixture.storage.read { try $0.item(table: Fixture.table, key: try Key("k")) }
        #expect(tombstone?.isTombstone == true)
        #expect(tombstone?.version == deletedVersion)
    }

    @Test func ifNoneMatchSucceedsOnADeletedKey() throws {
        let fixture = try Fixture()
        try fixture.createTable()
        _ = try fixture.putVersion("k", .integer(1))
        _ = try fixture.delete("k").get()
        _ = try fixture.putVersion("k", .integer(2), .itemAbsent)
        #expect(try fixture.item("k").value == .integer(2))
    }

    @Test func ifMatchWithATombstonesVersionFails() throws {
        let fixture = try Fixture()
        try fixture.createTable()
        _ = try fixture.putVersion("k", .integer(1))
        let reply = try fixture.delete("k").get()
        guard case .deleted(_, let tombstoneVersion) = reply else { throw UnexpectedReply(reply: reply) }
        #expect(fixture.put("k", .integer(2), .versionMatches(tombstoneVersion.token)).error?.kind == .preconditionFailed)
    }

    @Test func deletingAMissingOrDeletedItemIsItemNotFound() throws {
        let fixture = try Fixture()
        try fixture.createTable()
        #expect(fixture.delete("never").error?.code == "item_not_found")
        _ = try fixture.putVersion("k", .integer(1))
        _ = try fixture.delete("k").get()
        #expect(fixture.delete("k").error?.code == "item_not_found")
    }

    @Test func strongReadOfAMultiPrimaryTableIsUnavailable() throws {
        let fixture = try Fixture()
        try fixture.createTable()
        _ = try fixture.putVersion("k", .integer(1))
        let error = fixture.get("k", .strong).error
        #expect(error?.code == "consistency_unavailable")
        #expect(try fixture.get("k", .bounded).get() == .item(try fixture.item("k"), servedAt: .bounded))
    }

    @Test func strongReadOfAStrongTableInASingleRegionClusterIsServed() throws {
        let fixture = try Fixture(clusterRegions: [Fixture.usEast])
        try fixture.createTable(Fixture.table, ["mode": .string("strong")])
        _ = try fixture.putVersion("k", .integer(1))
        let reply = try fixture.get("k", .strong).get()
        guard case .item(let item, servedAt: .strong) = reply else { throw UnexpectedReply(reply: reply) }
        #expect(item.value == .integer(1))
    }
}

@Suite("Region scans")
struct RegionScanTests {
    @Test func scanPagesThroughEveryKeyWithAPrefixExactlyOnceInByteOrder() throws {
        let fixture = try Fixture()
        try fixture.createTable()
        var expected: [Key] = []
        var batch: [RegionRequest] = []
        for index in 0..<250 {
            let key = try Key("user/\(index)")
            expected.append(key)
            batch.append(.putItem(Fixture.table, key, .integer(Int64(index)), .none))
            batch.append(.putItem(Fixture.table, try Key("users\(index)"), .integer(0), .none))
            batch.append(.putItem(Fixture.table, try Key("use/\(index)"), .integer(0), .none))
        }
        #expect(fixture.region.execute(batch, wallMilliseconds: 1_000).allSatisfy { $0.error == nil })
        // A deleted key inside the prefix must not appear.
        _ = try fixture.delete("user/17").get()
        expected.removeAll { $0 == (try! Key("user/17")) }

        var seen: [Key] = []
        var cursor: Key? = nil
        var pages = 0
        while pages < 100 {
            let range = ScanRange(prefix: Array("user/".utf8), startAfter: cursor, limit: 40)
            let reply = try fixture.region.execute(.scan(Fixture.table, range), wallMilliseconds: 1_000).get()
            guard case .page(let items, let next) = reply else { throw UnexpectedReply(reply: reply) }
            pages += 1
            #expect(items.count <= 40)
            seen += items.map(\.key)
            guard let next else { break }
            #expect(next == items.last?.key)
            cursor = next
        }
        #expect(seen == expected.sorted())
        #expect(pages == 7)
    }

    /// Issue 15, item 3: a page ends early, with `next`, once its values reach
    /// `Limits.pageBytesMax`, whatever `limit` asks; paging still visits every item once.
    @Test func aPageEndsOnceItsValuesReachTheByteBound() throws {
        let fixture = try Fixture()
        try fixture.createTable()
        let value = JSONValue.string(String(repeating: "x", count: 1 << 20))
        for index in 0..<10 { _ = try fixture.putVersion("k\(index)", value) }
        var seen: [String] = []
        var pageSizes: [Int] = []
        var cursor: Key? = nil
        while pageSizes.count < 20 {
            let reply = try fixture.region.execute(.scan(Fixture.table, ScanRange(startAfter: cursor, limit: Limits.scanItemsMax)), wallMilliseconds: 1_000).get()
            guard case .page(let items, let next) = reply else { throw UnexpectedReply(reply: reply) }
            pageSizes.append(items.count)
            seen += items.map(\.key.string)
            let valueBytes = items.reduce(0) { $0 + ($1.value?.canonicalBytes.count ?? 0) }
            #expect(valueBytes - value.canonicalBytes.count < Limits.pageBytesMax, "at most the bound plus one item")
            guard let next else { break }
            cursor = next
        }
        #expect(seen == (0..<10).map { "k\($0)" })
        #expect(pageSizes == [4, 4, 2], "1 MiB values: four reach the 4 MiB bound")
    }

    /// A page is read from storage a few rows at a time: a reverse scan continues below the
    /// last row it read (found by the DynamoDB suite's descending Query).
    @Test func aReverseScanReadInSeveralStorageReadsKeepsDescendingOrder() throws {
        let fixture = try Fixture()
        try fixture.createTable()
        let keys = (0..<30).map { String(format: "k%02d", $0) }
        for key in keys { _ = try fixture.putVersion(key, .integer(1)) }
        let reply = try fixture.region.execute(.scan(Fixture.table, ScanRange(endBefore: try Key("k25"), limit: 20, reverse: true)), wallMilliseconds: 1_000).get()
        guard case .page(let items, let next) = reply else { throw UnexpectedReply(reply: reply) }
        #expect(items.map(\.key.string) == Array(keys[5..<25].reversed()))
        #expect(next == (try Key("k05")))
    }

    @Test func scanWhosePageEndsExactlyAtTheLastItemHasNoNext() throws {
        let fixture = try Fixture()
        try fixture.createTable()
        for key in ["a", "b", "c", "d"] { _ = try fixture.putVersion(key, .null) }
        let first = try fixture.region.execute(.scan(Fixture.table, ScanRange(limit: 2)), wallMilliseconds: 1_000).get()
        guard case .page(let firstItems, let next) = first else { throw UnexpectedReply(reply: first) }
        #expect(firstItems.map(\.key.string) == ["a", "b"])
        #expect(next == (try Key("b")))
        let last = try fixture.region.execute(.scan(Fixture.table, ScanRange(startAfter: next, limit: 2)), wallMilliseconds: 1_000).get()
        guard case .page(let lastItems, nil) = last else { throw UnexpectedReply(reply: last) }
        #expect(lastItems.map(\.key.string) == ["c", "d"])
    }
}

@Suite("Region batches")
struct RegionBatchTests {
    @Test func batchAppliesEveryRequestWhosePreconditionHoldsEvenWhenOneFails() throws {
        let fixture = try Fixture()
        try fixture.createTable()
        _ = try fixture.putVersion("taken", .integer(0))
        let results = fixture.region.execute([
            .putItem(Fixture.table, try Key("a"), .integer(1), .none),
            .putItem(Fixture.table, try Key("taken"), .integer(2), .itemAbsent),
            .putItem(Fixture.table, try Key("b"), .integer(3), .itemAbsent),
        ], wallMilliseconds: 1_000)
        #expect(results.count == 3)
        #expect(results[0].error == nil)
        #expect(results[1].error?.kind == .preconditionFailed)
        #expect(results[2].error == nil)
        #expect(try fixture.item("a").value == .integer(1))
        #expect(try fixture.item("taken").value == .integer(0))
        #expect(try fixture.item("b").value == .integer(3))
    }

    @Test func laterRequestsOfABatchSeeEarlierOnes() throws {
        let fixture = try Fixture()
        let results = fixture.region.execute([
            .createTable(Fixture.table, definition: .object([:])),
            .putItem(Fixture.table, try Key("k"), .integer(1), .itemAbsent),
            .putItem(Fixture.table, try Key("k"), .integer(2), .itemAbsent),
        ], wallMilliseconds: 1_000)
        #expect(results[0].error == nil)
        #expect(results[1].error == nil)
        #expect(results[2].error?.kind == .preconditionFailed)
    }

    @Test func storageFailureFailsEveryRequestOfTheBatchAndLeavesCatalogAndClockUnchanged() throws {
        let storage = FailingWriteStorage()
        storage.failsWrites = false
        let fixture = try Fixture(storage: storage)
        try fixture.createTable()
        let before = try fixture.putVersion("k", .integer(1), wallMilliseconds: 1_000)
        let latestBefore = fixture.region.latestTimestamp

        storage.failsWrites = true
        let newTable = try TableName("new")
        let results = fixture.region.execute([
            .createTable(newTable, definition: .object([:])),
            .putItem(Fixture.table, try Key("k"), .integer(2), .none),
            .getItem(Fixture.table, try Key("k"), .eventual),
        ], wallMilliseconds: 9_000)
        #expect(results.count == 3)
        #expect(results.allSatisfy { $0.error?.code == "storage_unavailable" })
        #expect(results.allSatisfy { $0.error?.kind == .unavailable })

        #expect(try fixture.tableNames() == [Fixture.table])
        #expect(fixture.region.latestTimestamp == latestBefore)
        #expect(try fixture.item("k").version == before)

        storage.failsWrites = false
        let after = try fixture.putVersion("k", .integer(3), wallMilliseconds: 1_000)
        #expect(after > before)
        #expect(fixture.region.execute(.showTable(newTable), wallMilliseconds: 1_000).error?.code == "table_not_found")
    }

    @Test func readOnlyBatchWorksWhileWritesFail() throws {
        let storage = FailingWriteStorage()
        storage.failsWrites = false
        let fixture = try Fixture(storage: storage)
        try fixture.createTable()
        _ = try fixture.putVersion("k", .integer(1))
        storage.failsWrites = true
        #expect(try fixture.item("k").value == .integer(1))
    }
}

@Suite("Region restart")
struct RegionRestartTests {
    @Test func reopenedRegionIssuesVersionsAfterThePersistedClockHighWaterMark() throws {
        let storage = InMemoryStorage()
        let first = try Fixture(storage: storage)
        try first.createTable(wallMilliseconds: 5_000_000)
        let before = try first.putVersion("k", .integer(1), wallMilliseconds: 5_000_000)

        let reopened = try Fixture(storage: storage)
        #expect(reopened.region.latestTimestamp >= before.timestamp)
        let after = try reopened.putVersion("k", .integer(2), wallMilliseconds: 1_000)
        #expect(after.timestamp > before.timestamp)
    }

    @Test func reopenedRegionRestoresItsCatalog() throws {
        let storage = InMemoryStorage()
        let first = try Fixture(storage: storage)
        try first.createTable(Fixture.table, ["conflict": .string("merge")])
        _ = try first.putVersion("k", .integer(1))

        let reopened = try Fixture(storage: storage)
        #expect(try reopened.tableNames() == [Fixture.table])
        #expect(try reopened.item("k").value == .integer(1))
        let error = reopened.region.execute(.createTable(Fixture.table, definition: .object([:])), wallMilliseconds: 1_000).error
        #expect(error?.code == "table_exists")
    }
}
