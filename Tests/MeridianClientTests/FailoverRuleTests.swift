import MeridianCore
import Testing
@testable import MeridianClient

/// The client's sending rules against a scripted transport: no sockets, no server.
struct FailoverRuleTests {
    static func client(_ transport: FakeTransport, options: MeridianClient.Options = .init()) throws -> MeridianClient {
        try MeridianClient(regions: FakeTransport.regions, options: options, transport: transport)
    }

    static let notFound = #"{"error":{"code":"item_not_found","message":"no item with that key"}}"#

    @Test func a503MovesToTheNextRegionAndTheFailedOneIsRankedLast() async throws {
        let transport = FakeTransport { request in
            let host = FakeTransport.host(request.url)
            if host == "us-east" { return FakeTransport.json(503, #"{"error":{"code":"unavailable","message":"busy"}}"#, region: host) }
            return FakeTransport.json(200, FakeTransport.item(key: "k", region: host), region: host)
        }
        let client = try Self.client(transport)
        let item = try await client.get(table: "t", key: "k")
        #expect(item.region == "eu-west")
        #expect(transport.hosts == ["us-east", "eu-west"])
        #expect(client.regions.map(\.name) == ["eu-west", "ap-south", "us-east"])
        #expect(client.regions.last?.healthy == false)

        _ = try await client.get(table: "t", key: "k")
        #expect(transport.hosts == ["us-east", "eu-west", "eu-west"], "the unhealthy region is not tried first during its backoff")
    }

    /// Issue 15, item 6: a write whose outcome the region could not know (its forward or its
    /// commit timed out) is not sent to another region, where it could apply twice; a read is.
    @Test func aWriteAnsweredWithAnUnknownOutcomeIsNotSentElsewhere() async throws {
        for code in ["forward_timeout", "commit_timeout"] {
            let transport = FakeTransport { request in
                let host = FakeTransport.host(request.url)
                if host == "us-east" { return FakeTransport.json(503, #"{"error":{"code":"\#(code)","message":"may have been applied"}}"#, region: host) }
                return FakeTransport.json(200, request.method == "GET" ? FakeTransport.item(key: "k", region: host) : #"{"key":"k","region":"\#(host)","version":"v2"}"#, region: host)
            }
            let client = try Self.client(transport)
            let error = await #expect(throws: MeridianClientError.self) { try await client.put(table: "t", key: "k", value: .integer(1)) }
            #expect(error?.code == code && error?.status == 503)
            #expect(transport.hosts == ["us-east"])
            #expect(try await client.get(table: "t", key: "k").region == "eu-west", "a read moves on")
        }
    }

    @Test func aConnectionFailureMovesToTheNextRegion() async throws {
        let transport = FakeTransport { request in
            let host = FakeTransport.host(request.url)
            guard host == "ap-south" else { throw FakeTransport.ConnectionRefused() }
            return FakeTransport.json(200, #"{"key":"k","region":"ap-south","version":"v2"}"#, region: host)
        }
        let written = try await Self.client(transport).put(table: "t", key: "k", value: .integer(1))
        #expect(written == WriteResult(key: "k", version: "v2", region: "ap-south", context: nil, deleted: false))
        #expect(transport.hosts == ["us-east", "eu-west", "ap-south"])
    }

    @Test func retriesAreBoundedByRetriesMaxAndNoAnswerIsUnreachable() async throws {
        let transport = FakeTransport { _ in throw FakeTransport.ConnectionRefused() }
        var options = MeridianClient.Options()
        options.retriesMax = 1
        let client = try Self.client(transport, options: options)
        let error = await #expect(throws: MeridianClientError.self) { try await client.get(table: "t", key: "k") }
        #expect(error?.code == "unreachable" && error?.status == nil)
        #expect(error?.message.contains("us-east: ConnectionRefused()") == true)
        #expect(transport.hosts == ["us-east", "eu-west"])
        do {
            _ = try await client.get(table: "t", key: "k")
            Issue.record("an unreachable cluster answered")
        } catch MeridianClientError.unreachable {
            // The pattern matches by code, whatever the message.
        }
        switch error {
        case .unreachable?: break
        default: Issue.record("a switch over the error matches by code")
        }
    }

    @Test func whenEveryRegionTriedAnswers503TheLastAnswerIsTheError() async throws {
        let transport = FakeTransport { request in
            FakeTransport.json(503, #"{"error":{"code":"session_not_ready","message":"not yet"}}"#, region: FakeTransport.host(request.url))
        }
        let client = try Self.client(transport)
        let error = await #expect(throws: MeridianClientError.self) { try await client.get(table: "t", key: "k") }
        #expect(error == MeridianClientError(status: 503, code: "session_not_ready", message: "not yet", region: "ap-south"))
        #expect(transport.requests.count == 3)
    }

    @Test func everyClientErrorIsReturnedAtOnceAndNeverRetried() async throws {
        let transport = FakeTransport { request in FakeTransport.json(404, Self.notFound, region: FakeTransport.host(request.url)) }
        let client = try Self.client(transport)
        let error = await #expect(throws: MeridianClientError.self) { try await client.get(table: "t", key: "k") }
        #expect(error?.status == 404)
        #expect(error?.code == "item_not_found")
        #expect(error?.region == "us-east")
        #expect(transport.hosts == ["us-east"])
        #expect(client.regions.allSatisfy { $0.healthy }, "a 4xx says nothing about the region's health")
    }

    @Test func aRefusedSessionTokenIsReturnedAtOnceNeverRetried() async throws {
        let transport = FakeTransport { request in
            FakeTransport.json(400, #"{"error":{"code":"invalid_session","message":"forged"}}"#, region: FakeTransport.host(request.url))
        }
        let client = try Self.client(transport)
        client.session = "forged"
        let error = await #expect(throws: MeridianClientError.self) { try await client.get(table: "t", key: "k", consistency: .session) }
        #expect(error?.code == "invalid_session")
        #expect(transport.requests.count == 1)
        #expect(transport.requests.first?.headers["Meridian-Session"] == "forged")
    }

    @Test func theLatestSessionTokenIsSentWithEveryRequestIncludingAfterFailover() async throws {
        let served = Protected(0)
        let transport = FakeTransport { request in
            let host = FakeTransport.host(request.url)
            let count = served.withLock { count -> Int in count += 1; return count }
            switch count {
            case 1: return FakeTransport.json(200, #"{"key":"k","region":"us-east","version":"v1"}"#, region: host, headers: ["meridian-session": "token-1"])
            case 2: return FakeTransport.json(200, FakeTransport.item(key: "k", region: host), region: host, headers: ["meridian-session": "token-2"])
            case 3: return FakeTransport.json(503, #"{"error":{"code":"unavailable","message":"down"}}"#, region: host)
            default: return FakeTransport.json(200, FakeTransport.item(key: "k", region: host), region: host)
            }
        }
        let client = try Self.client(transport)
        #expect(client.session == nil)
        try await client.put(table: "t", key: "k", value: .string("v"))
        #expect(client.session == "token-1")
        _ = try await client.get(table: "t", key: "k", consistency: .session)
        #expect(client.session == "token-2")
        _ = try await client.get(table: "t", key: "k", consistency: .session)
        #expect(transport.requests.map { $0.headers["Meridian-Session"] } == [nil, "token-1", "token-2", "token-2"])
        #expect(transport.hosts == ["us-east", "us-east", "us-east", "eu-west"])
        #expect(client.session == "token-2", "an answer without a token keeps the session")

        client.session = "persisted"
        _ = try await client.get(table: "t", key: "k")
        #expect(transport.requests.last?.headers["Meridian-Session"] == "persisted")
    }

    @Test func theTokenIsSentAsABearerCredential() async throws {
        let transport = FakeTransport { request in FakeTransport.json(200, FakeTransport.item(key: "k", region: "us-east"), region: "us-east") }
        _ = try await Self.client(transport, options: MeridianClient.Options(token: "secret")).get(table: "t", key: "k")
        #expect(transport.requests.first?.headers["Authorization"] == "Bearer secret")
    }

    @Test func keysTableNamesAndQueryValuesArePercentEncoded() async throws {
        let transport = FakeTransport { request in
            if request.url.contains("/items?") { return FakeTransport.json(200, #"{"items":[]}"#, region: "us-east") }
            return FakeTransport.json(200, FakeTransport.item(key: "k", region: "us-east"), region: "us-east")
        }
        let client = try Self.client(transport)
        _ = try await client.get(table: "t", key: "a/b c%ü+?#~._-", consistency: .bounded, maxStalenessMilliseconds: 250)
        _ = try await client.scan(table: "t", prefix: "a b+", startAfter: "x/y", limit: 5)
        #expect(transport.requests.map(\.url) == [
            "http://us-east/v1/tables/t/items/a%2Fb%20c%25%C3%BC%2B%3F%23~._-?consistency=bounded&max_staleness_ms=250",
            "http://us-east/v1/tables/t/items?prefix=a%20b%2B&start_after=x%2Fy&limit=5",
        ])
    }

    @Test func theSimulatedLocationPaysTheOneWayDelayBeforeAndAfterEveryRequest() async throws {
        let transport = FakeTransport { _ in FakeTransport.json(200, FakeTransport.item(key: "k", region: "us-east"), region: "us-east") }
        let options = MeridianClient.Options(simulatedLocation: "ap-south", latencyMatrix: LatencyMatrix(["ap-south": ["us-east": 30]]))
        let client = try MeridianClient(regions: [FakeTransport.regions[0]], options: options, transport: transport)
        let start = ContinuousClock.now
        _ = try await client.get(table: "t", key: "k")
        #expect(ContinuousClock.now - start >= .milliseconds(60))
    }

    @Test func aFailedRegionIsProbedAgainAfterItsBackoffAndComesBackFirst() async throws {
        let usEastDown = Protected(true)
        let transport = FakeTransport { request in
            let host = FakeTransport.host(request.url)
            if host == "us-east", usEastDown.withLock({ $0 }) { throw FakeTransport.ConnectionRefused() }
            if request.url.hasSuffix("/v1/health") { return FakeTransport.json(200, #"{"region":"\#(host)","status":"ok"}"#, region: host) }
            return FakeTransport.json(200, FakeTransport.item(key: "k", region: host), region: host)
        }
        var options = MeridianClient.Options()
        options.unhealthyBackoffMillisecondsMin = 1
        options.unhealthyBackoffMillisecondsMax = 1
        let client = try Self.client(transport, options: options)
        #expect(try await client.get(table: "t", key: "k").region == "eu-west")
        #expect(client.regions.last?.name == "us-east")

        usEastDown.withLock { $0 = false }
        try await Task.sleep(for: .milliseconds(5))
        // This request starts the probe of us-east in the background and goes to eu-west.
        #expect(try await client.get(table: "t", key: "k").region == "eu-west")
        for _ in 0..<200 where client.regions.first?.name != "us-east" { try await Task.sleep(for: .milliseconds(5)) }
        #expect(client.regions.first?.name == "us-east")
        #expect(client.regions.allSatisfy { $0.healthy })
        #expect(transport.requests.contains { $0.url == "http://us-east/v1/health" })
        #expect(try await client.get(table: "t", key: "k").region == "us-east")
    }

    @Test func optionsOutsideTheirBoundsAreRefused() {
        let transport = FakeTransport { _ in throw FakeTransport.ConnectionRefused() }
        var tooManyRetries = MeridianClient.Options()
        tooManyRetries.retriesMax = MeridianClient.Options.retriesMaxLimit + 1
        let attempts: [() throws -> MeridianClient] = [
            { try Self.client(transport, options: tooManyRetries) },
            { try MeridianClient(regions: [], options: .init(), transport: transport) },
            { try MeridianClient(regions: [FakeTransport.regions[0], FakeTransport.regions[0]], options: .init(), transport: transport) },
            { try Self.client(transport, options: .init(latencyMatrix: LatencyMatrix(["a": ["b": -1]]))) },
        ]
        for attempt in attempts {
            let error = #expect(throws: MeridianClientError.self) { try attempt() }
            #expect(error?.code == "invalid_options")
        }
    }

    @Test func resultsNameTheRegionThatServedThem() async throws {
        let transport = FakeTransport { request in
            let url = request.url
            if url.hasSuffix("/conflicts") {
                return FakeTransport.json(200, #"{"conflicts":[{"id":7,"key":"k","value":1,"version":"v0","origin":"eu-west","winner":"v1","detected_by":"us-east"}],"next":"7"}"#, region: "eu-west")
            }
            if url.hasSuffix("/items") {
                return FakeTransport.json(200, #"{"items":[{"key":"a","origin":"us-east","timestamp":"1.0","value":null,"version":"v1"}],"next":"a"}"#, region: "eu-west")
            }
            return FakeTransport.json(201, #"{"mode":"multi-primary","conflict":"lww","name":"t","regions":["us-east"]}"#, region: "us-east")
        }
        let client = try Self.client(transport)
        let table = try await client.createTable("t", definition: ["mode": .string("multi-primary")])
        #expect(table == TableResult(name: "t", mode: "multi-primary", conflict: "lww", primary: nil, commit: nil, regions: ["us-east"], created: true, region: "us-east"))
        let page = try await client.scan(table: "t")
        #expect(page.region == "eu-west")
        #expect(page.items.map(\.region) == ["eu-west"])
        #expect(page.items.first?.value == .null)
        #expect(page.next == "a")
        let conflicts = try await client.conflicts(table: "t")
        #expect(conflicts.conflicts.first?.detectedBy == "us-east")
        #expect(conflicts.conflicts.first?.value == .integer(1))
        #expect(conflicts.region == "eu-west")
    }
}
