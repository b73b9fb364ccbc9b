import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import MeridianAPIModel
import MeridianCore
import MeridianNode
import MeridianRegion
import NIOCore
import NIOHTTP1
import NIOPosix

/// The HTTP client regions use to reach each other's APIs: a refused connection fails at
/// once (the shared client would keep retrying it until the deadline, so a dead region
/// would hold up a forwarded request for the whole timeout), and an idle connection is
/// dropped before the serving region's own idle limit (`HTTPConnectionLimits`) would close it.
let regionHTTPClient: HTTPClient = {
    HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: Forwarder.clientConfiguration())
}()

/// Sends a request this region cannot serve to the region that can, and streams the answer
/// back: a table's leader (its region named by the refusal), or the nearest region that
/// stores a table this one may not (data residency). Nothing of the request or the answer
/// is stored here: bodies pass through in memory only.
///
/// Leadership moves, and a leader can freeze without closing its connections. So:
/// - one attempt may take `attemptMilliseconds(to:)`: `attemptMillisecondsBase` (an
///   election, a commit's round trips to a quorum, the leader's own work) plus twice the
///   round trip to the target, plus the session wait for a read that may wait there;
/// - a region that has sent this one nothing for `silentPeerMillisecondsMax` (regions send
///   each other a heartbeat every 100 ms) is not sent a request: the caller asks the local
///   region again once its Raft group has had a chance to elect another leader;
/// - an attempt that certainly did not apply (the connection was refused, or the target
///   answered `not_leader`, `leader_moved` or `no_leader`) ends in `.retry`: the caller
///   asks the local region for the table's leader again and forwards there, every
///   `leaderPollMilliseconds`, until `totalMillisecondsMax` after the request arrived;
/// - an attempt that timed out after its request was sent may have been applied: a read is
///   retried like the others, a write is answered 503 `forward_timeout` (outcome unknown),
///   never sent twice.
struct Forwarder: Sendable {
    /// The part of one attempt's bound that does not depend on distance, in milliseconds:
    /// an election (300-600 ms) and a commit's round trips with room to spare.
    static let attemptMillisecondsBase: Int64 = 1_500
    /// How long one forwarded request may take over all its attempts, in milliseconds.
    static let totalMillisecondsMax: Int64 = 6_000
    /// How long to wait before asking the local region again who leads, in milliseconds.
    static let leaderPollMilliseconds: Int64 = 50
    /// A region silent for this long is presumed frozen or cut off, in milliseconds.
    static let silentPeerMillisecondsMax: Int64 = 500
    /// How long connecting to another region may take, in milliseconds.
    static let connectTimeoutMilliseconds: Int64 = 1_000
    /// How long a pooled connection to another region may stay idle, in milliseconds:
    /// below the head limit after which the other region closes it.
    static let idleConnectionMilliseconds: Int64 = 20_000
    /// The most bytes of a 503 answer read to learn its code.
    static let refusalBytesMax = 64 * 1024
    /// Codes of answers that say the request was refused before anything was applied.
    static let notAppliedCodes: Set<String> = ["not_leader", "leader_moved", "no_leader"]
    /// Request headers passed on to the serving region.
    static let passedRequestHeaders: [HTTPField.Name] = [.contentType, .ifMatch, .ifNoneMatch, .meridianContext, .meridianSession, .authorization]
    /// Answer headers passed back to the client.
    static let passedResponseHeaders: [HTTPField.Name] = [.contentType, .eTag, .meridianContext, .meridianRegion, .meridianSession, .allow, .wwwAuthenticate]

    /// What forwarding one request came to.
    enum Outcome {
        /// The answer to pass back to the client.
        case answered(Response)
        /// Nothing was applied, and the table's leader may have changed: ask the local
        /// region again (the error is the answer if time runs out first).
        case retry(APIError)
    }

    let node: Node

