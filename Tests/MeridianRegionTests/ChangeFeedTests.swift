import MeridianCore
import MeridianRegion
import MeridianStorage
import Testing

/// The change feed: recorded in the step that applies each change, served in pages after a
/// cursor, resumed in another region from the cursor's mark, bounded by retention.
@Suite struct ChangeFeedTests {
    static let table = try! TableName("chat")

    /// Reads a region's whole feed of `table` after `start` in pages of `limit`.
    static func follow(_ read: (ChangeStart) -> Result<RegionReply, MeridianError>, from start: ChangeStart,
                       pagesMax: Int = 10_000) throws -> (changes: [ChangeRecord], cursor: ChangeCursor, resumed: Bool) {
        var start = start
        var changes: [ChangeRecord] = []
        var resumed = false
        for _ in 0..<pagesMax {
            let reply = try read(start).get()
            guard case .changes(let page) = reply else { throw UnexpectedReply(reply: reply) }
            resumed = resumed || page.resumedFromMark
            for change in page.changes { #expect(page.cursor(after: change).sequence == change.sequence) }
            changes += page.changes
            start = .cursor(page.cursor)
            if page.caughtUp { return (changes, page.cursor, resumed) }
        }
        Issue.record("the feed did not catch up")
        return (changes, ChangeCursor(region: Fixture.usEast, epoch: 0, sequence: 0, mark: nil), resumed)
    }

    static func follow(_ cluster: LocalCluster, _ region: String, from start: ChangeStart, limit: Int = 7) throws -> (changes: [ChangeRecord], cursor: ChangeCursor, resumed: Bool) {
        try follow({ cluster.request(region, .changes(table, $0, limit: limit)) }, from: start)
    }

    static func item(_ change: ChangeRecord) -> StoredItem? {
        if case .item(let item) = change.change { return item }
        return nil
    }

    static func mergeCluster() throws -> LocalCluster {
        let cluster = try LocalCluster(["ap-south", "eu-west", "us-east"], seed: 3)
        cluster.connectAll()
        _ = try cluster.call("us-east", .createTable(table, definition: .object(["conflict": .string("merge")]))).get()
        cluster.settle()
        return cluster
    }

    @Test func everyRegionRecordsEveryChangeOnceInItsApplyOrderAndItsFeedReplaysToItsItems() throws {
        let cluster = try Self.mergeCluster()
        let starts = Dictionary(uniqueKeysWithValues: try cluster.ids.map { ($0.name, try Self.follow(cluster, $0.name, from: .latest).cursor) })
        for round in 0..<5 {
            for (index, region) in ["us-east", "eu-west", "ap-south"].enumerated() {
                _ = try cluster.request(region, .putItem(Self.table, try Key("room/\(round)-\(index)"), .object(["text": .string("\(region) \(round)")]), .none)).get()
                _ = try cluster.request(region, .putItem(Self.table, try Key("room/shared"), .object([region: .integer(Int64(round))]), .none)).get()
            }
            cluster.settle(roundsMax: 3)
        }
        _ = try cluster.request("eu-west", .deleteItem(Self.table, try Key("room/0-0"), .none)).get()
        cluster.settle()
        for region in cluster.ids.map(\.name) {
            let (changes, _, resumed) = try Self.follow(cluster, region, from: .cursor(starts[region]!))
            #expect(!resumed)
            // The whole feed of the region, all tables: sequences from 1 without a gap.
            let all = try cluster.storages[cluster.id(region)]!.read { try $0.changes(table: nil, after: 0, limit: 100_000) }
            #expect(all.map(\.sequence) == Array(1...UInt64(all.count)), "\(region): gap-free")
            #expect(changes.map(\.sequence) == all.filter { $0.table == Self.table }.map(\.sequence).filter { $0 > starts[region]!.sequence })
            // Folding the feed gives the region's items: every change was recorded, in order.
            var folded: [Key: StoredItem] = [:]
            for change in changes { if let item = Self.item(change) { folded[item.key] = item } }
            let items = try cluster.items(region, Self.table)
            #expect(folded.values.sorted { $0.key < $1.key } == items, "\(region): the feed replays to the items")
            #expect(changes.contains { Self.item($0)?.key == (try? Key("room/0-0")) && Self.item($0)?.isTombstone == true }, "the delete is a change")
            #expect(Set(changes.compactMap { Self.item($0)?.version.origin }).count == 3, "changes from every origin")
        }
    }

    @Test func aChangeThatOverwroteAConcurrentWriteIsMarkedAsAConflict() throws {
        let cluster = try Self.mergeCluster()
        let key = try Key("room/m1")
        _ = try cluster.request("us-east", .putItem(Self.table, key, .object(["text": .string("hello")]), .none)).get()
        cluster.settle()
        let start = try Self.follow(cluster, "ap-south", from: .latest).cursor
        // The same field edited in two regions at once: one edit overwrites the other.
        _ = try cluster.request("us-east", .putItem(Self.table, key, .object(["text": .string("edited in us-east")]), .none)).get()
        _ = try cluster.request("ap-south", .putItem(Self.table, key, .object(["text": .string("edited in ap-south")]), .none)).get()
        cluster.settle()
        let changes = try Self.follow(cluster, "ap-south", from: .cursor(start)).changes
        #expect(changes.count == 2)
        #expect(changes.map(\.conflict) == [false, true], "the replicated edit meets the local one: the resolution is marked")
        #expect(try cluster.conflicts("ap-south", Self.table).count == 1)
    }

    @Test func anotherRegionsCursorResumesFromItsMarkWithoutAGap() throws {
        let cluster = try Self.mergeCluster()
        for index in 0..<10 {
            _ = try cluster.request("us-east", .putItem(Self.table, try Key("k\(index)"), .integer(Int64(index)), .none)).get()
        }
        cluster.settle(roundsMax: 50, roundsMin: 50)  // heartbeats let each region vouch for the others
        let seen = try Self.follow(cluster, "us-east", from: .latest)
        #expect(seen.cursor.mark != nil, "a caught-up page carries a resolved mark")
        for index in 10..<20 {
            _ = try cluster.request("us-east", .putItem(Self.table, try Key("k\(index)"), .integer(Int64(index)), .none)).get()
        }
        cluster.settle()
        // us-east is gone; the subscriber moves to eu-west with us-east's cursor.
        let moved = try Self.follow(cluster, "eu-west", from: .cursor(seen.cursor))
        #expect(moved.resumed)
        let keys = Set(moved.changes.compactMap { Self.item($0)?.key.string })
        #expect(keys.isSuperset(of: (10..<20).map { "k\($0)" }), "every change after the cursor arrives")
        #expect(keys.count < 20, "changes the mark covers are not replayed")
    }

    @Test func aCursorRetentionPassedIsGoneAndNamesTheResync() throws {
        var configuration = RegionConfiguration(id: Fixture.usEast, clusterRegions: [Fixture.usEast])
        configuration.changeFeed.retainedChangesMax = 1_000
        let storage = InMemoryStorage()
        let region = try Region(configuration: configuration, storage: storage)
        _ = try region.execute(.createTable(Self.table, definition: .object([:])), wallMilliseconds: 1_000).get()
        let start = try Self.follow({ region.execute(.changes(Self.table, $0, limit: 100), wallMilliseconds: 1_000) }, from: .latest).cursor
        let writes = try (0..<1_200).map { RegionRequest.putItem(Self.table, try Key("k\($0)"), .integer(Int64($0)), .none) }
        for result in region.execute(writes, wallMilliseconds: 2_000) { _ = try result.get() }
        _ = region.step([.tick], wallMilliseconds: 3_000)
        #expect(try storage.read { try $0.changeBounds() } == 201...1_200, "retention keeps the newest 1,000")
        let gone = region.execute(.changes(Self.table, .cursor(start), limit: 100), wallMilliseconds: 3_000).error
        #expect(gone?.kind == .gone && gone?.code == "cursor_expired")
        #expect(gone?.message.contains("scan the table") == true)
        let recent = ChangeCursor(region: Fixture.usEast, epoch: start.epoch, sequence: 600, mark: nil)
        #expect(try Self.follow({ region.execute(.changes(Self.table, $0, limit: 1_000), wallMilliseconds: 3_000) }, from: .cursor(recent)).changes.count == 600)
        // The sequence and epoch outlive a restart, and the feed goes on without a gap.
        let reopened = try Region(configuration: configuration, storage: storage)
        #expect(reopened.latestChangeSequence == 1_200)
        _ = try reopened.execute(.putItem(Self.table, try Key("after"), .null, .none), wallMilliseconds: 4_000).get()
        let after = try Self.follow({ reopened.execute(.changes(Self.table, $0, limit: 10), wallMilliseconds: 4_000) }, from: .cursor(
            ChangeCursor(region: Fixture.usEast, epoch: start.epoch, sequence: 1_200, mark: nil)))
        #expect(after.changes.map(\.sequence) == [1_201])
    }

    @Test func aDeletedTableLeavesAClearedChangeAndARemovedRegionWithholdsItsChanges() throws {
        let cluster = try Self.mergeCluster()
        let start = try Self.follow(cluster, "eu-west", from: .latest).cursor
        _ = try cluster.request("us-east", .putItem(Self.table, try Key("a"), .integer(1), .none)).get()
        cluster.settle()
        _ = try cluster.call("us-east", .changeRegions(Self.table, [cluster.id("us-east"), cluster.id("ap-south")])).get()
        cluster.settle()
        let refused = cluster.request("eu-west", .changes(Self.table, .cursor(start), limit: 10)).error
        #expect(refused?.kind == .misdirected, "a region never streams a table it may not hold")
        #expect(try cluster.storages[cluster.id("eu-west")]!.read { try $0.residue(table: Self.table) }.changes == 0)

        let before = try Self.follow(cluster, "ap-south", from: .latest).cursor
        _ = try cluster.call("ap-south", .deleteTable(Self.table)).get()
        _ = try cluster.call("ap-south", .createTable(Self.table, definition: .object([:]))).get()
        _ = try cluster.request("ap-south", .putItem(Self.table, try Key("b"), .integer(2), .none)).get()
        let changes = try Self.follow(cluster, "ap-south", from: .cursor(before)).changes
        #expect(changes.count == 2)
        #expect(changes.first?.change == .tableCleared(changes.first!.timestamp) && changes.first!.timestamp > .zero)
        #expect(Self.item(changes[1])?.key.string == "b")
    }

    @Test func raftTableChangesCarryTheirIndexAndResumeByIt() throws {
        let cluster = try RaftTableTests.cluster()
        try RaftTableTests.create(cluster, at: "us-east", .object(["mode": .string("strong")]))
        let table = RaftTableTests.table
        func follow(_ region: String, _ start: ChangeStart) throws -> (changes: [ChangeRecord], cursor: ChangeCursor, resumed: Bool) {
            try Self.follow({ cluster.request(region, .changes(table, $0, limit: 3)) }, from: start)
        }
        let start = try follow("eu-west", .latest).cursor
        for index in 0..<4 {
            _ = try RaftTableTests.await(cluster, "us-east", .putItem(table, try Key("k\(index)"), .integer(Int64(index)), .none)).get()
        }
        cluster.settle(roundsMax: 20, roundsMin: 20)
        let seen = try follow("eu-west", .cursor(start))
        #expect(seen.changes.count == 4)
        #expect(seen.changes.map(\.raftIndex) == seen.changes.map(\.raftIndex).sorted() && seen.changes.allSatisfy { $0.raftIndex > 0 })
        guard case .raftIndex(let index)? = seen.cursor.mark else { Issue.record("no Raft mark: \(seen.cursor)"); return }
        #expect(index >= seen.changes.last!.raftIndex)
        for index in 4..<6 {
            _ = try RaftTableTests.await(cluster, "us-east", .putItem(table, try Key("k\(index)"), .integer(Int64(index)), .none)).get()
        }
        cluster.settle(roundsMax: 20, roundsMin: 20)
        let moved = try follow("ap-south", .cursor(seen.cursor))
        #expect(moved.resumed)
        #expect(moved.changes.compactMap { Self.item($0)?.key.string } == ["k4", "k5"], "exactly the entries after the mark")
    }

    @Test func cursorsRoundTripAndBadOnesAreRefused() throws {
        let cursor = ChangeCursor(region: Fixture.euWest, epoch: 1_795_802_240_341, sequence: 42, mark: .timestamp(HLCTimestamp(physicalMilliseconds: 5, logical: 1)))
        #expect(try ChangeCursor(parsing: cursor.description) == cursor)
        let raft = ChangeCursor(region: Fixture.euWest, epoch: 1, sequence: 0, mark: .raftIndex(9))
        #expect(try ChangeCursor(parsing: raft.description) == raft)
        for bad in ["", "us-east", "us-east.1", "US.1.2", "us-east.1.2.x3", "us-east.1.2.t", "us-east.-1.2", "us-east.1.2.r3.4", String(repeating: "a", count: 300)] {
            #expect(throws: MeridianError.self) { try ChangeCursor(parsing: bad) }
        }
    }
}

/// Issue 15, item 2: a repair removes a region's damaged rows (none in memory) and copies
/// the table back from a region that holds it; it refuses what it cannot repair.
@Suite("Repairing a table")
struct RepairTests {
    static let table = try! TableName("notes")

