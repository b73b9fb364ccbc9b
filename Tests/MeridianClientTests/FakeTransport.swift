@testable import MeridianClient

/// A transport that answers from a script and records every request it was given.
final class FakeTransport: HTTPTransport {
    /// Why a fake region did not answer.
    struct ConnectionRefused: Error {}

    let answer: @Sendable (TransportRequest) async throws -> TransportResponse
    private let log = Protected<[TransportRequest]>([])

    init(answer: @escaping @Sendable (TransportRequest) async throws -> TransportResponse) {
        self.answer = answer
    }

    /// Every request so far, in order.
    var requests: [TransportRequest] { log.withLock { $0 } }

    /// The base URLs the requests went to, in order.
    var hosts: [String] { requests.map { Self.host($0.url) } }

    func execute(_ request: TransportRequest, timeoutMilliseconds: Int) async throws -> TransportResponse {
        log.withLock { $0.append(request) }
        return try await answer(request)
    }

    /// The host of a fake URL such as `http://us-east/v1/health`.
    static func host(_ url: String) -> String {
        String(url.dropFirst("http://".count).prefix { $0 != "/" })
    }

    /// A JSON answer from `region`, with extra headers.
    static func json(_ status: Int, _ body: String, region: String, headers: [String: String] = [:]) -> TransportResponse {
        TransportResponse(status: status, headers: headers.merging(["meridian-region": region, "content-type": "application/json"]) { first, _ in first },
                          body: Array(body.utf8))
    }

    /// The three fake regions, in the order the tests give them.
    static let regions = ["us-east", "eu-west", "ap-south"].map { RegionAddress(name: $0, url: "http://\($0)") }

    /// An item body as `GET /v1/tables/{table}/items/{key}` answers it.
    static func item(key: String, region: String) -> String {
        #"{"consistency":"eventual","key":"\#(key)","origin":"us-east","region":"\#(region)","timestamp":"1.0","value":{"n":1},"version":"v1"}"#
    }
}
