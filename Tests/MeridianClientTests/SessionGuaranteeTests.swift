import Foundation
import MeridianClient
import MeridianCore
import MeridianTestSupport
import Testing

/// The session guarantee end to end, with the default latency matrix of DESIGN.md §6.
@Suite(.serialized)
struct SessionGuaranteeTests {
    static let names = ["us-east", "eu-west", "ap-south"]
    static let latency: [String: [String: Double]] = ["us-east": ["eu-west": 35, "ap-south": 93], "eu-west": ["ap-south": 60]]

    /// Three real regions with the default one-way delays injected between them.
    static func cluster() throws -> TestCluster {
        try TestCluster(regions: names, latencyMilliseconds: latency)
    }

    @Test func aClientThatMovesFromUSEastToAPSouthAlwaysReadsItsOwnWrites() async throws {
        let cluster = try Self.cluster()
        defer { cluster.stop() }
        let inUSEast = try await cluster.client(in: "us-east")
        let inAPSouth = try await cluster.client(in: "ap-south")
        try await inUSEast.createTable("profiles", definition: ["mode": .string("multi-primary")])
        try await cluster.waitForTable("profiles", in: "ap-south")

        var staleWithoutToken = 0
        for round in 0..<8 {
            let written = try await inUSEast.put(table: "profiles", key: "alex", value: .object(["round": .integer(Int64(round))]))
            #expect(written.region == "us-east")
            // Without the token, right away from ap-south: eventual may be stale.
            inAPSouth.session = nil
            let eventual = try? await inAPSouth.get(table: "profiles", key: "alex", consistency: .eventual)
            if eventual?.value != .object(["round": .integer(Int64(round))]) { staleWithoutToken += 1 }
            // With the token carried over, the read always sees the write.
            inAPSouth.session = inUSEast.session
            let session = try await inAPSouth.get(table: "profiles", key: "alex", consistency: .session)
            #expect(session.value == .object(["round": .integer(Int64(round))]), "round \(round): read your write")
            #expect(session.consistency == .session)
        }
        #expect(staleWithoutToken > 0, "an eventual read 93 ms away was stale at least once: the token is what makes the difference")
    }

    @Test func whenTheNearestRegionDiesMidStreamReadsNeverFailAndStillSeeOwnWrites() async throws {
        let cluster = try Self.cluster()
        defer { cluster.stop() }
        let client = try await cluster.client(in: "ap-south")
        try await client.createTable("carts", definition: ["mode": .string("multi-primary")])
        try await cluster.waitForTable("carts", in: "eu-west")
        for index in 0..<10 { _ = try await client.put(table: "carts", key: "c\(index)", value: .integer(Int64(index))) }
        // Once ap-south's writes have shipped (an asynchronous region that dies loses what it
        // had not shipped yet: then a session read answers 503, never stale data).
        let euWest = try MeridianClient(regions: [RegionAddress(name: "eu-west", url: cluster.url("eu-west"))])
        for _ in 0..<200 where (try? await euWest.get(table: "carts", key: "c9")) == nil { try await Task.sleep(for: .milliseconds(20)) }

        var servedBy: [String] = []
        for round in 0..<30 {
            if round == 10 { cluster.kill9("ap-south") }
            let index = round % 10
            let read = try await client.get(table: "carts", key: "c\(index)", consistency: .session)
            #expect(read.value == .integer(Int64(index)), "round \(round), read at \(read.region)")
            servedBy.append(read.region)
        }
        #expect(servedBy.prefix(10).allSatisfy { $0 == "ap-south" })
        #expect(servedBy.suffix(20).allSatisfy { $0 == "eu-west" }, "after ap-south died the next-nearest region served: \(servedBy)")
        // The session goes on at eu-west: a write there is read back at once.
        let written = try await client.put(table: "carts", key: "after", value: .bool(true))
        #expect(written.region == "eu-west")
        #expect(try await client.get(table: "carts", key: "after", consistency: .session).value == .bool(true))
    }
}

extension TestCluster {
    /// A client that sits in `region` (it pays the simulated delays from there), discovered from us-east.
    func client(in region: String) async throws -> MeridianClient {
        try await MeridianClient.discover(seed: url("us-east"), options: MeridianClient.Options(simulatedLocation: region))
    }

    /// Waits until `region` knows `table`.
    func waitForTable(_ table: String, in region: String) async throws {
        let direct = try MeridianClient(regions: [RegionAddress(name: region, url: url(region))])
        for _ in 0..<200 {
            if (try? await direct.send(method: "GET", path: "/v1/tables/\(table)"))?.status == 200 { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw MeridianClientError(status: nil, code: "test", message: "table \(table) never reached \(region)")
    }
}
