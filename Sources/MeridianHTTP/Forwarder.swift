import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import MeridianCore
import MeridianNode
import MeridianRegion
import NIOCore
import NIOHTTP1

/// The HTTP client regions use to reach each other's APIs: a refused connection fails at
/// once (the shared client would keep retrying it until the deadline, so a dead region
/// would hold up a forwarded request for the whole timeout).
let regionHTTPClient: HTTPClient = {
    var configuration = HTTPClient.Configuration.singletonConfiguration
    configuration.connectionPool.retryConnectionEstablishment = false
    configuration.timeout.connect = .seconds(Forwarder.connectTimeoutSeconds)
    return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
}()

/// Sends a request for a table this region may not store to the nearest region that
/// may, and streams the answer back. Nothing of the request or the answer is stored
/// here: bodies pass through in memory only (data residency).
struct Forwarder: Sendable {
    /// How long one forwarded request may take, in seconds.
    static let timeoutSeconds: Int64 = 30
    /// How long connecting to another region may take, in seconds.
    static let connectTimeoutSeconds: Int64 = 2
    /// Request headers passed on to the serving region.
    static let passedRequestHeaders: [HTTPField.Name] = [.contentType, .ifMatch, .ifNoneMatch, .meridianContext, .meridianSession, .authorization]
    /// Answer headers passed back to the client.
    static let passedResponseHeaders: [HTTPField.Name] = [.contentType, .eTag, .meridianContext, .meridianRegion, .meridianSession, .allow, .wwwAuthenticate]

    let node: Node

    /// Forwards `request` for `table` (with its already-read `body`); throws `refusal`
    /// when the request was forwarded once already or no listed region answers.
    func forward(_ request: Request, table: TableName, body: ByteBuffer?, refusal: APIError) async throws -> Response {
        guard request.headers[.meridianForwardedBy] == nil else {
            // Leadership moved while the request was on its way: the client may retry.
            if refusal.error.code == "not_leader" {
                throw APIError(MeridianError(.unavailable, code: "leader_moved", "the leader of table '\(table)' changed while the request was forwarded; retry"))
            }
            throw refusal
        }
        guard case .tables(let tables) = try await node.perform(.listTables).get(),
              let regions = tables.first(where: { $0.definition.name == table })?.definition.regions
        else { throw refusal }
        let delays = node.cluster.oneWayDelaysMilliseconds(from: node.region)
        // A table's leader (or a forced failover's target) is the one region that can serve.
        let candidates = refusal.error.redirect.map { [$0] }
            ?? regions.filter { $0 != node.region }.sorted { (delays[$0] ?? 0, $0) < (delays[$1] ?? 0, $1) }
        guard !candidates.isEmpty else { throw refusal }
        for (index, region) in candidates.enumerated() {
            guard let api = node.cluster.endpoint(of: region)?.api else { continue }
            guard let response = try? await send(request, body: body, to: region, api: api) else { continue }
            // A region that cannot serve either (503) passes the request on to the next one.
            if response.status == .serviceUnavailable && index < candidates.count - 1 { continue }
            return response
        }
        throw APIError(MeridianError(.unavailable, code: "forwarding_failed",
            "table '\(table)' is stored only in \(regions.map(\.name).joined(separator: ", ")), and none of them answered"))
    }

    private func send(_ request: Request, body: ByteBuffer?, to region: RegionID, api: String) async throws -> Response {
        var outbound = HTTPClientRequest(url: "\(node.cluster.apiScheme)://\(api)\(request.uri.string)")
        outbound.method = NIOHTTP1.HTTPMethod(rawValue: request.method.rawValue)
        for name in Self.passedRequestHeaders {
            if let value = request.headers[name] { outbound.headers.add(name: name.canonicalName, value: value) }
        }
        outbound.headers.add(name: HTTPField.Name.meridianForwardedBy.canonicalName, value: node.region.name)
        if let body { outbound.body = .bytes(body) }
        let delay = node.oneWayDelaysMilliseconds[region] ?? 0
        try await pay(delay)
        let answer = try await regionHTTPClient(for: node.cluster).execute(outbound, timeout: .seconds(Self.timeoutSeconds))
        try await pay(delay)
        var headers: HTTPFields = [:]
        for name in Self.passedResponseHeaders {
            if let value = answer.headers.first(name: name.canonicalName) { headers[name] = value }
        }
        headers[.meridianForwardedBy] = node.region.name
        return Response(status: .init(code: Int(answer.status.code)), headers: headers, body: ResponseBody(asyncSequence: answer.body))
    }

    private func pay(_ milliseconds: Double) async throws {
        if milliseconds > 0 { try await Task.sleep(for: .microseconds(Int(milliseconds * 1000))) }
    }
}
