import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MeridianCore
import MeridianHTTP
import MeridianNode
import MeridianStorage
import Testing

/// `GET /metrics` of one in-memory node: request metrics by route template, table
/// metrics, the Raft hook, and the token rules for the endpoint.
struct MetricsTests {
    @Test func requestsAreCountedByRouteTemplateStatusAndConsistency() async throws {
        let node = try Node(cluster: APITests.cluster, region: APITests.region, storage: InMemoryStorage())
        let app = Application(router: MeridianAPI(node: node).router())
        try await app.test(.router) { client in
            _ = try await client.put("/v1/tables/users", "{}")
            _ = try await client.put("/v1/tables/users/items/alex", "1")
            _ = try await client.put("/v1/tables/users/items/sam", "2")
            _ = try await client.execute(uri: "/v1/tables/users/items/alex?consistency=session", method: .get)
            _ = try await client.execute(uri: "/v1/tables/users/items/nobody", method: .get)
            let text = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
            let route = #"route="/v1/tables/{table}/items/{key}""#
            #expect(sample(text, "meridian_http_requests_total", [#"method="PUT""#, route, #"status="200""#]) == 2)
            #expect(sample(text, "meridian_http_requests_total", [#"method="GET""#, route, #"status="200""#, #"consistency="session""#]) == 1)
            #expect(sample(text, "meridian_http_requests_total", [#"method="GET""#, route, #"status="404""#, #"consistency="eventual""#]) == 1)
            #expect(!text.contains("alex"), "keys never become label values")
            #expect(sample(text, "meridian_table_items", [#"table="users""#]) == 2)
            #expect(sample(text, "meridian_conflicts_total", [#"table="users""#, #"policy="lww""#]) == 0)
            #expect(sample(text, "meridian_http_request_duration_seconds_count", [route, #"method="PUT""#]) == 2)
        }
        await node.shutdown()
    }

    @Test func raftReadingsBecomeGaugesAndCounters() {
        let metrics = NodeMetrics()
        metrics.updateRaft([.init(group: "orders", term: 3, isLeader: true, electionsStarted: 2, leaderChanges: 1)])
        metrics.updateRaft([.init(group: "orders", term: 4, isLeader: false, electionsStarted: 2, leaderChanges: 3)])
        let text = String(decoding: metrics.render(), as: UTF8.self)
        #expect(sample(text, "meridian_raft_term", [#"group="orders""#]) == 4)
        #expect(sample(text, "meridian_raft_is_leader", [#"group="orders""#]) == 0)
        #expect(sample(text, "meridian_raft_elections_total", [#"group="orders""#]) == 2)
        #expect(sample(text, "meridian_raft_leader_changes_total", [#"group="orders""#]) == 3)
    }

    @Test func metricsNeedATokenUnlessTheSecretsFileOpensThem() async throws {
        for (openPaths, expected) in [(["/v1/health"], HTTPResponse.Status.unauthorized), (["/v1/health", "/metrics"], .ok)] {
            let node = try Node(cluster: APITests.cluster, region: APITests.region, storage: InMemoryStorage())
            let access = try AuthenticationTests.accessControl(openPaths: openPaths)
            let app = Application(router: MeridianAPI(node: node, operations: OperationsOptions(accessControl: access)).router())
            try await app.test(.router) { client in
                let response = try await client.execute(uri: "/metrics", method: .get)
                #expect(response.status == expected)
            }
            await node.shutdown()
        }
    }
}

/// The value of the first sample of `name` whose labels include every one of `labels`.
private func sample(_ text: String, _ name: String, _ labels: [String]) -> Double? {
    for line in text.split(separator: "\n") where line.hasPrefix(name + "{") && labels.allSatisfy({ line.contains($0) }) {
        return line.split(separator: " ").last.flatMap { Double($0) }
    }
    return nil
}
