import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MeridianCore
import MeridianHTTP
import MeridianNode
import MeridianStorage
import Testing

/// Bearer tokens and roles on the client API, and the audit log of admin actions
/// (in-memory router tests).
struct AuthenticationTests {
    static let readToken = "read-token-0123456789"
    static let writeToken = "write-token-0123456789"
    static let adminToken = "admin-token-0123456789"

    static func accessControl(openPaths: [String]? = nil) throws -> AccessControl {
        try AccessControl(AccessControl.File(tokens: [
            .init(name: "reader", role: .read, sha256: AccessControl.hash(token: readToken)),
            .init(name: "writer", role: .write, sha256: AccessControl.hash(token: writeToken)),
            .init(name: "operator", role: .admin, sha256: AccessControl.hash(token: adminToken)),
        ], openPaths: openPaths))
    }

    /// Runs `body` against a node whose API asks for tokens and keeps an audit log.
    func withSecuredAPI(_ body: @Sendable (any TestClientProtocol, AuditLog) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-auth-\(UInt64.random(in: 0...UInt64.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let auditLog = try AuditLog(path: directory.appendingPathComponent("audit.log").path)
        let node = try Node(cluster: APITests.cluster, region: APITests.region, storage: InMemoryStorage())
        let api = MeridianAPI(node: node, operations: OperationsOptions(accessControl: try Self.accessControl(), auditLog: auditLog))
        let app = Application(router: api.router())
        try await app.test(.router) { client in try await body(client, auditLog) }
        await node.shutdown()
    }

    static func bearer(_ token: String) -> HTTPFields { [.authorization: "Bearer \(token)"] }

    @Test func withoutATokenEveryRequestIsRefusedWith401AndNothingChanges() async throws {
        try await withSecuredAPI { client, _ in
            let create = try await client.put("/v1/tables/users", #"{"mode": "multi-primary"}"#)
            try expectError(create, .unauthorized, "unauthenticated")
            #expect(create.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
            try expectError(try await client.execute(uri: "/v1/tables", method: .get), .unauthorized, "unauthenticated")
            // A token the cluster does not know is no better.
            try expectError(try await client.put("/v1/tables/users", "{}", headers: Self.bearer("guessed")), .unauthorized, "unauthenticated")
            let list = try object(try await client.execute(uri: "/v1/tables", method: .get, headers: Self.bearer(Self.readToken)))
            #expect(list["tables"] == .array([]))
        }
    }

    /// Issue 15, item 5: a refused admin action is audited as docs/operations.md says, the
    /// 401s too (with no token, or with one the cluster does not know); a refused item
    /// write is not an admin action and stays out of the log.
    @Test func adminActionsRefusedWith401AreAudited() async throws {
        try await withSecuredAPI { client, auditLog in
            try expectError(try await client.put("/v1/tables/users", "{}"), .unauthorized, "unauthenticated")
            try expectError(try await client.execute(uri: "/v1/tables/users", method: .delete, headers: Self.bearer("guessed")), .unauthorized, "unauthenticated")
            try expectError(try await client.put("/v1/tables/users/items/k", "1"), .unauthorized, "unauthenticated")
            let lines = try String(contentsOfFile: auditLog.path, encoding: .utf8).split(separator: "\n")
            #expect(lines.count == 2, "\(lines)")
            #expect(lines.first?.contains(#""method":"PUT","path":"/v1/tables/users","phase":"outcome","region":"us-east","status":401"#) == true, "\(lines)")
            #expect(lines.first?.contains(#""who":"(no token)""#) == true && lines.first?.contains(#""role""#) == false, "\(lines)")
            #expect(lines.last?.contains(#""method":"DELETE""#) == true && lines.last?.contains(#""who":"(unknown token)""#) == true, "\(lines)")
        }
    }

    @Test func healthIsOpenByDefault() async throws {
        try await withSecuredAPI { client, _ in
            let health = try await client.execute(uri: "/v1/health", method: .get)
            #expect(health.status == .ok)
        }
    }

    @Test func aReadTokenCannotWriteItems() async throws {
        try await withSecuredAPI { client, _ in
            #expect(try await client.put("/v1/tables/users", "{}", headers: Self.bearer(Self.adminToken)).status == .created)
            let put = try await client.put("/v1/tables/users/items/alex", #"{"city": "Pune"}"#, headers: Self.bearer(Self.readToken))
            try expectError(put, .forbidden, "forbidden")
            let read = try await client.execute(uri: "/v1/tables/users/items/alex", method: .get, headers: Self.bearer(Self.readToken))
            try expectError(read, .notFound, "item_not_found")
        }
    }

    @Test func aWriteTokenWritesItemsButCannotCreateOrDeleteTables() async throws {
        try await withSecuredAPI { client, _ in
            try expectError(try await client.put("/v1/tables/users", "{}", headers: Self.bearer(Self.writeToken)), .forbidden, "forbidden")
            try expectError(try await client.execute(uri: "/v1/tables/users", method: .get, headers: Self.bearer(Self.writeToken)), .notFound, "table_not_found")
            #expect(try await client.put("/v1/tables/users", "{}", headers: Self.bearer(Self.adminToken)).status == .created)
            #expect(try await client.put("/v1/tables/users/items/alex", "1", headers: Self.bearer(Self.writeToken)).status == .ok)
            try expectError(try await client.execute(uri: "/v1/tables/users", method: .delete, headers: Self.bearer(Self.writeToken)), .forbidden, "forbidden")
            try expectError(try await client.put("/v1/tables/users/regions", #"{"regions": ["us-east"]}"#, headers: Self.bearer(Self.writeToken)), .forbidden, "forbidden")
            #expect(try await client.execute(uri: "/v1/tables/users", method: .delete, headers: Self.bearer(Self.adminToken)).status == .noContent)
        }
    }

    @Test func adminActionsAreAuditedWithWhoAndWhatAndTheLogIsAdminOnly() async throws {
        try await withSecuredAPI { client, _ in
            _ = try await client.put("/v1/tables/users", "{}", headers: Self.bearer(Self.adminToken))
            _ = try await client.put("/v1/tables/users", "{}", headers: Self.bearer(Self.writeToken))
            _ = try await client.execute(uri: "/v1/tables/users", method: .delete, headers: Self.bearer(Self.adminToken))
            _ = try await client.put("/v1/tables/other/items/k", "1", headers: Self.bearer(Self.writeToken))
            try expectError(try await client.execute(uri: "/v1/audit", method: .get, headers: Self.bearer(Self.readToken)), .forbidden, "forbidden")
            let page = try object(try await client.execute(uri: "/v1/audit", method: .get, headers: Self.bearer(Self.adminToken)))
            guard case .array(let records)? = page["records"] else { Issue.record("no records"); return }
            let summary = records.compactMap { record -> String? in
                guard case .object(let fields) = record, case .string(let who)? = fields["who"], case .string(let method)? = fields["method"],
                      case .string(let path)? = fields["path"], case .integer(let status)? = fields["status"] else { return nil }
                return "\(who) \(method) \(path) \(status)"
            }
            #expect(summary == ["operator PUT /v1/tables/users 201", "writer PUT /v1/tables/users 403", "operator DELETE /v1/tables/users 204"])
            // Issue 15, item 4: a granted action's intent is in the log before it runs, under
            // the id its outcome carries; a refused one has only its outcome.
            let phases = records.compactMap { record -> String? in
                guard case .object(let fields) = record, case .string(let id)? = fields["id"], case .string(let phase)? = fields["phase"] else { return nil }
                return "\(phase) \(id)"
            }
            #expect(phases.count == 5, "\(phases)")
            let ids = phases.map { $0.split(separator: " ")[1] }
            #expect(phases.map { $0.split(separator: " ")[0] } == ["intent", "outcome", "outcome", "intent", "outcome"], "\(phases)")
            #expect(ids[0] == ids[1] && ids[3] == ids[4] && Set(ids).count == 3, "\(phases)")
        }
    }

    @Test func withoutASecretsFileAdminActionsAreAuditedAsAnonymousAndItemWritesAreNot() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-audit-\(UInt64.random(in: 0...UInt64.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let auditLog = try AuditLog(path: directory.appendingPathComponent("audit.log").path)
        let node = try Node(cluster: APITests.cluster, region: APITests.region, storage: InMemoryStorage())
        let app = Application(router: MeridianAPI(node: node, operations: OperationsOptions(auditLog: auditLog)).router())
        try await app.test(.router) { client in
            #expect(try await client.put("/v1/tables/users", "{}").status == .created)
            #expect(try await client.put("/v1/tables/users/items/SECRETKEY", "1").status == .ok)
            let log = try String(contentsOfFile: auditLog.path, encoding: .utf8)
            #expect(log.contains(#""who":"anonymous""#) && log.contains("/v1/tables/users"))
            #expect(!log.contains("SECRETKEY"), "item writes (and their keys) stay out of the audit log")
        }
        await node.shutdown()
    }

    @Test func rolesFollowTheRouteAndNewWriteRoutesNeedAdmin() throws {
        let access = try Self.accessControl(openPaths: ["/v1/health", "/metrics"])
        #expect(access.requiredRole(method: "GET", path: "/metrics") == nil)
        #expect(access.requiredRole(method: "GET", path: "/v1/tables/t/items/k") == .read)
        #expect(access.requiredRole(method: "DELETE", path: "/v1/tables/t/items/a/b") == .write)
        #expect(access.requiredRole(method: "PUT", path: "/v1/tables/t") == .admin)
        #expect(access.requiredRole(method: "POST", path: "/v1/tables/t/failover") == .admin)
        #expect(access.requiredRole(method: "PUT", path: "/v1/debug/links/eu-west") == .admin)
        #expect(access.requiredRole(method: "GET", path: "/v1/audit") == .admin)
    }

    @Test func aSecretsFileWithAMalformedHashIsRefused() {
        #expect(throws: MeridianError.self) {
            try AccessControl(AccessControl.File(tokens: [.init(name: "x", role: .read, sha256: "abc")]))
        }
    }
}