    /// The configuration of every client that reaches another region's API.
    static func clientConfiguration() -> HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration.singletonConfiguration
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.connectionPool.idleTimeout = .milliseconds(idleConnectionMilliseconds)
        configuration.timeout.connect = .milliseconds(connectTimeoutMilliseconds)
        return configuration
    }

    /// How long one attempt to `region` may take, in milliseconds.
    func attemptMilliseconds(to region: RegionID, method: HTTPRequest.Method) -> Int64 {
        let oneWay = Int64((node.cluster.oneWayDelaysMilliseconds(from: node.region)[region] ?? 0).rounded(.up))
        let sessionWait = method == .get ? Int64(node.sessionWaitMilliseconds) : 0
        return Self.attemptMillisecondsBase + 4 * oneWay + sessionWait
    }

    /// Whether `region` has been silent long enough to be presumed frozen or cut off.
    func isSilent(_ region: RegionID) -> Bool {
        guard let silence = node.silenceMilliseconds(of: region) else { return false }
        return silence > Self.silentPeerMillisecondsMax
    }

    /// Forwards `request` for `table` (with its already-read `body`) after this region
    /// refused it with `refusal`.
    ///
    /// - Throws: `refusal` when the request was forwarded once already or no listed region
    ///   can be tried; `forwarding_failed` when none answered; `forward_timeout` when a
    ///   write was sent and no answer came in time.
    func forward(_ request: Request, table: TableName, body: ByteBuffer?, refusal: APIError) async throws -> Outcome {
        guard request.headers[.meridianForwardedBy] == nil else {
            // Leadership moved while the request was on its way: the forwarding region asks again.
            if refusal.error.code == "not_leader" {
                throw APIError(MeridianError(.unavailable, code: "leader_moved", "the leader of table '\(table)' changed while the request was forwarded; retry"))
            }
            throw refusal
        }
        if let leader = refusal.error.redirect {
            return try await forwardToLeader(request, table: table, body: body, leader: leader, refusal: refusal)
        }
        return .answered(try await forwardToNearest(request, table: table, body: body, refusal: refusal))
    }

    /// The one region that can serve (a table's leader, a forced failover's target).
    private func forwardToLeader(_ request: Request, table: TableName, body: ByteBuffer?, leader: RegionID, refusal: APIError) async throws -> Outcome {
        guard let api = node.cluster.endpoint(of: leader)?.api else { throw refusal }
        guard !isSilent(leader) else {
            return .retry(APIError(MeridianError(.unavailable, code: "leader_unreachable",
                "the leader of table '\(table)', \(leader), has sent nothing for over \(Self.silentPeerMillisecondsMax) ms and no other region leads yet; nothing was applied, retry")))
        }
        switch await send(request, body: body, to: leader, api: api) {
        case .answered(let response):
            return .answered(response)
        case .refusedBeforeApplying(let error):
            return .retry(error)
        case .notSent(let reason):
            return .retry(APIError(MeridianError(.unavailable, code: "leader_unreachable",
                "the leader of table '\(table)', \(leader), could not be reached (\(reason)); nothing was applied, retry")))
        case .noAnswer:
            if request.method == .get { return .retry(timeout(table, leader, request.method)) }
            throw timeout(table, leader, request.method)
        }
    }

    /// The nearest region that stores the table, then the next: a region that cannot serve
    /// it either (503) passes the request on.
    private func forwardToNearest(_ request: Request, table: TableName, body: ByteBuffer?, refusal: APIError) async throws -> Response {
        guard case .tables(let tables) = try await node.perform(.listTables).get(),
              let regions = tables.first(where: { $0.definition.name == table })?.definition.regions
        else { throw refusal }
        let delays = node.cluster.oneWayDelaysMilliseconds(from: node.region)
        // Nearest first, regions that have gone silent last.
        let candidates = regions.filter { $0 != node.region }
            .sorted { (isSilent($0) ? 1 : 0, delays[$0] ?? 0, $0) < (isSilent($1) ? 1 : 0, delays[$1] ?? 0, $1) }
        guard !candidates.isEmpty else { throw refusal }
        var lastUnavailable: Response? = nil
        for region in candidates {
            guard let api = node.cluster.endpoint(of: region)?.api else { continue }
            switch await send(request, body: body, to: region, api: api) {
            case .answered(let response) where response.status == .serviceUnavailable:
                lastUnavailable = response
            case .answered(let response):
                return response
            case .refusedBeforeApplying(let error):
                lastUnavailable = try? error.jsonResponse()
            case .notSent:
                continue
            case .noAnswer:
                // A read may be asked elsewhere; a write may have been applied there.
                guard request.method == .get else { throw timeout(table, region, request.method) }
            }
        }
        if let lastUnavailable { return lastUnavailable }
        throw APIError(MeridianError(.unavailable, code: "forwarding_failed",
            "table '\(table)' is stored only in \(regions.map(\.name).joined(separator: ", ")), and none of them answered"))
    }

    private func timeout(_ table: TableName, _ region: RegionID, _ method: HTTPRequest.Method) -> APIError {
        let outcome = method == .get ? "" : "; the write may or may not have been applied: read it before writing again"
        return APIError(MeridianError(.unavailable, code: "forward_timeout",
            "\(region) did not answer a request for table '\(table)' within \(attemptMilliseconds(to: region, method: method)) ms\(outcome)"))
    }

    /// What one attempt came to.
    private enum Attempt {
        case answered(Response)
        /// The target answered that it refused the request before applying anything.
        case refusedBeforeApplying(APIError)
        /// The request never left: the connection was refused or timed out.
        case notSent(String)
        /// The request was sent (or may have been) and no answer came in time.
        case noAnswer
    }

    private func send(_ request: Request, body: ByteBuffer?, to region: RegionID, api: String) async -> Attempt {
        var outbound = HTTPClientRequest(url: "\(node.cluster.apiScheme)://\(api)\(request.uri.string)")
        outbound.method = NIOHTTP1.HTTPMethod(rawValue: request.method.rawValue)
        for name in Self.passedRequestHeaders {
            if let value = request.headers[name] { outbound.headers.add(name: name.canonicalName, value: value) }
        }
        outbound.headers.add(name: HTTPField.Name.meridianForwardedBy.canonicalName, value: node.region.name)
        if let body { outbound.body = .bytes(body) }
        let delay = node.oneWayDelaysMilliseconds[region] ?? 0
        let answer: HTTPClientResponse
        do {
            try await pay(delay)
            answer = try await regionHTTPClient(for: node.cluster).execute(outbound, timeout: .milliseconds(attemptMilliseconds(to: region, method: request.method)))
            try await pay(delay)
        } catch {
            return Self.neverLeft(error).map(Attempt.notSent) ?? .noAnswer
        }
        var headers: HTTPFields = [:]
        for name in Self.passedResponseHeaders {
            if let value = answer.headers.first(name: name.canonicalName) { headers[name] = value }
        }
        headers[.meridianForwardedBy] = node.region.name
        let status = HTTPResponse.Status(code: Int(answer.status.code))
        guard status == .serviceUnavailable else {
            return .answered(Response(status: status, headers: headers, body: ResponseBody(asyncSequence: answer.body)))
        }
        // A 503 is small: read it to learn whether the target applied nothing.
        guard let bytes = try? await answer.body.collect(upTo: Self.refusalBytesMax) else { return .noAnswer }
        if let refusal = try? APIJSON.decode(ErrorBody.self, from: bytes.readableBytesView), Self.notAppliedCodes.contains(refusal.error.code) {
            return .refusedBeforeApplying(APIError(MeridianError(.unavailable, code: refusal.error.code, refusal.error.message)))
        }
        return .answered(Response(status: status, headers: headers, body: ResponseBody(byteBuffer: bytes)))
    }

    /// Why a request certainly never reached the other region, or `nil` when it may have.
    static func neverLeft(_ error: any Error) -> String? {
        switch error {
        case let error as HTTPClientError where error == .connectTimeout:
            return "connecting timed out"
        case is NIOConnectionError:
            return "the connection was refused"
        case let error as IOError where error.errnoCode == ECONNREFUSED:
            return "the connection was refused"
        case let error as ChannelError:
            if case .connectTimeout = error { return "connecting timed out" }
            return nil
        default:
            return nil
        }
    }

    private func pay(_ milliseconds: Double) async throws {
        if milliseconds > 0 { try await Task.sleep(for: .microseconds(Int(milliseconds * 1000))) }
    }
}
