import Foundation
import MeridianClient
import MeridianCore
import MeridianTestSupport
import Testing

/// `MeridianClient.changes(table:since:)` across a region's failure, and the deduplicator.
@Suite(.serialized)
struct ChangeSequenceTests {
    /// Collects what a sequence hands out, so a test can wait on it.
    actor Collected {
        var keys: [String] = []
        var regions: [String] = []
        func add(_ change: ChangeEvent) {
            keys.append(change.key ?? "")
            regions.append(change.region)
        }
    }

    @Test func theFeedFollowsTheNextNearestRegionWhenItsRegionDiesAndMissesNothing() async throws {
        let cluster = try LiveClusterTests.cluster()
        defer { cluster.stop() }
        let client = try await cluster.client(in: "eu-west")
        try await client.createTable("feed", definition: ["mode": .string("multi-primary"), "conflict": .string("lww")])
        try await cluster.waitForTable("feed", in: "us-east")
        let writer = try MeridianClient(regions: [RegionAddress(name: "us-east", url: cluster.url("us-east"))])
        let start = try await client.changePage(table: "feed", since: nil)
        #expect(start.region == "eu-west")
        let collected = Collected()
        let follower = Task {
            var deduplicator = ChangeDeduplicator()
            for try await change in client.changes(table: "feed", since: start.cursor) where !deduplicator.isRepeat(change) {
                await collected.add(change)
            }
        }
        defer { follower.cancel() }
        for index in 0..<10 { try await writer.put(table: "feed", key: "k\(index)", value: .integer(Int64(index))) }
        #expect(try await LiveClusterTests.eventually { await collected.keys.count >= 10 })
        cluster.kill9("eu-west")
        for index in 10..<20 { try await writer.put(table: "feed", key: "k\(index)", value: .integer(Int64(index))) }
        #expect(try await LiveClusterTests.eventually { await Set(collected.keys).count >= 20 })
        let keys = await collected.keys
        #expect(Set(keys) == Set((0..<20).map { "k\($0)" }), "every change, none missed")
        #expect(keys.count == 20, "repeats after the move are dropped")
        let regions = await collected.regions
        #expect(regions.first == "eu-west" && regions.last == "us-east", "read from the next-nearest region after eu-west died")
    }

    @Test func theDeduplicatorDropsChangesWhoseContextWasSeen() {
        func change(_ key: String, _ context: String?, timestamp: String = "1.0") -> ChangeEvent {
            ChangeEvent(kind: "put", table: "t", key: key, timestamp: timestamp, context: context, sequence: 1, cursor: "c", appliedAtMilliseconds: 0, region: "r")
        }
        var deduplicator = ChangeDeduplicator(keysMax: 2)
        let changes = [
            change("a", "eu-west.1~us-east.2"), change("a", "us-east.2"), change("a", "eu-west.1~us-east.2"),
            change("a", "ap-south.1~us-east.2"), change("a", "ap-south.1~eu-west.1~us-east.2"),
            change("b", nil, timestamp: "5.0"), change("b", nil, timestamp: "4.9"), change("b", nil, timestamp: "5.1"),
            change("c", "us-east.1"), change("a", "us-east.1"),
        ]
        let repeats = changes.map { deduplicator.isRepeat($0) }
        // Seen, included, the same, concurrent (new), the join of both seen; by timestamp without a
        // context (new, older, newer); a new key; a key forgotten (two are kept) passes as new.
        #expect(repeats == [false, true, true, false, true, false, true, false, false, false])
    }
}
