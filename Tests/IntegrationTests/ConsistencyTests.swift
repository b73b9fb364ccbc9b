import Foundation
import MeridianCore
import Testing

/// Read consistency across real regions with injected latency.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct ConsistencyTests {
    typealias Cluster = MultiRegionTests.Cluster

    @Test func aSessionReadsItsOwnWriteInAnotherRegion() async throws {
        let cluster = try Cluster(oneWayMilliseconds: 60)
        defer { cluster.stop() }
        #expect(try await send("PUT", "\(cluster.url("us-east"))/v1/tables/profiles", body: "{}").status == 201)
        #expect(try await cluster.eventually { try await send("GET", "\(cluster.url("ap-south"))/v1/tables/profiles").status == 200 })
        for round in 0..<5 {
            let write = try await send("PUT", "\(cluster.url("us-east"))/v1/tables/profiles/items/alex", body: #"{"round": \#(round)}"#)
            let token = try #require(write.headers["meridian-session"])
            // Immediately, in a region 60 ms away: the read waits for replication or is forwarded.
            let read = try await send("GET", "\(cluster.url("ap-south"))/v1/tables/profiles/items/alex?consistency=session", headers: ["Meridian-Session": token])
            #expect(read.status == 200)
            #expect(try read.json()["value"] == .object(["round": .integer(Int64(round))]), "read your writes, round \(round)")
            #expect(try read.json()["consistency"] == .string("session"))
        }
        // Without the token, the same read at eventual can be stale: that is what the token buys.
        var staleSeen = false
        for round in 5..<25 where !staleSeen {
            _ = try await send("PUT", "\(cluster.url("us-east"))/v1/tables/profiles/items/alex", body: #"{"round": \#(round)}"#)
            let read = try await send("GET", "\(cluster.url("ap-south"))/v1/tables/profiles/items/alex?consistency=eventual")
            staleSeen = try read.json()["value"] != .object(["round": .integer(Int64(round))])
        }
        #expect(staleSeen, "an eventual read right after a write 60 ms away saw the old value at least once")
        let forged = try await send("GET", "\(cluster.url("ap-south"))/v1/tables/profiles/items/alex?consistency=session", headers: ["Meridian-Session": "x.y"])
        #expect(forged.status == 400)
    }

    @Test func boundedStalenessIsServedLocallyOnlyWhenProvable() async throws {
        let cluster = try Cluster(oneWayMilliseconds: 30)
        defer { cluster.stop() }
        #expect(try await send("PUT", "\(cluster.url("us-east"))/v1/tables/prices", body: "{}").status == 201)
        #expect(try await cluster.eventually { try await send("GET", "\(cluster.url("eu-west"))/v1/tables/prices").status == 200 })
        _ = try await send("PUT", "\(cluster.url("us-east"))/v1/tables/prices/items/p", body: "10")
        try await Task.sleep(for: .milliseconds(400))
        let relaxed = try await send("GET", "\(cluster.url("eu-west"))/v1/tables/prices/items/p?consistency=bounded&max_staleness_ms=2000")
        #expect(relaxed.status == 200)
        #expect(relaxed.headers["meridian-region"] == "eu-west")
        #expect(try relaxed.json()["consistency"] == .string("bounded"))
        // Cut eu-west from us-east: eu-west can no longer vouch for us-east's writes, so a
        // small bound is forwarded to a region that can (ap-south), a large one served locally.
        try await cluster.setLink("eu-west", to: "us-east", cut: true)
        try await Task.sleep(for: .milliseconds(800))
        let forwarded = try await send("GET", "\(cluster.url("eu-west"))/v1/tables/prices/items/p?consistency=bounded&max_staleness_ms=400")
        #expect(forwarded.status == 200, "\(String(decoding: forwarded.body, as: UTF8.self))")
        #expect(forwarded.headers["meridian-region"] == "ap-south")
        #expect(forwarded.headers["meridian-forwarded-by"] == "eu-west")
        let local = try await send("GET", "\(cluster.url("eu-west"))/v1/tables/prices/items/p?consistency=bounded&max_staleness_ms=60000")
        #expect(local.headers["meridian-region"] == "eu-west")
        try await cluster.setLink("eu-west", to: "us-east", cut: false)
        // No region can prove 1 ms: heartbeats alone take 30 ms to arrive.
        let strict = try await send("GET", "\(cluster.url("eu-west"))/v1/tables/prices/items/p?consistency=bounded&max_staleness_ms=1")
        #expect(strict.status == 503)
        #expect(String(decoding: strict.body, as: UTF8.self).contains("staleness_unprovable"))
    }
}
