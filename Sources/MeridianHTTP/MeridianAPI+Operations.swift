import Foundation
import HTTPTypes
import Hummingbird
import MeridianCore
import NIOCore

/// What a node's API needs for operations and security, beyond the node itself.
public struct OperationsOptions: Sendable {
    /// The client tokens; `nil`: every request runs without one (no `secrets_file`).
    public var accessControl: AccessControl?
    /// Where admin actions are recorded; `nil`: nowhere (tests over in-memory storage).
    public var auditLog: AuditLog?

    public init(accessControl: AccessControl? = nil, auditLog: AuditLog? = nil) {
        self.accessControl = accessControl
        self.auditLog = auditLog
    }
}

extension MeridianAPI {
    /// Adds the middleware of operations (token check and audit): after the error
    /// middleware, so that refusals are rendered like every other error.
    func addOperationsMiddleware(_ router: Router<BasicRequestContext>) {
        router.add(middleware: AuthenticationMiddleware(accessControl: operations.accessControl, auditLog: operations.auditLog, region: node.region))
    }

    /// Adds the routes of operations: the audit log.
    func addOperationsRoutes(_ router: Router<BasicRequestContext>) {
        router.get("/v1/audit", use: audit)
    }

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
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: try JSONBodies.encode(["records": records]))))
    }
}
