import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MeridianCore
import MeridianHTTP
import MeridianNode
import MeridianStorage
import MeridianTestSupport
import Testing

/// A full disk under the API (issue 15, item 4): `/v1/health` says so and recovers, an
/// admin action whose audit record cannot be made durable is refused before it runs.
@Suite(.serialized)
struct DiskFullTests {
    @Test func healthReportsDegradedStorageWhileWritesFailAndRecovers() async throws {
        let storage = FullDiskStorage()
        let node = try Node(cluster: APITests.cluster, region: APITests.region, storage: storage)
        let app = Application(router: MeridianAPI(node: node).router())
        try await app.test(.router) { client in
            #expect(try await client.put("/v1/tables/t", "{}").status == .created)
            #expect(try await client.put("/v1/tables/t/items/k", "1").status == .ok)
            #expect(try object(try await client.execute(uri: "/v1/health", method: .get))["status"] == .string("ok"))

            storage.failWrites(holdingTheFirst: false)
            try expectError(try await client.put("/v1/tables/t/items/k", "2"), .serviceUnavailable, "storage_unavailable")
            let degraded = try object(try await client.execute(uri: "/v1/health", method: .get))
            #expect(degraded["status"] == .string("degraded"))
            guard case .array(let problems)? = degraded["problems"], case .string(let problem)? = problems.first else {
                Issue.record("no problems in \(degraded)")
                return
            }
            #expect(problem.contains("storage transaction failed"), "\(problem)")
            let read = try object(try await client.execute(uri: "/v1/tables/t/items/k", method: .get))
            #expect(read["value"] == .integer(1), "reads are still served")

            storage.takeWritesAgain()
            #expect(try await client.put("/v1/tables/t/items/k", "3").status == .ok)
            let healed = try object(try await client.execute(uri: "/v1/health", method: .get))
            #expect(healed["status"] == .string("ok") && healed["problems"] == nil, "\(healed)")
        }
        await node.shutdown()
    }

    /// `/dev/full` refuses every write with ENOSPC: an audit log there is a full disk.
    @Test func anAdminActionWhoseAuditRecordCannotBeMadeDurableIsRefusedBeforeItRuns() async throws {
        let node = try Node(cluster: APITests.cluster, region: APITests.region, storage: InMemoryStorage())
        let app = Application(router: MeridianAPI(node: node, operations: OperationsOptions(auditLog: try AuditLog(path: "/dev/full"))).router())
        try await app.test(.router) { client in
            try expectError(try await client.put("/v1/tables/t", "{}"), .serviceUnavailable, "audit_unavailable")
            try expectError(try await client.execute(uri: "/v1/tables/t", method: .get), .notFound, "table_not_found")
            let health = try object(try await client.execute(uri: "/v1/health", method: .get))
            #expect(health["status"] == .string("degraded"))
            guard case .array(let problems)? = health["problems"], case .string(let problem)? = problems.first else {
                Issue.record("no problems in \(health)")
                return
            }
            #expect(problem.contains("audit log"), "\(problem)")
        }
        await node.shutdown()
    }
}
