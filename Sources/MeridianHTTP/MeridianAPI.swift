// MeridianHTTP owns the client-facing HTTP/JSON API of DESIGN.md §5 (Hummingbird):
// routing, parsing and validating requests at the edge, and rendering replies and
// errors. It holds no state of its own: every request goes to the node.

import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import AsyncHTTPClient
import MeridianAPIModel
import MeridianCore
import MeridianNode
import MeridianRegion
import MeridianReplication
import MeridianStorage

/// The HTTP API of one node.
public struct MeridianAPI: Sendable {
    /// The node that serves the requests.
    public let node: Node
    let sessions: SessionTokens
    /// Tokens, audit log, metrics and dashboard (MeridianAPI+Operations.swift).
    public let operations: OperationsOptions

    public init(node: Node, operations: OperationsOptions = OperationsOptions()) {
        self.node = node
        sessions = SessionTokens(cluster: node.cluster)
        self.operations = operations
    }

    /// The router with every route of the API, the 405 answers, and the middleware that
    /// turns every error into the JSON error object and stamps `Meridian-Region`.
    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: ErrorAndRegionMiddleware(region: node.region))
        addOperationsMiddleware(router)
        route(router, "/v1/health", [.get: health])
        route(router, "/v1/cluster", [.get: cluster])
        route(router, "/v1/tables", [.get: listTables])
        route(router, "/v1/tables/:table", [.put: createTable, .get: showTable, .delete: deleteTable])
        route(router, "/v1/tables/:table/items", [.get: scan, .put: emptyKey, .delete: emptyKey])
        route(router, "/v1/tables/:table/items/**", [.put: putItem, .get: getItem, .delete: deleteItem])
        route(router, "/v1/tables/:table/conflicts", [.get: conflicts])
        route(router, "/v1/tables/:table/placement", [.get: placement])
        route(router, "/v1/tables/:table/regions", [.put: changeRegions])
        route(router, "/v1/tables/:table/failover", [.post: failover])
        route(router, "/v1/tables/:table/repair", [.post: repair])
        route(router, "/v1/tables/:table/divergence", [.get: divergence])
        route(router, "/v1/tables/:table/changes", [.get: changes])
        route(router, "/v1/debug/links/:peer", [.put: setLink])
        addOperationsRoutes(router)
        router.post(RouterPath(stringLiteral: DynamoEndpoint.path), use: DynamoEndpoint(node: node, accessControl: operations.accessControl, auditLog: operations.auditLog).handle)
        return router
    }

    typealias Handler = @Sendable (Request, BasicRequestContext) async throws -> Response

    /// Registers the handlers of one path, and a 405 with `Allow` for every other method.
    private func route(_ router: Router<BasicRequestContext>, _ path: RouterPath, _ handlers: [HTTPRequest.Method: Handler]) {
        let allowed = handlers.keys.map(\.rawValue).sorted().joined(separator: ", ")
        for method: HTTPRequest.Method in [.get, .put, .post, .delete, .patch, .head, .options] {
            if let handler = handlers[method] {
                router.on(path, method: method, use: handler)
            } else {
                router.on(path, method: method) { _, _ -> Response in
                    throw APIError(MeridianError(.methodNotAllowed, code: "method_not_allowed", "this path supports \(allowed)"),
                                   headers: [.allow: allowed])
                }
            }
        }
    }

    // MARK: Handlers

    /// `GET /v1/health`: 200 while the region answers, `degraded` with its problems while
    /// its storage or its audit log does not take writes (reads are still served).
    @Sendable func health(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        var problems = node.storageHealth().problems
        if let failure = operations.auditLog?.recentFailure(withinSeconds: Double(Node.storageFailureHoldMilliseconds) / 1000) {
            problems.append("the audit log could not be written \(Int(failure.ageSeconds * 1000)) ms ago (\(failure.reason)): admin actions are refused")
        }
        return try json(.ok, HealthBody(region: node.region.name, status: problems.isEmpty ? "ok" : "degraded", problems: problems.isEmpty ? nil : problems))
    }

    @Sendable func cluster(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        guard case .cluster(let status) = try await perform(.clusterStatus) else { return unexpectedReply() }
        let peers = Dictionary(uniqueKeysWithValues: status.peers.map { ($0.region, $0) })
        let regions = node.cluster.regions.map { endpoint -> ClusterRegionBody in
            let peer = peers[endpoint.name]
            return ClusterRegionBody(
                name: endpoint.name.name, api: endpoint.api, reachable: endpoint.name == node.region || peer?.connected == true,
                isServing: endpoint.name == node.region, applied: status.applied[endpoint.name],
                originLatest: peer?.originLatestSequence, lagMilliseconds: peer?.lagMilliseconds,
                heartbeatAgeMilliseconds: peer?.heartbeatAgeMilliseconds,
                applyDelayMilliseconds: peer?.applyDelayMilliseconds.map { DelayBody(samples: $0.samples, p50: $0.p50, p99: $0.p99, max: $0.max) },
                acknowledgedOurs: peer?.acknowledgedOwn)
        }
        let counters = status.counters
        return try json(.ok, ClusterBody(region: node.region.name, regions: regions, latencyMilliseconds: node.cluster.latencyMilliseconds, counters: CountersBody(
            entriesApplied: counters.entriesApplied, conflictsRecorded: counters.conflictsRecorded,
            clockSkewRejections: counters.clockSkewRejections, residencyRefusals: counters.residencyRefusals,
            snapshotsInstalled: counters.snapshotsInstalled)))
    }

    @Sendable func conflicts(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let table = try tableName(context)
        let query = try QueryParameters(request.uri.query)
        let afterID = try query.integer("start_after") ?? 0
        guard case .conflicts(let rows, let next) = try await perform(.conflicts(table, afterID: afterID, limit: try query.limit())) else { return unexpectedReply() }
        return try json(.ok, ConflictPageBody(conflicts: rows.map(ConflictBody.init), next: next.map(String.init)))
    }

    @Sendable func setLink(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let peer = try RegionID(try decodedComponent(context.parameters.get("peer") ?? "", what: "region"))
        let body = try await collect(request, bytesMax: Limits.definitionBytesMax, what: "link setting")
        guard case .object(let fields) = try JSONValue.parse(body.readableBytesView, bytesMax: Limits.definitionBytesMax),
              case .bool(let cut)? = fields["cut"] else {
            throw APIError(.invalid("invalid_link", #"send {"cut": true|false, "direction": "both"|"outbound"|"inbound"}"#))
        }
        var direction = LinkDirection.both
        if let value = fields["direction"] {
            guard case .string(let raw) = value, let parsed = LinkDirection(rawValue: raw) else {
                throw APIError(.invalid("invalid_link", "direction must be one of \(LinkDirection.allCases.map(\.rawValue).joined(separator: ", "))"))
            }
            direction = parsed
        }
        try node.setLinkCut(to: peer, direction: direction, cut: cut)
        return try json(.ok, ["peer": peer.name, "direction": direction.rawValue, "cut": cut ? "true" : "false"])
    }

    @Sendable func listTables(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        guard case .tables(let statuses) = try await perform(.listTables) else { return unexpectedReply() }
        return try json(.ok, TableListBody(tables: statuses.map { TableBody($0.definition) }))
    }

    @Sendable func createTable(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let name = try tableName(context)
        let body = try await collect(request, bytesMax: Limits.definitionBytesMax, what: "table definition")
        let definition = try JSONValue.parse(body.readableBytesView, bytesMax: Limits.definitionBytesMax)
        guard case .tableCreated(let created, let isNew) = try await perform(.createTable(name, definition: definition)) else { return unexpectedReply() }
        return try json(isNew ? .created : .ok, TableBody(created))
    }

    @Sendable func showTable(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        guard case .table(let status) = try await perform(.showTable(try tableName(context))) else { return unexpectedReply() }
        var body = TableBody(status.definition)
        body.status = TableStatusBody(region: node.region.name, items: status.items ?? 0, bytes: status.bytes ?? 0,
                                      leader: status.raft?.leader?.name, role: status.raft?.role, term: status.raft?.term,
                                      commitIndex: status.raft?.commitIndex, appliedIndex: status.raft?.appliedIndex)
        return try json(.ok, body)
    }

    @Sendable func deleteTable(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let reply = try await perform(.deleteTable(try tableName(context)))
        guard case .tableDeleted = reply else { return unexpectedReply(reply) }
        return Response(status: .noContent)
    }

    @Sendable func putItem(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let table = try tableName(context)
        let key = try itemKey(context)
        let precondition = try writePrecondition(request)
        let causalContext = try versionContext(request)
        let session = try sessionMarks(request)
        let body = try await collect(request, bytesMax: node.valueBytesMax, what: "value")
        return try await forwardingIfMisdirected(request, table: table, body: body) {
            let value = try JSONValue.parse(body.readableBytesView, bytesMax: node.valueBytesMax)
            let (reply, applied) = try await performWithSessionMarks(.putItem(table, key, value, precondition, context: causalContext))
            guard case .written(let written, let version, let vector) = reply else { return unexpectedReply() }
            var response = try json(.ok, WriteBody(key: written.string, version: version.token, region: node.region.name, context: vector?.token), etag: version)
            if let vector { response.headers[.meridianContext] = vector.token }
            response.headers[.meridianSession] = sessions.token(for: session.merged(with: applied.touching(table)))
            return response
        }
    }

    @Sendable func getItem(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let table = try tableName(context)
        let key = try itemKey(context)
        let query = try QueryParameters(request.uri.query)
        let consistency = try query.consistency()
        let session = try sessionMarks(request)
        let requirement: ReadRequirement
        switch consistency {
        case .session: requirement = session.requirement
        case .bounded: requirement = .bounded(maxStalenessMilliseconds: try query.maxStalenessMilliseconds() ?? 0)
        case .strong, .eventual: requirement = .none
        }
        // A session read the region cannot serve yet waits there (up to the node's session
        // wait); a bounded one does not wait: its staleness is proven by heartbeats that
        // come no faster for waiting, and another region may prove it now.
        let wait = consistency == .session ? node.sessionWaitMilliseconds : 0
        return try await forwardingIfMisdirected(request, table: table) {
            let (result, applied) = await node.performWithSessionMarks(.getItem(table, key, consistency, requirement: requirement, waitMilliseconds: wait))
            switch result {
            case .success(.item(let item, let servedAt)):
                var body = ItemBody(item)
                body.consistency = servedAt.rawValue
                body.region = node.region.name
                var response = try json(.ok, body, etag: item.version)
                if let context = body.context { response.headers[.meridianContext] = context }
                response.headers[.meridianSession] = sessions.token(for: session.merged(with: applied.touching(table)))
                return response
            case .success(let other):
                return unexpectedReply(other)
            case .failure(let error) where error.code == "session_not_ready" || error.code == "staleness_unprovable":
                // Another region (the leader, for a consensus table) may have what this one lacks.
                switch try await Forwarder(node: node).forward(request, table: table, body: nil, refusal: APIError(error)) {
                case .answered(let response): return response
                case .retry: throw APIError(error)
                }
            case .failure(let error):
                throw APIError(error)
            }
        }
    }

    @Sendable func deleteItem(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let table = try tableName(context)
        let key = try itemKey(context)
        let precondition = try writePrecondition(request)
        let session = try sessionMarks(request)
        return try await forwardingIfMisdirected(request, table: table) {
            let (reply, applied) = try await performWithSessionMarks(.deleteItem(table, key, precondition))
            guard case .deleted(let deleted, let version) = reply else { return unexpectedReply() }
            var response = try json(.ok, WriteBody(key: deleted.string, version: version.token, region: node.region.name, deleted: true), etag: version)
            response.headers[.meridianSession] = sessions.token(for: session.merged(with: applied.touching(table)))
            return response
        }
    }

    @Sendable func scan(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let table = try tableName(context)
        let query = try QueryParameters(request.uri.query)
        let range = ScanRange(prefix: Array((query["prefix"] ?? "").utf8), startAfter: try query.key("start_after"), limit: try query.limit())
        return try await forwardingIfMisdirected(request, table: table) {
            guard case .page(let items, let next) = try await perform(.scan(table, range)) else { return unexpectedReply() }
            return Self.streamedPage(items, next: next?.string)
        }
    }

    /// A scan page sent item by item: the region bounded the page in bytes
    /// (`Limits.pageBytesMax`), and only one item's encoding exists at a time.
    static func streamedPage(_ items: [StoredItem], next: String?) -> Response {
        let body = ResponseBody { writer in
            try await writer.write(ByteBuffer(data: PageBody.opening))
            for (index, item) in items.enumerated() {
                try await writer.write(ByteBuffer(data: try PageBody.encodedItem(ItemBody(item), first: index == 0)))
            }
            try await writer.write(ByteBuffer(data: try PageBody.closing(next: next)))
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "application/json"], body: body)
    }

    /// Where a table's data is: every region answers for its own storage.
    @Sendable func placement(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let table = try tableName(context)
        let query = try QueryParameters(request.uri.query)
        if query["scope"] == "local" {
            return try json(.ok, try await localPlacement(table))
        }
        var regions: [PlacementBody] = []
        for endpoint in node.cluster.regions {
            if endpoint.name == node.region {
                regions.append(try await localPlacement(table))
            } else {
                regions.append(await remotePlacement(table, endpoint))
            }
        }
        return try json(.ok, PlacementPageBody(table: table.name, regions: regions))
    }

    private func localPlacement(_ table: TableName) async throws -> PlacementBody {
        guard case .placement(let residue, let listed) = try await perform(.placement(table)) else { return unexpectedReply() }
        return PlacementBody(region: node.region.name, residue: residue, listed: listed)
    }

    private func remotePlacement(_ table: TableName, _ endpoint: RegionEndpoint) async -> PlacementBody {
        var outbound = HTTPClientRequest(url: "\(node.cluster.apiScheme)://\(endpoint.api)/v1/tables/\(table.name)/placement?scope=local")
        outbound.method = .GET
        if let authorization = Principal.current?.authorization { outbound.headers.add(name: "Authorization", value: authorization) }
        guard let answer = try? await regionHTTPClient(for: node.cluster).execute(outbound, timeout: .milliseconds(Forwarder(node: node).attemptMilliseconds(to: endpoint.name, method: .get))),
              answer.status == .ok,
              let bytes = try? await answer.body.collect(upTo: Limits.definitionBytesMax),
              let body = try? APIJSON.decode(PlacementBody.self, from: bytes.readableBytesView)
        else { return PlacementBody(unreachable: endpoint.name.name) }
        return body
    }

    @Sendable func changeRegions(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let table = try tableName(context)
        let body = try await collect(request, bytesMax: Limits.definitionBytesMax, what: "regions list")
        guard case .object(let fields) = try JSONValue.parse(body.readableBytesView, bytesMax: Limits.definitionBytesMax),
              case .array(let names)? = fields["regions"], fields.count == 1 else {
            throw APIError(.invalid("invalid_definition", #"send {"regions": ["us-east", ...]}"#))
        }
        let regions = try names.map { name throws(MeridianError) -> RegionID in
            guard case .string(let text) = name else { throw .invalid("invalid_definition", "'regions' must contain region names") }
            return try RegionID(text)
        }
        guard case .regionsChanged(let definition) = try await perform(.changeRegions(table, regions)) else { return unexpectedReply() }
        return try json(.ok, TableBody(definition))
    }

    /// `POST /v1/tables/{table}/failover` with `{"mode": "planned"|"forced", "target": region?}`.
    /// A planned failover runs at the leader, a forced one at its target: the request is
    /// forwarded there.
    @Sendable func failover(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let table = try tableName(context)
        let body = try await collect(request, bytesMax: Limits.definitionBytesMax, what: "failover request")
        let usage = #"send {"mode": "planned"|"forced", "target": "<region>"} (target optional for planned)"#
        guard case .object(let fields) = try JSONValue.parse(body.readableBytesView, bytesMax: Limits.definitionBytesMax),
              Set(fields.keys).isSubset(of: ["mode", "target"]),
              case .string(let mode)? = fields["mode"], mode == "planned" || mode == "forced" else {
            throw APIError(.invalid("invalid_failover", usage))
        }
        var target: RegionID? = nil
        if let value = fields["target"] {
            guard case .string(let name) = value else { throw APIError(.invalid("invalid_failover", usage)) }
            target = try RegionID(name)
        }
        return try await forwardingIfMisdirected(request, table: table, body: body) {
            guard case .failover(let chosen, let planned) = try await perform(.failover(table, planned: mode == "planned", target: target)) else { return unexpectedReply() }
            return try json(.accepted, FailoverBody(table: table.name, mode: planned ? "planned" : "forced", target: chosen.name))
        }
    }

    /// `POST /v1/tables/{table}/repair` (admin): removes the damaged rows of a multi-primary
    /// table in the region that answers (never forwarded: it is the damaged region that
    /// repairs) and has it copy the table back from a healthy region.
    @Sendable func repair(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let table = try tableName(context)
        guard case .repairing(_, let removed, let source) = try await perform(.repairTable(table)) else { return unexpectedReply() }
        return try json(.accepted, RepairBody(table: table.name, region: node.region.name, removedRows: removed, copyFrom: source?.name))
    }

    /// `GET /v1/tables/{table}/divergence`: acknowledged `commit: "local"` writes that a new
    /// leader's log replaced, gathered from every region of the table (each records what it
    /// found in its own log); `?scope=local` answers for this region only.
    @Sendable func divergence(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let table = try tableName(context)
        let query = try QueryParameters(request.uri.query)
        let local = try await localDivergence(table)
        if query["scope"] == "local" {
            return try json(.ok, DivergenceLocalBody(rows: local))
        }
        guard case .table(let status) = try await perform(.showTable(table)) else { return unexpectedReply() }
        var rows = local
        var unreachable: [String] = []
        for region in status.definition.regions where region != node.region {
            guard let endpoint = node.cluster.endpoint(of: region) else { continue }
            var outbound = HTTPClientRequest(url: "\(node.cluster.apiScheme)://\(endpoint.api)/v1/tables/\(table.name)/divergence?scope=local")
            outbound.method = .GET
            if let authorization = Principal.current?.authorization { outbound.headers.add(name: "Authorization", value: authorization) }
            guard let answer = try? await regionHTTPClient(for: node.cluster).execute(outbound, timeout: .milliseconds(Forwarder(node: node).attemptMilliseconds(to: region, method: .get))),
                  answer.status == .ok,
                  let bytes = try? await answer.body.collect(upTo: Self.divergencePageBytesMax),
                  let body = try? APIJSON.decode(DivergenceLocalBody.self, from: bytes.readableBytesView)
            else {
                unreachable.append(region.name)
                continue
            }
            rows += body.rows
        }
        let page = DivergencePageBody(table: table.name, rows: rows, unreachable: unreachable)
        return try json(.ok, page)
    }

    /// The most bytes of divergence rows one region returns to another.
    static let divergencePageBytesMax = 8 << 20
    /// The most divergence rows one region returns.
    static let divergenceRowsMax = 1_000

    private func localDivergence(_ table: TableName) async throws -> [DivergenceRowBody] {
        guard case .divergence(let entries, _) = try await perform(.divergence(table, afterID: 0, limit: Self.divergenceRowsMax)) else { return unexpectedReply() }
        return entries.map(DivergenceRowBody.init)
    }

    /// `PUT` or `DELETE` on `/items/` with nothing after it: the key is missing.
    @Sendable func emptyKey(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        throw APIError(.invalid("invalid_key", "the key is empty; write to /v1/tables/{table}/items/{key}"))
    }

    // MARK: Helpers

    /// Runs `work`; when this region cannot serve it, forwards the request to the region
    /// that can: the table's leader, or the nearest region that may store the table.
    ///
    /// While the table has no leader (an election), or the leader it names went silent or
    /// refused the forwarded request before applying anything, `work` runs again every
    /// `Forwarder.leaderPollMilliseconds` (nothing of it was applied, so a write too may
    /// run again), until `Forwarder.totalMillisecondsMax` after the request arrived; then
    /// the last refusal is the answer. A request forwarded to this region is not held
    /// here: the region that forwarded it waits instead.
    func forwardingIfMisdirected(_ request: Request, table: TableName, body: ByteBuffer? = nil,
                                         _ work: () async throws -> Response) async throws -> Response {
        let forwarder = Forwarder(node: node)
        let deadline = ContinuousClock.now + .milliseconds(Forwarder.totalMillisecondsMax)
        let mayWait = request.headers[.meridianForwardedBy] == nil
        while true {
            let refusal: APIError
            do {
                return try await work()
            } catch let error as APIError where error.error.kind == .misdirected {
                switch try await forwarder.forward(request, table: table, body: body, refusal: error) {
                case .answered(let response): return response
                case .retry(let reason): refusal = reason
                }
            } catch let error as APIError where error.error.code == "no_leader" && mayWait {
                refusal = error
            }
            guard ContinuousClock.now + .milliseconds(Forwarder.leaderPollMilliseconds) < deadline else { throw refusal }
            try await Task.sleep(for: .milliseconds(Forwarder.leaderPollMilliseconds))
        }
    }

    func perform(_ request: RegionRequest) async throws(APIError) -> RegionReply {
        try await performWithSessionMarks(request).0
    }

    private func performWithSessionMarks(_ request: RegionRequest) async throws(APIError) -> (RegionReply, SessionMarks) {
        let (result, applied) = await node.performWithSessionMarks(request)
        switch result {
        case .success(let reply): return (reply, applied)
        case .failure(let error): throw APIError(error)
        }
    }

    /// What the request's `Meridian-Session` token says the session has seen (nothing without one).
    private func sessionMarks(_ request: Request) throws(MeridianError) -> SessionMarks {
        guard let token = request.headers[.meridianSession] else { return SessionMarks() }
        return try sessions.marks(from: token)
    }

    private func unexpectedReply<T>(_ reply: RegionReply? = nil) -> T {
        preconditionFailure("the region answered a request with a reply of another kind: \(String(describing: reply))")
    }

    func tableName(_ context: BasicRequestContext) throws -> TableName {
        try TableName(try decodedComponent(context.parameters.get("table") ?? "", what: "table name"))
    }

    private func itemKey(_ context: BasicRequestContext) throws -> Key {
        // A key may contain '/': every path component after /items/ belongs to it.
        let raw = context.parameters.getCatchAll().joined(separator: "/")
        return try Key(try decodedComponent(raw, what: "key"))
    }

    private func decodedComponent(_ raw: String, what: String) throws(MeridianError) -> String {
        guard let decoded = raw.removingPercentEncoding else {
            throw .invalid("invalid_key", "the \(what) in the path is not valid percent-encoded UTF-8")
        }
        return decoded
    }

    private func versionContext(_ request: Request) throws(MeridianError) -> VersionVector? {
        guard let token = request.headers[.meridianContext] else { return nil }
        guard let vector = VersionVector(token: token) else {
            throw .invalid("invalid_context", "Meridian-Context is not a context this cluster issued; send back the 'context' of a read")
        }
        return vector
    }

    private func writePrecondition(_ request: Request) throws(MeridianError) -> WritePrecondition {
        let ifMatch = request.headers[.ifMatch]
        let ifNoneMatch = request.headers[.ifNoneMatch]
        switch (ifMatch, ifNoneMatch) {
        case (nil, nil):
            return .none
        case (let version?, nil):
            return .versionMatches(Self.unquoted(version))
        case (nil, "*"):
            return .itemAbsent
        case (nil, _?):
            throw .invalid("invalid_precondition", "If-None-Match supports only '*' (create only)")
        case (_?, _?):
            throw .invalid("invalid_precondition", "send If-Match or If-None-Match, not both")
        }
    }

    /// Strips the quotes of an entity tag: `"v"` and `v` name the same version.
    static func unquoted(_ tag: String) -> String {
        let trimmed = tag.trimmingCharacters(in: .whitespaces)
        if trimmed.count >= 2, trimmed.hasPrefix("\""), trimmed.hasSuffix("\"") { return String(trimmed.dropFirst().dropLast()) }
        return trimmed
    }

    /// Reads a body of at most `bytesMax` bytes; a larger one is refused while reading,
    /// before it is buffered, and up front when `Content-Length` already says so.
    private func collect(_ request: Request, bytesMax: Int, what: String) async throws -> ByteBuffer {
        let tooLarge = MeridianError(.tooLarge, code: what == "value" ? "value_too_large" : "definition_too_large",
                                     "the \(what) is larger than the limit of \(bytesMax) bytes")
        if let length = request.headers[.contentLength].flatMap(Int.init), length > bytesMax { throw APIError(tooLarge) }
        do {
            return try await request.body.collect(upTo: bytesMax)
        } catch is NIOTooManyBytesError {
            throw APIError(tooLarge)
        }
    }

    func json(_ status: HTTPResponse.Status, _ body: some Encodable, etag: ItemVersion? = nil) throws -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let etag { headers[.eTag] = "\"\(etag.token)\"" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: try APIJSON.encode(body))))
    }
}
