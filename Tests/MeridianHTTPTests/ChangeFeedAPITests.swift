import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MeridianCore
import MeridianHTTP
import MeridianNode
import MeridianStorage
import Testing

/// `GET /v1/tables/{table}/changes` through the router: the JSON long poll and the
/// Server-Sent Events stream over a node on in-memory storage.
struct ChangeFeedAPITests {
    func withAPI(_ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let node = try Node(cluster: APITests.cluster, region: APITests.region, storage: InMemoryStorage())
        let app = Application(router: MeridianAPI(node: node).router())
        try await app.test(.router) { client in try await body(client) }
        await node.shutdown()
    }

    static func string(_ value: JSONValue?) -> String? {
        if case .string(let text)? = value { return text }
        return nil
    }

    @Test func aLongPollReturnsTheChangesAfterItsCursorInOrderAndWaitsForTheNext() async throws {
        try await withAPI { client in
            #expect(try await client.put("/v1/tables/notes", #"{"conflict": "merge"}"#).status == .created)
            let start = try object(try await client.execute(uri: "/v1/tables/notes/changes", method: .get))
            #expect(start["caught_up"] == .bool(true) && start["changes"] == .array([]))
            let cursor = try #require(Self.string(start["cursor"]))
            _ = try await client.put("/v1/tables/notes/items/a", #"{"text": "one"}"#)
            _ = try await client.put("/v1/tables/notes/items/b", #"{"text": "two"}"#)
            _ = try await client.execute(uri: "/v1/tables/notes/items/a", method: .delete)
            let page = try object(try await client.execute(uri: "/v1/tables/notes/changes?since=\(cursor)", method: .get))
            guard case .array(let changes)? = page["changes"] else { Issue.record("no changes: \(page)"); return }
            let fields = changes.compactMap { change -> [String: JSONValue]? in if case .object(let fields) = change { return fields } else { return nil } }
            #expect(fields.map { Self.string($0["key"]) } == ["a", "b", "a"])
            #expect(fields.map { Self.string($0["kind"]) } == ["put", "put", "delete"])
            #expect(fields[1]["value"] == .object(["text": .string("two")]) && fields[0]["origin"] == .string("us-east"))
            #expect(page["resumed"] == .bool(false) && page["region"] == .string("us-east"))
            // Resuming from the second change's cursor gives exactly the third.
            let second = try #require(Self.string(fields[1]["cursor"]))
            let rest = try object(try await client.execute(uri: "/v1/tables/notes/changes?since=\(second)", method: .get))
            guard case .array(let after)? = rest["changes"] else { Issue.record("no changes: \(rest)"); return }
            #expect(after.count == 1)

            // A poll with nothing new waits for the next change and returns it.
            let end = try #require(Self.string(page["cursor"]))
            async let waited = client.execute(uri: "/v1/tables/notes/changes?since=\(end)&wait_ms=20000", method: .get)
            try await Task.sleep(for: .milliseconds(200))
            _ = try await client.put("/v1/tables/notes/items/c", #"{"text": "three"}"#)
            let woken = try object(try await waited)
            guard case .array(let next)? = woken["changes"], case .object(let change)? = next.first else { Issue.record("no change: \(woken)"); return }
            #expect(change["key"] == .string("c"))
        }
    }

    @Test func badCursorsWaitsAndTablesAreRefusedClearly() async throws {
        try await withAPI { client in
            _ = try await client.put("/v1/tables/notes", #"{}"#)
            try expectError(try await client.execute(uri: "/v1/tables/notes/changes?since=nonsense", method: .get), .badRequest, "invalid_cursor")
            try expectError(try await client.execute(uri: "/v1/tables/notes/changes?wait_ms=999999", method: .get), .badRequest, "invalid_query")
            try expectError(try await client.execute(uri: "/v1/tables/notes/changes?limit=0", method: .get), .badRequest, "invalid_limit")
            try expectError(try await client.execute(uri: "/v1/tables/missing/changes", method: .get), .notFound, "table_not_found")
            // A cursor of this region's own feed that lies beyond its end.
            let start = try object(try await client.execute(uri: "/v1/tables/notes/changes", method: .get))
            let parts = try #require(Self.string(start["cursor"])).split(separator: ".")
            let ahead = "\(parts[0]).\(parts[1]).999"
            try expectError(try await client.execute(uri: "/v1/tables/notes/changes?since=\(ahead)", method: .get), .gone, "cursor_expired")
        }
    }

    @Test func aStreamCarriesChangesAsEventsAndEndsWithAnErrorEventWhenItsTableGoes() async throws {
        try await withAPI { client in
            _ = try await client.put("/v1/tables/notes", #"{}"#)
            // From a cursor taken first: the change is in the stream whenever the stream starts.
            let cursor = try #require(Self.string(try object(try await client.execute(uri: "/v1/tables/notes/changes", method: .get))["cursor"]))
            async let streamed = client.execute(uri: "/v1/tables/notes/changes?since=\(cursor)", method: .get, headers: [.accept: "text/event-stream"])
            try await Task.sleep(for: .milliseconds(300))
            _ = try await client.put("/v1/tables/notes/items/a", #"{"n": 1}"#)
            try await Task.sleep(for: .milliseconds(300))
            _ = try await client.execute(uri: "/v1/tables/notes", method: .delete)
            let response = try await streamed
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "text/event-stream")
            let text = String(buffer: response.body)
            let events = text.components(separatedBy: "\n\n").filter { !$0.isEmpty }
            let change = try #require(events.first { $0.contains("event: change") })
            #expect(change.hasPrefix("id: us-east.") && change.contains(#""key":"a""#) && change.contains(#""kind":"put""#))
            #expect(events.last?.contains("event: error") == true && events.last?.contains("table_not_found") == true)
        }
    }
}
