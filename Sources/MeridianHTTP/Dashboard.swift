import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import MeridianCore
import MeridianNode
import NIOCore
import NIOHTTP1

/// The dashboard's server side: the page, one JSON snapshot of the whole cluster as the
/// serving region can gather it, and (under `meridian dev` only) the fault controls.
///
/// The snapshot asks every region for its own `GET /v1/cluster` and `placement?scope=local`
/// of each table, with the caller's token, in parallel, each with a short deadline: a
/// region that does not answer is shown as down rather than holding the page up.
extension MeridianAPI {
    /// How long the snapshot waits for one region, in milliseconds.
    static let dashboardFetchTimeoutMilliseconds: Int64 = 800
    /// The most tables the snapshot reports on.
    static let dashboardTablesMax = 50
    /// The largest answer read from a region for the snapshot, in bytes.
    static let dashboardAnswerBytesMax = 1 << 20

    func addDashboardRoutes(_ router: Router<BasicRequestContext>) {
        router.get("/dashboard", use: dashboardPage)
        router.get("/v1/dashboard/state", use: dashboardState)
        router.put("/v1/dashboard/links/:from/:to", use: dashboardLink)
        router.put("/v1/debug/regions/:region", use: devRegion)
    }

    /// `GET /dashboard`: the page (markup, drawing and script; nothing loads from elsewhere).
    @Sendable func dashboardPage(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        var headers: HTTPFields = [.contentType: "text/html; charset=utf-8"]
        headers[.cacheControl] = "no-store"
        // Everything the page needs is inline; it may talk only to this node.
        headers[HTTPField.Name("Content-Security-Policy")!] = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: DashboardPage.html)))
    }

    /// `GET /v1/dashboard/state`: every region's view of the cluster, every table with what
    /// each region holds of it, and which controls this node offers.
    @Sendable func dashboardState(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let authorization = request.headers[.authorization]
        guard case .success(.tables(let statuses)) = await node.perform(.listTables) else {
            throw APIError(MeridianError(.unavailable, code: "region_unavailable", "the region did not answer"))
        }
        let tables = statuses.prefix(Self.dashboardTablesMax).map(\.definition)
        // The leader of each primary and strong table, as this region's group sees it.
        var leaders: [TableName: String] = [:]
        if case .success(.cluster(let status)) = await node.perform(.clusterStatus) {
            for (table, group) in status.raftGroups { if let leader = group.leader { leaders[table] = leader.name } }
        }
        let regions = node.cluster.regions
        let views: [(String, JSONValue?)] = await withTaskGroup(of: (String, JSONValue?).self) { group in
            for endpoint in regions {
                group.addTask { (endpoint.name.name, await fetchJSON(cluster: node.cluster, api: endpoint.api, path: "/v1/cluster", authorization: authorization)) }
                for table in tables where table.regions.contains(endpoint.name) {
                    group.addTask {
                        (endpoint.name.name + "/" + table.name.name,
                         await fetchJSON(cluster: node.cluster, api: endpoint.api, path: "/v1/tables/\(table.name.name)/placement?scope=local", authorization: authorization))
                    }
                }
            }
            var results: [(String, JSONValue?)] = []
            for await result in group { results.append(result) }
            return results
        }
        let answers = Dictionary(views, uniquingKeysWith: { first, _ in first })
        let regionValues: [JSONValue] = regions.map { endpoint in
            .object(["name": .string(endpoint.name.name), "api": .string(endpoint.api),
                     "self": .bool(endpoint.name == node.region), "view": answers[endpoint.name.name].flatMap { $0 } ?? .null])
        }
        let tableValues: [JSONValue] = tables.map { table in
            var holdings: [String: JSONValue] = [:]
            for region in table.regions {
                if case .object(let placement)? = answers[region.name + "/" + table.name.name].flatMap({ $0 }) {
                    holdings[region.name] = placement["items"] ?? .null
                } else {
                    holdings[region.name] = .null
                }
            }
            var fields: [String: JSONValue] = [
                "name": .string(table.name.name), "mode": .string(table.mode.rawValue),
                "regions": .array(table.regions.map { .string($0.name) }), "items": .object(holdings),
            ]
            if let conflict = table.conflict { fields["conflict"] = .string(conflict.rawValue) }
            if let primary = table.primary { fields["primary"] = .string(primary.name) }
            if let leader = leaders[table.name] { fields["leader"] = .string(leader) }
            return .object(fields)
        }
        let state = JSONValue.object([
            "region": .string(node.region.name),
            "fault_injection": .bool(node.allowFaultInjection),
            "dev_controls": .bool(operations.devControlAddress != nil),
            "regions": .array(regionValues), "tables": .array(tableValues),
        ])
        var headers: HTTPFields = [.contentType: "application/json"]
        headers[.cacheControl] = "no-store"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: state.canonicalBytes)))
    }

    /// `PUT /v1/dashboard/links/{from}/{to}` with `{"cut": true|false}`: cuts or heals both
    /// directions of the link at region `from` (which then neither sends to nor hears `to`).
    @Sendable func dashboardLink(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let from = try RegionID(context.parameters.get("from") ?? "")
        let to = try RegionID(context.parameters.get("to") ?? "")
        guard let endpoint = node.cluster.endpoint(of: from), node.cluster.endpoint(of: to) != nil, from != to else {
            throw APIError(MeridianError(.notFound, code: "unknown_region", "both regions must be distinct regions of the cluster"))
        }
        let body = try await request.body.collect(upTo: Limits.definitionBytesMax)
        guard case .object(let fields) = try JSONValue.parse(body.readableBytesView, bytesMax: Limits.definitionBytesMax),
              case .bool(let cut)? = fields["cut"] else {
            throw APIError(.invalid("invalid_link", #"send {"cut": true|false}"#))
        }
        return try await relay("PUT", url: "\(node.cluster.apiScheme)://\(endpoint.api)/v1/debug/links/\(to.name)",
                               body: #"{"cut": \#(cut), "direction": "both"}"#, authorization: request.headers[.authorization])
    }

    /// `PUT /v1/debug/regions/{region}` with `{"running": true|false}`: asks `meridian dev`
    /// to start or stop (SIGKILL) a region's process. Only on nodes `meridian dev` started.
    @Sendable func devRegion(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        guard let devControl = operations.devControlAddress else {
            throw APIError(MeridianError(.methodNotAllowed, code: "dev_controls_disabled", "only regions started by meridian dev can be stopped and started from the API"))
        }
        let region = try RegionID(context.parameters.get("region") ?? "")
        guard node.cluster.endpoint(of: region) != nil else {
            throw APIError(MeridianError(.notFound, code: "unknown_region", "'\(region)' is not a region of this cluster"))
        }
        let body = try await request.body.collect(upTo: Limits.definitionBytesMax)
        guard case .object(let fields) = try JSONValue.parse(body.readableBytesView, bytesMax: Limits.definitionBytesMax),
              case .bool(let running)? = fields["running"] else {
            throw APIError(.invalid("invalid_region_state", #"send {"running": true|false}"#))
        }
        return try await relay("POST", url: "http://\(devControl)/regions/\(region.name)/\(running ? "start" : "stop")",
                               body: nil, authorization: request.headers[.authorization])
    }

    /// Sends one request and hands its answer back as it is.
    private func relay(_ method: String, url: String, body: String?, authorization: String?) async throws -> Response {
        var outbound = HTTPClientRequest(url: url)
        outbound.method = NIOHTTP1.HTTPMethod(rawValue: method)
        if let authorization { outbound.headers.add(name: "Authorization", value: authorization) }
        if let body { outbound.body = .bytes(ByteBuffer(string: body)) }
        let answer: HTTPClientResponse
        do {
            answer = try await regionHTTPClient(for: node.cluster).execute(outbound, timeout: .milliseconds(Forwarder.connectTimeoutMilliseconds))
        } catch {
            throw APIError(MeridianError(.unavailable, code: "control_unreachable", "could not reach \(url): \(error)"))
        }
        let bytes = try await answer.body.collect(upTo: Self.dashboardAnswerBytesMax)
        return Response(status: .init(code: Int(answer.status.code)), headers: [.contentType: "application/json"], body: .init(byteBuffer: bytes))
    }
}

/// One region's JSON answer to a GET, or `nil` when it does not answer 200 in time.
private func fetchJSON(cluster: ClusterConfiguration, api: String, path: String, authorization: String?) async -> JSONValue? {
    var outbound = HTTPClientRequest(url: "\(cluster.apiScheme)://\(api)\(path)")
    outbound.method = .GET
    if let authorization { outbound.headers.add(name: "Authorization", value: authorization) }
    guard let answer = try? await regionHTTPClient(for: cluster).execute(outbound, timeout: .milliseconds(MeridianAPI.dashboardFetchTimeoutMilliseconds)),
          answer.status == .ok,
          let bytes = try? await answer.body.collect(upTo: MeridianAPI.dashboardAnswerBytesMax)
    else { return nil }
    return try? JSONValue.parse(bytes.readableBytesView, bytesMax: MeridianAPI.dashboardAnswerBytesMax)
}
