import MeridianCore
import MeridianRegion
import MeridianReplication
import MeridianStorage
import MeridianTestSupport
import Testing

/// Multi-primary replication between regions, end to end through `Region.step`.
struct ReplicationTests {
    init() {}
    static let table = try! TableName("t")
    static let names = ["us-east", "eu-west", "ap-south"]

    func makeCluster(policy: ConflictPolicy = .lww, regions: [String]? = nil, seed: UInt64 = 1,
                     configure: (inout RegionConfiguration) -> Void = { _ in }) throws -> LocalCluster {
        let cluster = try LocalCluster(Self.names, seed: seed, configure: configure)
        cluster.connectAll()
        var definition: [String: JSONValue] = ["conflict": .string(policy.rawValue)]
        if let regions { definition["regions"] = .array(regions.map(JSONValue.string)) }
        _ = try cluster.call("us-east", .createTable(Self.table, definition: .object(definition))).get()
        cluster.settle()
        return cluster
    }

    func put(_ cluster: LocalCluster, _ region: String, _ key: String, _ value: JSONValue) throws -> ItemVersion {
        guard case .written(_, let version, _) = try cluster.request(region, .putItem(Self.table, try Key(key), value, .none)).get() else {
            throw MeridianError.invalid("test", "unexpected reply")
        }
        return version
    }

    func expectConverged(_ cluster: LocalCluster, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let reference = try cluster.items("us-east", Self.table)
        for name in Self.names.dropFirst() {
            #expect(try cluster.items(name, Self.table) == reference, "\(name) differs from us-east", sourceLocation: sourceLocation)
        }
    }

    @Test func aTableCreatedInOneRegionReachesEveryRegion() throws {
        let cluster = try makeCluster()
        for name in Self.names {
            guard case .tables(let tables) = try cluster.request(name, .listTables).get() else { Issue.record("no tables"); continue }
            #expect(tables.map(\.definition.name) == [Self.table], "in \(name)")
        }
    }

    @Test(arguments: ConflictPolicy.allCases)
    func concurrentWritesEverywhereConvergeToIdenticalItems(policy: ConflictPolicy) throws {
        let cluster = try makeCluster(policy: policy, seed: 7)
        var random = SplitMix64(seed: 99)
        for round in 0..<30 {
            for name in Self.names {
                let key = "k\(Int.random(in: 0..<8, using: &random))"
                let value: JSONValue = .object(["by": .string(name), "round": .integer(Int64(round)),
                                                "f\(Int.random(in: 0..<3, using: &random))": .integer(Int64(round))])
                _ = try put(cluster, name, key, value)
            }
            // Deliver only part of the time, so that many writes are concurrent.
            if round % 3 == 0 { cluster.settle(roundsMax: 1) }
        }
        cluster.settle()
        try expectConverged(cluster)
        #expect(try cluster.items("us-east", Self.table).count == 8)
    }

    @Test func everyConcurrentlyOverwrittenValueIsInALedger() throws {
        let cluster = try makeCluster(policy: .lww)
        var written: [ItemVersion: JSONValue] = [:]
        for key in 0..<10 {
            for name in Self.names {
                let value = JSONValue.string("\(name)-\(key)")
                written[try put(cluster, name, "k\(key)", value)] = value
            }
        }
        cluster.settle()
        try expectConverged(cluster)
        let current = Set(try cluster.items("us-east", Self.table).map(\.version))
        let ledgered = Set(try Self.names.flatMap { try cluster.conflicts($0, Self.table) }.map(\.overwritten.version))
        for (version, _) in written {
            #expect(current.contains(version) || ledgered.contains(version), "\(version) is neither current nor in a ledger")
        }
        #expect(current.count == 10)
        #expect(ledgered.count == 20, "every write but each key's winner lost a concurrent race")
    }

    @Test func concurrentEditsToDifferentFieldsBothSurvive() throws {
        let cluster = try makeCluster(policy: .merge)
        _ = try put(cluster, "us-east", "message", .object(["text": .string("hello"), "reactions": .array([])]))
        cluster.settle()
        _ = try put(cluster, "us-east", "message", .object(["text": .string("edited"), "reactions": .array([])]))
        _ = try put(cluster, "eu-west", "message", .object(["text": .string("hello"), "reactions": .array([.string("+1")])]))
        cluster.settle()
        try expectConverged(cluster)
        let item = try #require(try cluster.items("ap-south", Self.table).first)
        #expect(item.value == .object(["text": .string("edited"), "reactions": .array([.string("+1")])]))
        #expect(try cluster.conflicts("us-east", Self.table).isEmpty, "nothing was overwritten")
    }

