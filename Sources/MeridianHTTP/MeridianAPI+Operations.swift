import Foundation
import HTTPTypes
import Hummingbird
import MeridianAPIModel
import MeridianCore
import NIOCore

/// What a node's API needs for operations and security, beyond the node itself.
public struct OperationsOptions: Sendable {
    /// The client tokens; `nil`: every request runs without one (no `secrets_file`).
    public var accessControl: AccessControl?
    /// Where admin actions are recorded; `nil`: nowhere (tests over in-memory storage).
    public var auditLog: AuditLog?
    /// The node's metrics, served at `GET /metrics`.
    public var metrics: NodeMetrics
    /// `host:port` of the control endpoint of the `meridian dev` that started this node
    /// (stopping and starting regions from the dashboard); `nil` everywhere else.
    public var devControlAddress: String?

    public init(accessControl: AccessControl? = nil, auditLog: AuditLog? = nil, metrics: NodeMetrics = NodeMetrics(), devControlAddress: String? = nil) {
        self.accessControl = accessControl
        self.auditLog = auditLog
        self.metrics = metrics
        self.devControlAddress = devControlAddress
    }
}

extension MeridianAPI {
    /// Adds the middleware of operations (token check and audit): after the error
    /// middleware, so that refusals are rendered like every other error.
    func addOperationsMiddleware(_ router: Router<BasicRequestContext>) {
        router.add(middleware: MetricsMiddleware(metrics: operations.metrics, region: node.region.name))
        router.add(middleware: AuthenticationMiddleware(accessControl: operations.accessControl, auditLog: operations.auditLog, region: node.region))
    }

    /// Adds the routes of operations: metrics, the audit log and the dashboard.
    func addOperationsRoutes(_ router: Router<BasicRequestContext>) {
        router.get("/v1/audit", use: audit)
        router.get("/metrics", use: metrics)
        addDashboardRoutes(router)
    }

    /// `GET /metrics`: Prometheus text format; what the region knows is read now.
    @Sendable func metrics(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        guard case .success(.cluster(let status)) = await node.perform(.clusterStatus),
              case .success(.tables(let tables)) = await node.perform(.listTables) else {
            throw APIError(MeridianError(.unavailable, code: "region_unavailable", "the region did not answer its status"))
        }
        var readings: [NodeMetrics.TableReading] = []
        for table in tables.prefix(Self.metricsTablesMax) {
            let definition = table.definition
            guard case .success(.placement(let residue, _)) = await node.perform(.placement(definition.name)) else { continue }
            readings.append(NodeMetrics.TableReading(
                name: definition.name.name, policy: definition.conflict?.rawValue ?? definition.mode.rawValue,
                items: residue.items, bytes: residue.bytes, logEntries: residue.logEntries, conflictLedgerEntries: residue.conflicts))
        }
        operations.metrics.update(region: node.region, status: status, tables: readings, sendQueueBytes: node.peerSendQueueBytes())
        operations.metrics.updateStorage(region: node.region, corruptionDetected: node.corruptionDetectedTotal)
        operations.metrics.updateRaft(status.raftGroups.sorted { $0.key < $1.key }.map { table, group in
            NodeMetrics.RaftGroupReading(group: table.name, term: group.term, isLeader: group.role == "leader",
                                         electionsStarted: group.campaigns, leaderChanges: group.leaderChanges)
        })
        let headers: HTTPFields = [.contentType: "text/plain; version=0.0.4; charset=utf-8"]
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: operations.metrics.render())))
    }

    /// The most tables one scrape reports on (each costs a storage count).
    static let metricsTablesMax = 1000

    /// `GET /v1/audit?limit=N`: the newest admin actions, oldest first (admin only).
    @Sendable func audit(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        guard let auditLog = operations.auditLog else {
            throw APIError(MeridianError(.notFound, code: "no_audit_log", "this node keeps no audit log"))
        }
        let query = try QueryParameters(request.uri.query)
        let limit = Int(try query.integer("limit") ?? 100)
        guard (1...AuditLog.pageRecordsMax).contains(limit) else {
            throw APIError(.invalid("invalid_limit", "limit must be 1 to \(AuditLog.pageRecordsMax)"))
        }
        let records = try auditLog.newest(limit: limit)
        var headers: HTTPFields = [.contentType: "application/json"]
        headers[.cacheControl] = "no-store"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: try APIJSON.encode(["records": records]))))
    }
}
