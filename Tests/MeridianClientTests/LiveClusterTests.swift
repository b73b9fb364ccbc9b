import Foundation
import MeridianClient
import MeridianCore
import MeridianLocalCluster
import MeridianTestSupport
import Testing

/// The client against three real `meridian serve` processes on loopback, with a small
/// latency matrix: us-east to eu-west 5 ms, eu-west to ap-south 20 ms, us-east to ap-south 40 ms.
@Suite(.serialized)
struct LiveClusterTests {
    static let names = ["us-east", "eu-west", "ap-south"]
    static let latency: [String: [String: Double]] = ["us-east": ["eu-west": 5, "ap-south": 40], "eu-west": ["ap-south": 20]]

    /// A running three-region cluster.
    static func cluster() throws -> TestCluster {
        try TestCluster(regions: names, latencyMilliseconds: latency)
    }

    /// Polls `condition` every 50 ms; false after `seconds`.
    static func eventually(seconds: Double = 20, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    @Test func discoveryFromASeedRanksTheSimulatedNearestRegionFirstAndUnreachableLast() async throws {
        let cluster = try Self.cluster()
        defer { cluster.stop() }
        let client = try await cluster.client(in: "ap-south")
        let ranking = client.regions
        #expect(ranking.map(\.name) == ["ap-south", "eu-west", "us-east"])
        #expect(ranking.map(\.url) == ["ap-south", "eu-west", "us-east"].map(cluster.url))
        #expect(ranking.allSatisfy { $0.healthy })
        #expect(client.options.latencyMatrix == LatencyMatrix(Self.latency), "the matrix comes from GET /v1/cluster")
        #expect((ranking[1].roundTripMilliseconds ?? 0) >= 40, "eu-west is 20 ms away each way")
        #expect((ranking[2].roundTripMilliseconds ?? 0) >= 80, "us-east is 40 ms away each way")

        let closedPort = try LocalPorts.free(1)[0]
        let withDeadRegion = try MeridianClient(
            regions: [RegionAddress(name: "us-west", url: "127.0.0.1:\(closedPort)")] + ranking.map { RegionAddress(name: $0.name, url: $0.url) },
            options: client.options)
        let measured = await withDeadRegion.measure()
        #expect(measured.map(\.name) == ["ap-south", "eu-west", "us-east", "us-west"])
        #expect(measured.map(\.healthy) == [true, true, true, false])
        #expect(measured.last?.roundTripMilliseconds == nil)
    }

    @Test func aRegionThatAcceptsButNeverAnswersTimesOutAndTheNextRegionServes() async throws {
        let cluster = try Self.cluster()
        defer { cluster.stop() }
        let silent = try silentListener()
        defer { close(silent.descriptor) }
        var options = MeridianClient.Options(requestTimeoutMilliseconds: 300)
        options.probeTimeoutMilliseconds = 300
        let client = try MeridianClient(regions: [RegionAddress(name: "hung", url: "127.0.0.1:\(silent.port)"),
                                                  RegionAddress(name: "eu-west", url: cluster.url("eu-west"))], options: options)
        let start = ContinuousClock.now
        let table = try await client.createTable("notes", definition: [:])
        #expect(table.region == "eu-west")
        #expect(ContinuousClock.now - start >= .milliseconds(300), "the hung region was tried first and timed out")
        #expect(client.regions.map(\.name) == ["eu-west", "hung"])

        let measured = await client.measure()
        #expect(measured.map(\.healthy) == [true, false])
    }

    @Test func putGetScanDeleteRoundTripCarriesTheSessionToken() async throws {
        let cluster = try Self.cluster()
        defer { cluster.stop() }
        let client = try await cluster.client(in: "ap-south")
        let definition: [String: JSONValue] = ["mode": .string("multi-primary"), "conflict": .string("lww")]
        let table = try await client.createTable("profiles", definition: definition)
        #expect(table.created && table.region == "ap-south" && table.conflict == "lww")
        #expect(try await client.createTable("profiles", definition: definition).created == false)

        let key = "user/42 ü+%"
        let first = try await client.put(table: "profiles", key: key, value: .object(["name": .string("Ada")]))
        #expect(first.key == key && first.region == "ap-south" && !first.deleted)
        let sessionAfterWrite = try #require(client.session, "a write answer carries Meridian-Session")
        let refused = await #expect(throws: MeridianClientError.self) {
            try await client.put(table: "profiles", key: key, value: .integer(0), ifAbsent: true)
        }
        #expect(refused?.status == 412 && refused?.code == "precondition_failed")
        let second = try await client.put(table: "profiles", key: key, value: .object(["name": .string("Ada L.")]), ifMatch: first.version)
        #expect(second.version != first.version)
        #expect(client.session != sessionAfterWrite, "the client keeps the latest token")

        let item = try await client.get(table: "profiles", key: key, consistency: .session)
        #expect(item.value == .object(["name": .string("Ada L.")]))
        #expect(item.version == second.version && item.origin == "ap-south" && item.region == "ap-south" && item.consistency == .session)

        try await client.put(table: "profiles", key: "user/43", value: .integer(43))
        try await client.put(table: "profiles", key: "zed", value: .integer(0))
        let page = try await client.scan(table: "profiles", prefix: "user/")
        #expect(page.items.map(\.key) == [key, "user/43"] && page.next == nil && page.region == "ap-south")
        let firstPage = try await client.scan(table: "profiles", prefix: "user/", limit: 1)
        #expect(firstPage.next != nil)
        let secondPage = try await client.scan(table: "profiles", prefix: "user/", startAfter: firstPage.next ?? "", limit: 1)
        #expect(firstPage.items.map(\.key) + secondPage.items.map(\.key) == [key, "user/43"])

        let deleted = try await client.delete(table: "profiles", key: key, ifMatch: second.version)
        #expect(deleted.deleted && deleted.region == "ap-south")
        let missing = await #expect(throws: MeridianClientError.self) { try await client.get(table: "profiles", key: key) }
        #expect(missing?.status == 404 && missing?.code == "item_not_found" && missing?.region == "ap-south")
        #expect(try await client.conflicts(table: "profiles").conflicts.isEmpty)

        // The server checks the token the client sends: a forged one is refused at once.
        client.session = "forged"
        let forged = await #expect(throws: MeridianClientError.self) { try await client.get(table: "profiles", key: "zed", consistency: .session) }
        #expect(forged?.status == 400 && forged?.code == "invalid_session")
        #expect(client.regions.allSatisfy { $0.healthy })
        client.session = nil
        #expect(try await client.get(table: "profiles", key: "zed").value == .integer(0))
    }

    @Test func whenTheNearestRegionIsKilledTheNextRequestIsServedByTheNextNearest() async throws {
        let cluster = try Self.cluster()
        defer { cluster.stop() }
        let client = try await cluster.client(in: "ap-south")
        try await client.createTable("orders", definition: ["mode": .string("multi-primary")])
        #expect(try await client.put(table: "orders", key: "o1", value: .string("paid")).region == "ap-south")
        let euWest = try MeridianClient(regions: [RegionAddress(name: "eu-west", url: cluster.url("eu-west"))])
        #expect(try await Self.eventually { (try? await euWest.get(table: "orders", key: "o1")) != nil }, "the write reaches eu-west")

        cluster.kill9("ap-south")
        let item = try await client.get(table: "orders", key: "o1", consistency: .session)
        #expect(item.region == "eu-west" && item.value == .string("paid"))
        #expect(client.regions.map(\.name) == ["eu-west", "us-east", "ap-south"])
        #expect(client.regions.last?.healthy == false)
        let written = try await client.put(table: "orders", key: "o2", value: .string("new"))
        #expect(written.region == "eu-west")
        #expect(try await client.get(table: "orders", key: "o2", consistency: .session).region == "eu-west")
    }
}