    @Test func siblingsAreKeptUntilAWriteWithTheirContextResolvesThem() throws {
        let cluster = try makeCluster(policy: .siblings)
        _ = try put(cluster, "us-east", "cart", .array([.string("book")]))
        _ = try put(cluster, "eu-west", "cart", .array([.string("pen")]))
        cluster.settle()
        try expectConverged(cluster)
        let merged = try #require(try cluster.items("ap-south", Self.table).first?.record)
        #expect(merged.siblings.count == 2)
        _ = try cluster.request("ap-south", .putItem(Self.table, try Key("cart"), .array([.string("book"), .string("pen")]), .none, context: merged.vector)).get()
        cluster.settle()
        try expectConverged(cluster)
        let resolved = try #require(try cluster.items("us-east", Self.table).first)
        #expect(resolved.record?.siblings.count == 1)
        #expect(resolved.value == .array([.string("book"), .string("pen")]))
    }

    @Test func twoRegionsWhoseLinkIsCutConvergeThroughTheThird() throws {
        let cluster = try makeCluster()
        cluster.cut("us-east", "eu-west")
        _ = try put(cluster, "us-east", "a", .string("from us-east"))
        _ = try put(cluster, "eu-west", "b", .string("from eu-west"))
        cluster.settle()
        try expectConverged(cluster)
        #expect(try cluster.items("eu-west", Self.table).map(\.key.string) == ["a", "b"])
    }

    @Test func lossDuplicationAndReorderingStillConverge() throws {
        let cluster = try makeCluster(policy: .merge, seed: 3)
        cluster.lossPercent = 20
        cluster.duplicatePercent = 10
        cluster.reorderPercent = 30
        var random = SplitMix64(seed: 5)
        for round in 0..<60 {
            let name = Self.names[round % 3]
            _ = try put(cluster, name, "k\(Int.random(in: 0..<5, using: &random))", .object(["f\(round % 4)": .integer(Int64(round))]))
            cluster.settle(roundsMax: 1)
        }
        cluster.settle(roundsMax: 200)
        cluster.lossPercent = 0
        cluster.duplicatePercent = 0
        cluster.reorderPercent = 0
        cluster.settle()
        try expectConverged(cluster)
    }

    @Test func aRestartedRegionResumesFromItsPositions() throws {
        let cluster = try makeCluster()
        for index in 0..<20 { _ = try put(cluster, Self.names[index % 3], "k\(index)", .integer(Int64(index))) }
        cluster.settle(roundsMax: 1)
        try cluster.restart("eu-west")
        for index in 20..<40 { _ = try put(cluster, Self.names[index % 3], "k\(index)", .integer(Int64(index))) }
        cluster.settle()
        try expectConverged(cluster)
        #expect(try cluster.items("eu-west", Self.table).count == 40)
    }

    @Test func aRegionTooFarBehindCatchesUpFromASnapshot() throws {
        let cluster = try makeCluster { $0.replication.originLogEntriesRetainedMax = 5 }
        cluster.cut("ap-south", "us-east")
        cluster.cut("ap-south", "eu-west")
        for index in 0..<50 { _ = try put(cluster, index % 2 == 0 ? "us-east" : "eu-west", "k\(index)", .integer(Int64(index))) }
        cluster.settle(roundsMax: 50)
        let stored = try cluster.storages[cluster.id("us-east")]!.read { try $0.logEntries(origin: cluster.id("us-east"), after: 0, limit: 1000) }
        #expect(stored.count <= 5, "the log was truncated past what ap-south has")
        cluster.healAll()
        cluster.settle()
        try expectConverged(cluster)
        #expect(try cluster.items("ap-south", Self.table).count == 50)
        #expect(cluster.regions[cluster.id("ap-south")]!.counters.snapshotsInstalled >= 1)
        // Streaming resumes after the snapshot.
        _ = try put(cluster, "us-east", "after", .bool(true))
        cluster.settle()
        try expectConverged(cluster)
    }