    @Test func aRepairCopiesAMultiPrimaryTableBackFromAConnectedRegion() throws {
        let cluster = try LocalCluster(["ap-south", "eu-west", "us-east"], seed: 5)
        cluster.connectAll()
        _ = try cluster.call("us-east", .createTable(Self.table, definition: .object([:]))).get()
        cluster.settle()
        for index in 0..<5 { _ = try cluster.request("us-east", .putItem(Self.table, try Key("k\(index)"), .integer(Int64(index)), .none)).get() }
        cluster.settle()
        let reply = try cluster.request("eu-west", .repairTable(Self.table)).get()
        guard case .repairing(let table, let removed, let source) = reply else { throw UnexpectedReply(reply: reply) }
        #expect(table == Self.table && removed == 0)
        #expect(source != nil && source != cluster.id("eu-west"))
        cluster.settle()
        #expect(try cluster.items("eu-west", Self.table).map(\.key.string) == (0..<5).map { "k\($0)" })
    }

    @Test func aRepairIsRefusedForConsensusTablesAndWithoutAnotherCopy() throws {
        let cluster = try LocalCluster(["ap-south", "eu-west", "us-east"], seed: 6)
        cluster.connectAll()
        _ = try cluster.call("us-east", .createTable(Self.table, definition: .object(["mode": .string("strong")]))).get()
        let only = try TableName("local_only")
        _ = try cluster.call("us-east", .createTable(only, definition: .object(["regions": .array([.string("us-east")])]))).get()
        cluster.settle()
        #expect(cluster.request("us-east", .repairTable(Self.table)).error?.code == "repair_unsupported")
        #expect(cluster.request("us-east", .repairTable(only)).error?.code == "no_healthy_copy")
        #expect(cluster.request("eu-west", .repairTable(only)).error?.kind == .misdirected)
    }
}
