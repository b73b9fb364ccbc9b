import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MeridianCore
@testable import MeridianHTTP
import MeridianNode
import MeridianRegion
import Crypto
import MeridianStorage
import Testing

/// Session tokens and read consistency at one region (router tests).
struct SessionTests {
    static let sessionHeader = HTTPField.Name("Meridian-Session")!

    func withAPI(_ body: @Sendable (any TestClientProtocol, Node) async throws -> Void) async throws {
        let node = try Node(cluster: APITests.cluster, region: APITests.region, storage: InMemoryStorage(), sessionWaitMilliseconds: 20)
        let app = Application(router: MeridianAPI(node: node).router())
        try await app.test(.router) { client in try await body(client, node) }
        await node.shutdown()
    }

    @Test func writesAndReadsCarryASessionTokenThatReadsAccept() async throws {
        try await withAPI { client, _ in
            _ = try await client.put("/v1/tables/t", "{}")
            let put = try await client.put("/v1/tables/t/items/k", "1")
            let token = try #require(put.headers[Self.sessionHeader])
            let read = try await client.execute(uri: "/v1/tables/t/items/k?consistency=session", method: .get, headers: [Self.sessionHeader: token])
            #expect(read.status == .ok)
            #expect(try object(read)["consistency"] == .string("session"))
            #expect(read.headers[Self.sessionHeader] != nil)
        }
    }

    @Test(arguments: ["garbage", "", "a.b", "djF8eHx1cy1lYXN0LjE.AAAAAAAAAAAAAAAAAAAAAA"])
    func aMalformedOrForgedTokenIsRefusedAtOnce(token: String) async throws {
        try await withAPI { client, _ in
            _ = try await client.put("/v1/tables/t", "{}")
            _ = try await client.put("/v1/tables/t/items/k", "1")
            let read = try await client.execute(uri: "/v1/tables/t/items/k?consistency=session", method: .get, headers: [Self.sessionHeader: token])
            try expectError(read, .badRequest, "invalid_session")
            try expectError(try await client.put("/v1/tables/t/items/k", "2", headers: [Self.sessionHeader: token]), .badRequest, "invalid_session")
        }
    }

    @Test func aTokenFromAnotherClusterIsRefused() async throws {
        let other = ClusterConfiguration(regions: APITests.cluster.regions, clusterID: "another-cluster")
        let foreign = SessionTokens(cluster: other).token(for: Positions([APITests.region: 1]))
        try await withAPI { client, _ in
            _ = try await client.put("/v1/tables/t", "{}")
            _ = try await client.put("/v1/tables/t/items/k", "1")
            try expectError(try await client.execute(uri: "/v1/tables/t/items/k?consistency=session", method: .get, headers: [Self.sessionHeader: foreign]),
                            .badRequest, "invalid_session")
        }
    }

    @Test func aSessionAheadOfEveryRegionGets503AfterTheBoundedWait() async throws {
        let ahead = SessionTokens(cluster: APITests.cluster).token(for: Positions([APITests.region: 1_000]))
        try await withAPI { client, _ in
            _ = try await client.put("/v1/tables/t", "{}")
            _ = try await client.put("/v1/tables/t/items/k", "1")
            let read = try await client.execute(uri: "/v1/tables/t/items/k?consistency=session", method: .get, headers: [Self.sessionHeader: ahead])
            try expectError(read, .serviceUnavailable, "session_not_ready")
        }
    }

    @Test func tokensRoundTripAndTamperingIsDetected() throws {
        let tokens = SessionTokens(cluster: APITests.cluster)
        let positions = Positions([APITests.region: 42, try RegionID("eu-west"): 7])
        let token = tokens.token(for: positions)
        #expect(try tokens.marks(from: token).positions == positions)
        var tampered = Array(token.utf8)
        tampered[3] = tampered[3] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        #expect(throws: MeridianError.self) { try tokens.marks(from: String(decoding: tampered, as: UTF8.self)) }
    }

    @Test func tokensCarryRaftIndexesAndOldTokensStillRead() throws {
        let tokens = SessionTokens(cluster: APITests.cluster)
        let marks = SessionMarks(positions: Positions([APITests.region: 3]), raft: [try TableName("accounts"): 17, try TableName("b-2"): 1])
        let token = tokens.token(for: marks)
        #expect(try tokens.marks(from: token) == marks)
        // A token without Raft indexes keeps the v1 layout, so regions of the build before read it.
        let v1 = tokens.token(for: Positions([APITests.region: 3]))
        let v1Payload = try #require(SessionTokens.data(base64URL: v1.prefix { $0 != "." }))
        #expect(String(decoding: v1Payload.prefix(3), as: UTF8.self) == "v1|")
        #expect(try tokens.marks(from: v1) == SessionMarks(positions: Positions([APITests.region: 3])))
    }

    @Test(arguments: ["accounts.x", "Bad.1", "accounts", "accounts.1~accounts.2", ""])
    func aSignedTokenWithMalformedRaftMarksIsRefused(marks: String) throws {
        let tokens = SessionTokens(cluster: APITests.cluster)
        let payload = Data("v2|\(APITests.cluster.clusterID)||\(marks)".utf8)
        let mac = Data(HMAC<SHA256>.authenticationCode(for: payload, using: tokens.key)).prefix(SessionTokens.macBytes)
        let token = SessionTokens.base64URL(payload) + "." + SessionTokens.base64URL(mac)
        let error = #expect(throws: MeridianError.self) { try tokens.marks(from: token) }
        #expect(error?.code == "invalid_session")
    }

    @Test func aBoundedReadInAOneRegionClusterIsServedLocally() async throws {
        try await withAPI { client, _ in
            _ = try await client.put("/v1/tables/t", "{}")
            _ = try await client.put("/v1/tables/t/items/k", "1")
            let read = try object(try await client.execute(uri: "/v1/tables/t/items/k?consistency=bounded&max_staleness_ms=0", method: .get))
            #expect(read["consistency"] == .string("bounded"))
        }
    }
}