    @Test func aDeletedTableLosesItsItemsEverywhereAndOldWritesDoNotComeBack() throws {
        let cluster = try makeCluster()
        for index in 0..<5 { _ = try put(cluster, "us-east", "k\(index)", .integer(Int64(index))) }
        cluster.settle()
        cluster.cut("us-east", "ap-south")
        cluster.cut("us-east", "eu-west")
        // Written before the deletion, delivered after it.
        _ = try put(cluster, "us-east", "late", .string("old incarnation"))
        cluster.wallMilliseconds += 10
        #expect(try cluster.call("eu-west", .deleteTable(Self.table)).get() == .tableDeleted(Self.table))
        cluster.settle(roundsMax: 20)
        _ = try cluster.call("eu-west", .createTable(Self.table, definition: .object([:]))).get()
        cluster.healAll()
        cluster.settle()
        for name in Self.names { #expect(try cluster.items(name, Self.table).isEmpty, "in \(name)") }
    }

    @Test func aConfinedTableStaysInItsRegions() throws {
        let cluster = try makeCluster(regions: ["us-east", "eu-west"])
        _ = try put(cluster, "us-east", "secret-key", .string("secret-value"))
        cluster.settle()
        #expect(try cluster.items("eu-west", Self.table).count == 1)
        #expect(try cluster.items("ap-south", Self.table).isEmpty)
        let shipped = try cluster.storages[cluster.id("ap-south")]!.read { try $0.logEntries(origin: cluster.id("us-east"), after: 0, limit: 100) }
        for entry in shipped {
            if case .item = entry.payload { Issue.record("ap-south stored an item entry of a confined table") }
        }
        #expect(cluster.request("ap-south", .getItem(Self.table, try Key("secret-key"), .eventual)).error?.code == "table_not_in_region")
    }

    @Test func entriesFromAClockTooFarAheadWaitUntilLocalTimeCatchesUp() throws {
        let cluster = try makeCluster()
        cluster.clockAheadMilliseconds[cluster.id("eu-west")] = 5_000
        _ = try put(cluster, "eu-west", "k", .string("from the future"))
        cluster.settle(roundsMax: 10, millisecondsPerRound: 10)
        #expect(try cluster.items("us-east", Self.table).isEmpty, "a timestamp 5 s ahead is not adopted")
        #expect(cluster.regions[cluster.id("us-east")]!.counters.clockSkewRejections > 0)
        cluster.settle(roundsMax: 1000, millisecondsPerRound: 20)
        try expectConverged(cluster)
        #expect(try cluster.items("us-east", Self.table).count == 1)
    }
}

/// Changing a table's regions: added regions get a copy, removed ones delete every byte.
struct RegionsChangeTests {
    static let table = ReplicationTests.table

    @Test func anAddedRegionReceivesACopyAndARemovedOneDeletesEveryByte() throws {
        let helper = ReplicationTests()
        let cluster = try helper.makeCluster(regions: ["us-east", "eu-west"])
        for index in 0..<30 { _ = try helper.put(cluster, index % 2 == 0 ? "us-east" : "eu-west", "marker-\(index)", .string("secret-\(index)")) }
        cluster.settle()
        #expect(try cluster.items("ap-south", Self.table).isEmpty)

        let added = try cluster.call("eu-west", .changeRegions(Self.table, [cluster.id("us-east"), cluster.id("ap-south")])).get()
        guard case .regionsChanged(let definition) = added else { Issue.record("unexpected \(added)"); return }
        #expect(definition.regions.map(\.name) == ["ap-south", "us-east"])
        // A copy request that reaches a holder before the change does is refused and asked again.
        cluster.settle(roundsMin: 300)
        #expect(try cluster.items("ap-south", Self.table) == (try cluster.items("us-east", Self.table)), "ap-south has a full copy")
        #expect(try cluster.items("ap-south", Self.table).count == 30)

        guard case .placement(let residue, let listed) = try cluster.request("eu-west", .placement(Self.table)).get() else { Issue.record("no placement"); return }
        #expect(!listed)
        #expect(residue.isEmpty, "eu-west kept \(residue)")
        let eu = cluster.id("eu-west")
        for origin in cluster.ids {
            for entry in try cluster.storages[eu]!.read({ try $0.logEntries(origin: origin, after: 0, limit: 10_000) }) {
                if case .item(let record, _, _) = entry.payload, record.name == Self.table { Issue.record("eu-west still logs an item of the table") }
            }
        }
        // Writes after the change reach the new region and not the removed one.
        _ = try helper.put(cluster, "us-east", "after", .bool(true))
        cluster.settle()
        #expect(try cluster.items("ap-south", Self.table).count == 31)
        #expect(try cluster.items("eu-west", Self.table).isEmpty)
    }

    @Test func aReclaimThatFindsTheDatabaseBusyStaysPendingAndPlacementSaysSo() throws {
        let storage = BusyReclaimStorage(busyReclaimsLeft: 2)
        let fixture = try Fixture(storage: storage)
        try fixture.createTable(Fixture.table, ["regions": .array([.string("us-east"), .string("eu-west")])])
        _ = try fixture.putVersion("k", .string("secret"))
        _ = try fixture.region.execute(.changeRegions(Fixture.table, [Fixture.euWest, Fixture.apSouth]), wallMilliseconds: 2_000).get()
        // The rows are gone but the first reclaim failed: the bytes may still be in the files.
        guard case .placement(let pending, let listed) = try fixture.region.execute(.placement(Fixture.table), wallMilliseconds: 2_000).get() else {
            Issue.record("no placement"); return
        }
        #expect(!listed)
        #expect(pending.items == 0 && pending.reclaimPending && !pending.isEmpty)
        #expect(storage.reclaims == 0)
        // Retried on ticks only (a read does not retry): the first fails again, the next succeeds.
        #expect(storage.busyReclaimsLeft == 1)
        _ = fixture.region.step([.tick], wallMilliseconds: 2_050)
        #expect(storage.reclaims == 0 && storage.busyReclaimsLeft == 0)
        _ = fixture.region.step([.tick], wallMilliseconds: 2_060)
        #expect(storage.reclaims == 1)
        guard case .placement(let done, _) = try fixture.region.execute(.placement(Fixture.table), wallMilliseconds: 2_100).get() else {
            Issue.record("no placement"); return
        }
        #expect(done.isEmpty, "\(done)")
        _ = fixture.region.step([.tick], wallMilliseconds: 2_150)
        #expect(storage.reclaims == 1, "a finished reclaim is not repeated")
    }

