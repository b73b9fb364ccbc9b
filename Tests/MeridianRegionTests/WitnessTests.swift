import MeridianCore
import MeridianRegion
import MeridianStorage
import Testing

/// A `strong` table over two data regions and a witness (issue 14): the witness votes and
/// keeps the log, stores none of the items, never serves, and lets the table fail over
/// when one data region is lost.
@Suite struct WitnessTests {
    static let table = RaftTableTests.table
    static let definition = JSONValue.object(["mode": .string("strong"), "regions": .array([.string("eu-west"), .string("us-east")]), "witness": .string("ap-south")])

    @Test func aWitnessVotesButStoresNoItemsAndTheTableFailsOverWithIt() throws {
        let cluster = try RaftTableTests.cluster(seed: 11)
        // The witness does not serve the table, not even its status: the data regions agree.
        let leader = try #require(Self.create(cluster, Self.definition, agreedBy: ["eu-west", "us-east"]), "the data regions agree on a leader")
        #expect(leader == "us-east" || leader == "eu-west", "a witness hands leadership to a data region")
        for index in 0..<10 {
            let written = RaftTableTests.await(cluster, leader, .putItem(Self.table, try Key("k\(index)"), .integer(Int64(index)), .none))
            #expect(written.error == nil, "\(written)")
        }
        cluster.settle(roundsMax: 20, roundsMin: 20)
        #expect(try cluster.items("ap-south", Self.table).isEmpty, "the witness stores no items")
        #expect(try cluster.items("eu-west", Self.table).count == 10 && cluster.items("us-east", Self.table).count == 10)
        // The witness is not a place to read or write the table.
        #expect(cluster.request("ap-south", .getItem(Self.table, try Key("k1"), .eventual)).error?.kind == .misdirected)

        // The leader's region is cut off from both others: the other data region and the
        // witness are a majority and elect the data region.
        let other = leader == "us-east" ? "eu-west" : "us-east"
        cluster.cut(leader, other)
        cluster.cut(leader, "ap-south")
        var newLeader: String?
        for _ in 0..<200 where newLeader == nil {
            cluster.settle(roundsMax: 5, roundsMin: 5)
            if RaftTableTests.leader(cluster, other) == other { newLeader = other }
        }
        #expect(newLeader == other, "the surviving data region leads with the witness's vote")
        let afterFailover = RaftTableTests.await(cluster, other, .putItem(Self.table, try Key("after"), .integer(1), .none))
        #expect(afterFailover.error == nil, "\(afterFailover)")
        #expect(try RaftTableTests.value(cluster, other, "after") == .integer(1))
        #expect(try cluster.items("ap-south", Self.table).isEmpty, "still no items at the witness")

        // Healed, the old leader follows and catches up; the witness still holds nothing.
        cluster.healAll()
        cluster.settle(roundsMax: 100, roundsMin: 100)
        #expect(try RaftTableTests.value(cluster, leader, "after") == .integer(1))
        #expect(try cluster.items("ap-south", Self.table).isEmpty)
    }

    /// Creates the table in us-east and runs until `regions` name the same leader; returns it.
    static func create(_ cluster: LocalCluster, _ definition: JSONValue, agreedBy regions: [String]) -> String? {
        let created = cluster.call("us-east", .createTable(table, definition: definition))
        guard case .success(.tableCreated(_, created: true)) = created else { Issue.record("create failed: \(created)"); return nil }
        for _ in 0..<200 {
            cluster.settle(roundsMax: 5, roundsMin: 5)
            let leaders = Set(regions.map { RaftTableTests.leader(cluster, $0) })
            if leaders.count == 1, let only = leaders.first, let leader = only { return leader }
        }
        return nil
    }

    @Test func aWitnessMustBeOutsideTheTablesRegions() throws {
        let cluster = try RaftTableTests.cluster(seed: 12)
        let refused = cluster.call("us-east", .createTable(Self.table, definition: .object([
            "mode": .string("strong"), "regions": .array([.string("eu-west"), .string("us-east")]), "witness": .string("us-east"),
        ])))
        #expect(refused.error?.code == "invalid_definition")
        let multiPrimary = cluster.call("us-east", .createTable(Self.table, definition: .object(["witness": .string("ap-south")])))
        #expect(multiPrimary.error?.code == "invalid_definition")
    }
}

/// A consensus table's `regions` change (issue 14): its group adds the new region as a
/// learner, promotes it once caught up, and removes the old one, one change at a time;
/// the new region ends with every item and the old one with none, and the table keeps
/// taking writes.
@Suite struct ConsensusRegionChangeTests {
    static let table = RaftTableTests.table

    @Test func aStrongTableMovesFromOneRegionToAnotherAndKeepsEveryWrite() throws {
        let cluster = try LocalCluster(["ap-south", "eu-west", "sa-east", "us-east"], seed: 13) { $0.raft.randomSeed = 13 }
        cluster.connectAll()
        let regions = JSONValue.array([.string("ap-south"), .string("eu-west"), .string("us-east")])
        let leader = try #require(WitnessTests.create(cluster, .object(["mode": .string("strong"), "regions": regions]), agreedBy: ["ap-south", "eu-west", "us-east"]))
        #expect(leader == "us-east")
        for index in 0..<20 {
            #expect(RaftTableTests.await(cluster, leader, .putItem(Self.table, try Key("k\(index)"), .integer(Int64(index)), .none)).error == nil)
        }
        let moved = cluster.call("eu-west", .changeRegions(Self.table, [cluster.id("eu-west"), cluster.id("sa-east"), cluster.id("us-east")]))
        guard case .success(.regionsChanged(let definition)) = moved else { Issue.record("change: \(moved)"); return }
        #expect(definition.regions.map(\.name) == ["eu-west", "sa-east", "us-east"])
        var settled = false
        for _ in 0..<300 where !settled {
            cluster.settle(roundsMax: 5, roundsMin: 5)
            settled = try cluster.items("sa-east", Self.table).count == 20 && cluster.items("ap-south", Self.table).isEmpty
                && RaftTableTests.leader(cluster, "sa-east") != nil
        }
        #expect(settled, "sa-east holds every item and ap-south none")
        // Writes go on, and the new region's vote counts: with ap-south cut off, a majority
        // of the new membership still commits.
        cluster.cut("ap-south", "us-east")
        cluster.cut("ap-south", "eu-west")
        cluster.cut("ap-south", "sa-east")
        let current = try #require(RaftTableTests.leader(cluster, "us-east"))
        let after = RaftTableTests.await(cluster, current, .putItem(Self.table, try Key("after"), .integer(1), .none))
        #expect(after.error == nil, "\(after)")
        cluster.settle(roundsMax: 20, roundsMin: 20)
        #expect(try RaftTableTests.value(cluster, "sa-east", "after") == .integer(1))
        #expect(try cluster.items("ap-south", Self.table).isEmpty)
    }
}
