import Foundation
import HTTPTypes
import Hummingbird
import MeridianAPIModel
import MeridianCore
import NIOCore

/// Checks every request's bearer token against the cluster's `AccessControl`, and records
/// every admin request (granted, refused for its role, or refused for want of a known
/// token) in the audit log.
///
/// - No token, or one the cluster does not know: 401 `unauthenticated` with
///   `WWW-Authenticate: Bearer`; nothing runs.
/// - A token whose role is below what the request needs: 403 `forbidden`; nothing runs.
/// - Without access control (no `secrets_file`), every request runs as `anonymous`.
struct AuthenticationMiddleware<Context: RequestContext>: RouterMiddleware {
    let accessControl: AccessControl?
    let auditLog: AuditLog?
    let region: RegionID

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // The DynamoDB endpoint verifies AWS signatures and records its admin actions itself.
        if DynamoEndpoint.handles(request) { return try await next(request, context) }
        let path = request.uri.path
        let method = request.method.rawValue
        let authorization = request.headers[.authorization]
        guard let accessControl else {
            return try await audited(request, principal: .anonymous, needs: AccessControl.role(method: method, path: path)) {
                try await Principal.$current.withValue((.anonymous, authorization)) { try await next(request, context) }
            }
        }
        guard let needed = accessControl.requiredRole(method: method, path: path) else {
            return try await next(request, context)
        }
        guard let token = Self.bearerToken(authorization), let principal = accessControl.principal(token: token) else {
            let message = authorization == nil
                ? "this request needs a bearer token: send 'Authorization: Bearer <token>' (meridian dev writes one to <data>/token)"
                : "the bearer token is not one this cluster knows"
            let refusal = try Self.refusal(.unauthorized, code: "unauthenticated", message, headers: [.wwwAuthenticate: #"Bearer realm="meridian""#])
            if Self.isAdminAction(request, needs: needed) {
                // A refused admin action is audited too: who tried, with no token or an unknown one.
                auditLog?.append(AuditRecord(id: AuditRecord.newID(), phase: .outcome, who: authorization == nil ? AuditRecord.noToken : AuditRecord.unknownToken,
                                             role: nil, method: method, path: path, status: refusal.status.code, region: region.name))
            }
            return refusal
        }
        guard principal.role >= needed else {
            let refusal = try Self.refusal(.forbidden, code: "forbidden",
                "token '\(principal.name)' has role \(principal.role.rawValue); \(method) \(path.prefix(200)) needs \(needed.rawValue)")
            if Self.isAdminAction(request, needs: needed) {
                auditLog?.append(AuditRecord(id: AuditRecord.newID(), phase: .outcome, who: principal.name, role: principal.role,
                                             method: method, path: path, status: refusal.status.code, region: region.name))
            }
            return refusal
        }
        return try await audited(request, principal: principal, needs: needed) {
            try await Principal.$current.withValue((principal, authorization)) { try await next(request, context) }
        }
    }

    /// Runs `work`; for an admin action, only once its intent is durable in the audit log
    /// (else 503 `audit_unavailable`, and nothing runs), and then records its outcome.
    private func audited(_ request: Request, principal: Principal, needs: Role, _ work: () async throws -> Response) async throws -> Response {
        guard Self.isAdminAction(request, needs: needs), let auditLog else { return try await work() }
        let id = AuditRecord.newID()
        let (method, path) = (request.method.rawValue, request.uri.path)
        do {
            try auditLog.appendDurably(AuditRecord(id: id, phase: .intent, who: principal.name, role: principal.role,
                                                   method: method, path: path, status: nil, region: region.name))
        } catch {
            throw APIError(MeridianError(.unavailable, code: "audit_unavailable",
                "the audit record of this admin action could not be made durable (\(error)); nothing was done: free space in the data directory and retry"))
        }
        do {
            let response = try await work()
            auditLog.append(AuditRecord(id: id, phase: .outcome, who: principal.name, role: principal.role,
                                        method: method, path: path, status: response.status.code, region: region.name))
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            auditLog.append(AuditRecord(id: id, phase: .outcome, who: principal.name, role: principal.role,
                                        method: method, path: path, status: status, region: region.name))
            throw error
        }
    }

    /// Whether a request is an admin action: it needs `admin` and may change something.
    static func isAdminAction(_ request: Request, needs: Role) -> Bool {
        needs == .admin && request.method != .get && request.method != .head
    }

    /// The token of an `Authorization: Bearer <token>` header.
    static func bearerToken(_ header: String?) -> String? {
        guard let header else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return parts[1].trimmingCharacters(in: .whitespaces)
    }

    /// The project's JSON error object with `status`.
    static func refusal(_ status: HTTPResponse.Status, code: String, _ message: String, headers extra: HTTPFields = [:]) throws -> Response {
        var headers = extra
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: try APIJSON.encode(ErrorBody(code: code, message: message)))))
    }
}