    @Test func aRequestForATableElsewhereIsMisdirectedAndPlacementAnswersEverywhere() throws {
        let helper = ReplicationTests()
        let cluster = try helper.makeCluster(regions: ["us-east"])
        let error = cluster.request("ap-south", .putItem(Self.table, try Key("k"), .null, .none)).error
        #expect(error?.kind == .misdirected)
        guard case .placement(let residue, let listed) = try cluster.request("ap-south", .placement(Self.table)).get() else { Issue.record("no placement"); return }
        #expect(!listed && residue.isEmpty)
    }
}

/// The catalog group: table definitions ordered by consensus.
@Suite struct CatalogGroupTests {
    static let table = ReplicationTests.table

    @Test func concurrentCreatesWithDifferentDefinitionsGetExactlyOneWinner() throws {
        let cluster = try LocalCluster(["us-east", "eu-west", "ap-south"], seed: 5)
        cluster.connectAll()
        _ = cluster.call("us-east", .listTables)  // let the catalog elect its leader
        cluster.settle(roundsMax: 40, roundsMin: 40)
        // Two regions create the table at the same moment, with different policies.
        let fromEast = cluster.request("us-east", .createTable(Self.table, definition: .object(["conflict": .string("lww")])))
        let fromSouth = cluster.request("ap-south", .createTable(Self.table, definition: .object(["conflict": .string("merge")])))
        guard case .success(.pending(let eastTicket)) = fromEast, case .success(.pending(let southTicket)) = fromSouth else {
            Issue.record("creations did not wait for the catalog: \(fromEast), \(fromSouth)"); return
        }
        cluster.settle(roundsMax: 200, roundsMin: 20)
        let outcomes = [cluster.completions[cluster.id("us-east")]?[eastTicket], cluster.completions[cluster.id("ap-south")]?[southTicket]]
        let created = outcomes.filter { if case .success(.tableCreated(_, created: true))? = $0 { return true } else { return false } }
        let refused = outcomes.compactMap { outcome -> String? in if case .failure(let error)? = outcome { return error.code } else { return nil } }
        #expect(created.count == 1, "outcomes: \(outcomes)")
        #expect(refused == ["table_exists"], "outcomes: \(outcomes)")
        // Every region holds the winner's definition.
        let definitions = cluster.ids.map { id -> TableDefinition? in
            guard case .success(.table(let status)) = cluster.request(id.name, .showTable(Self.table)) else { return nil }
            return status.definition
        }
        #expect(Set(definitions.compactMap { $0?.conflict }).count == 1 && definitions.allSatisfy { $0 != nil }, "definitions: \(definitions)")
    }

    @Test func aTableCreatedInOneRegionCanBeWrittenInAnotherAtOnce() throws {
        let cluster = try LocalCluster(["us-east", "eu-west", "ap-south"], seed: 6)
        cluster.connectAll()
        _ = cluster.call("us-east", .listTables)
        cluster.settle(roundsMax: 40, roundsMin: 40)
        // ap-south is slow to hear the catalog: the creation commits with us-east and eu-west.
        cluster.cut("us-east", "ap-south")
        guard case .success(.tableCreated(_, created: true)) = cluster.call("us-east", .createTable(Self.table, definition: .object([:]))) else {
            Issue.record("create failed"); return
        }
        cluster.healAll()
        // Right after the create returned: ap-south waits for the catalog instead of refusing.
        let written = cluster.call("ap-south", .putItem(Self.table, try Key("k"), .integer(1), .none))
        guard case .success(.written) = written else { Issue.record("write in ap-south: \(written)"); return }
    }

    @Test func aTableUnknownEverywhereIsNotFoundOnceTheCatalogConfirmsIt() throws {
        let cluster = try LocalCluster(["us-east", "eu-west", "ap-south"], seed: 7)
        cluster.connectAll()
        _ = cluster.call("us-east", .listTables)
        cluster.settle(roundsMax: 40, roundsMin: 40)
        let reply = cluster.call("ap-south", .getItem(try TableName("nowhere"), try Key("k"), .eventual))
        #expect(reply.error?.code == "table_not_found")
    }
}
