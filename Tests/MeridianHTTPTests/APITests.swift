import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MeridianCore
import MeridianHTTP
import MeridianNode
import MeridianStorage
import Testing

/// In-memory router tests of the HTTP API: no sockets, a node over in-memory storage.
struct APITests {
    static let region = try! RegionID("us-east")
    static let cluster = ClusterConfiguration(regions: [RegionEndpoint(name: region, api: "127.0.0.1:0", peer: "127.0.0.1:0")])

    /// Runs `body` against the router of a fresh node.
    func withAPI(valueBytesMax: Int = Limits.valueBytesMaxDefault, _ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let node = try Node(cluster: Self.cluster, region: Self.region, storage: InMemoryStorage(), valueBytesMax: valueBytesMax)
        let app = Application(router: MeridianAPI(node: node).router())
        try await app.test(.router) { client in try await body(client) }
        await node.shutdown()
    }

    // MARK: Happy paths

    @Test func healthNamesTheRegionAndEveryResponseCarriesMeridianRegion() async throws {
        try await withAPI { client in
            let response = try await client.execute(uri: "/v1/health", method: .get)
            #expect(response.status == .ok)
            #expect(try object(response)["region"] == .string("us-east"))
            #expect(response.headers[regionHeader] == "us-east")
            let missing = try await client.execute(uri: "/v1/no-such-path", method: .get)
            #expect(missing.headers[regionHeader] == "us-east")
        }
    }

    @Test func creatingATableIsIdempotentAndADifferentDefinitionConflicts() async throws {
        try await withAPI { client in
            #expect(try await client.put("/v1/tables/users", #"{"mode": "multi-primary"}"#).status == .created)
            let again = try await client.put("/v1/tables/users", #"{"mode": "multi-primary", "conflict": "lww", "regions": ["us-east"]}"#)
            #expect(again.status == .ok)
            #expect(try object(again)["conflict"] == .string("lww"))
            let different = try await client.put("/v1/tables/users", #"{"mode": "multi-primary", "conflict": "merge"}"#)
            try expectError(different, .conflict, "table_exists")
        }
    }

    @Test func tablesAreListedShownAndDeleted() async throws {
        try await withAPI { client in
            _ = try await client.put("/v1/tables/a", #"{}"#)
            _ = try await client.put("/v1/tables/b", #"{"mode": "strong"}"#)
            _ = try await client.put("/v1/tables/a/items/k", #"{"x": 1}"#)
            let list = try object(try await client.execute(uri: "/v1/tables", method: .get))
            guard case .array(let tables)? = list["tables"] else { Issue.record("no tables array"); return }
            #expect(tables.count == 2)
            let shown = try object(try await client.execute(uri: "/v1/tables/a", method: .get))
            guard case .object(let status)? = shown["status"] else { Issue.record("no status"); return }
            #expect(status["items"] == .integer(1))
            #expect(try await client.execute(uri: "/v1/tables/a", method: .delete).status == .noContent)
            try expectError(try await client.execute(uri: "/v1/tables/a", method: .get), .notFound, "table_not_found")
            try expectError(try await client.execute(uri: "/v1/tables/a/items/k", method: .get), .notFound, "table_not_found")
        }
    }

    @Test func itemsArePutReadAndDeletedWithVersions() async throws {
        try await withAPI { client in
            _ = try await client.put("/v1/tables/t", "{}")
            let put = try await client.put("/v1/tables/t/items/user%2F1", #"{"name": "Alex", "city": "Mumbai"}"#)
            #expect(put.status == .ok)
            let written = try object(put)
            #expect(written["key"] == .string("user/1"))
            guard case .string(let version)? = written["version"] else { Issue.record("no version"); return }
            #expect(put.headers[.eTag] == "\"\(version)\"")

            let read = try object(try await client.execute(uri: "/v1/tables/t/items/user%2F1", method: .get))
            #expect(read["value"] == .object(["name": .string("Alex"), "city": .string("Mumbai")]))
            #expect(read["version"] == .string(version))
            #expect(read["origin"] == .string("us-east"))
            #expect(read["consistency"] == .string("eventual"))

            let deleted = try await client.execute(uri: "/v1/tables/t/items/user%2F1", method: .delete)
            #expect(deleted.status == .ok)
            #expect(try object(deleted)["deleted"] == .bool(true))
            #expect(try object(deleted)["version"] != .string(version))
            try expectError(try await client.execute(uri: "/v1/tables/t/items/user%2F1", method: .get), .notFound, "item_not_found")
            try expectError(try await client.execute(uri: "/v1/tables/t/items/user%2F1", method: .delete), .notFound, "item_not_found")
        }
    }

    @Test func unencodedSlashesBelongToTheKey() async throws {
        try await withAPI { client in
            _ = try await client.put("/v1/tables/t", "{}")
            _ = try await client.put("/v1/tables/t/items/a/b/c", "1")
            let read = try object(try await client.execute(uri: "/v1/tables/t/items/a%2Fb%2Fc", method: .get))
            #expect(read["key"] == .string("a/b/c"))
        }
    }

    @Test func ifMatchWritesOnlyOverTheExactVersion() async throws {
        try await withAPI { client in
            _ = try await client.put("/v1/tables/t", "{}")
            guard case .string(let first)? = try object(try await client.put("/v1/tables/t/items/k", "1"))["version"] else { Issue.record("no version"); return }
            let second = try await client.put("/v1/tables/t/items/k", "2", headers: [.ifMatch: first])
            #expect(second.status == .ok)
            guard case .string(let secondVersion)? = try object(second)["version"] else { Issue.record("no version"); return }
            try expectError(try await client.put("/v1/tables/t/items/k", "3", headers: [.ifMatch: first]), .preconditionFailed, "precondition_failed")
            // A quoted entity tag names the same version.
            #expect(try await client.put("/v1/tables/t/items/k", "4", headers: [.ifMatch: "\"\(secondVersion)\""]).status == .ok)
            // Versions that never existed.
            try expectError(try await client.put("/v1/tables/t/items/k", "5", headers: [.ifMatch: "0000000000000001-us-east"]), .preconditionFailed, "precondition_failed")
            try expectError(try await client.put("/v1/tables/t/items/k", "5", headers: [.ifMatch: "no-such-version"]), .preconditionFailed, "precondition_failed")
            try expectError(try await client.put("/v1/tables/t/items/new", "5", headers: [.ifMatch: first]), .preconditionFailed, "precondition_failed")
            try expectError(try await client.execute(uri: "/v1/tables/t/items/k", method: .delete, headers: [.ifMatch: first]), .preconditionFailed, "precondition_failed")
            #expect(try object(try await client.execute(uri: "/v1/tables/t/items/k", method: .get))["value"] == .integer(4))
        }
    }

    @Test func ifNoneMatchStarCreatesOnlyOnce() async throws {
        try await withAPI { client in
            _ = try await client.put("/v1/tables/t", "{}")
            #expect(try await client.put("/v1/tables/t/items/k", "1", headers: [.ifNoneMatch: "*"]).status == .ok)
            try expectError(try await client.put("/v1/tables/t/items/k", "2", headers: [.ifNoneMatch: "*"]), .preconditionFailed, "precondition_failed")
            try expectError(try await client.put("/v1/tables/t/items/k", "2", headers: [.ifNoneMatch: "\"abc\""]), .badRequest, "invalid_precondition")
            _ = try await client.execute(uri: "/v1/tables/t/items/k", method: .delete)
            #expect(try await client.put("/v1/tables/t/items/k", "3", headers: [.ifNoneMatch: "*"]).status == .ok)
        }
    }

    @Test func scanPagesThroughEveryItemExactlyOnce() async throws {
        try await withAPI { client in
            _ = try await client.put("/v1/tables/t", "{}")
            var expected: [String] = []
            for index in 0..<57 {
                let key = "p/\(index)-\u{E9}"
                expected.append(key)
                _ = try await client.put("/v1/tables/t/items/\(encode(key))", "\(index)")
                _ = try await client.put("/v1/tables/t/items/other\(index)", "\(index)")
            }
            var seen: [String] = []
            var cursor: String? = nil
            for _ in 0..<100 {
                let query = "prefix=\(encode("p/"))&limit=10" + (cursor.map { "&start_after=\(encode($0))" } ?? "")
                let page = try object(try await client.execute(uri: "/v1/tables/t/items?\(query)", method: .get))
                guard case .array(let items)? = page["items"] else { Issue.record("no items"); return }
                for case .object(let item) in items { if case .string(let key)? = item["key"] { seen.append(key) } }
                guard case .string(let next)? = page["next"] else { break }
                cursor = next
            }
            #expect(seen == expected.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
        }
    }

    // MARK: Bad input: each gets the JSON error object and the node keeps serving

    @Test func malformedAndWrongShapedBodiesAreRefused() async throws {
        try await withAPI { client in
            try expectError(try await client.put("/v1/tables/t", "{not json"), .badRequest, "invalid_json")
            try expectError(try await client.put("/v1/tables/t", "[1, 2]"), .badRequest, "invalid_definition")
            try expectError(try await client.put("/v1/tables/t", #"{"mode": "eventual-ish"}"#), .badRequest, "invalid_definition")
            try expectError(try await client.put("/v1/tables/t", #"{"conflict": "newest"}"#), .badRequest, "invalid_definition")
            try expectError(try await client.put("/v1/tables/t", #"{"regions": ["mars-north"]}"#), .badRequest, "unknown_region")
            try expectError(try await client.put("/v1/tables/Bad!Name", "{}"), .badRequest, "invalid_table_name")
            _ = try await client.put("/v1/tables/t", "{}")
            try expectError(try await client.put("/v1/tables/t/items/k", "{\"a\": "), .badRequest, "invalid_json")
            try expectError(try await client.put("/v1/tables/t/items/k", ""), .badRequest, "invalid_json")
            #expect(try await client.execute(uri: "/v1/health", method: .get).status == .ok)
        }
    }

    /// Issue 15, item 9: integers up to 64 bits keep their digits, and a member name that
    /// appears twice is refused with its name and offset instead of one value being dropped.
    @Test func integersUpTo64BitsKeepTheirDigitsAndDuplicateNamesAreRefused() async throws {
        try await withAPI { client in
            _ = try await client.put("/v1/tables/t", "{}")
            #expect(try await client.put("/v1/tables/t/items/big", #"{"id": 18446744073709551615, "low": -9223372036854775808}"#).status == .ok)
            let read = try await client.execute(uri: "/v1/tables/t/items/big", method: .get)
            let text = String(buffer: read.body)
            #expect(text.contains(#""value":{"id":18446744073709551615,"low":-9223372036854775808}"#), "\(text)")

            let duplicate = try await client.put("/v1/tables/t/items/dup", #"{"a": 1, "a": 2}"#)
            try expectError(duplicate, .badRequest, "invalid_json")
            #expect(String(buffer: duplicate.body).contains(#"the member name \"a\" appears twice in one object at byte 9"#), "\(String(buffer: duplicate.body))")
            try expectError(try await client.execute(uri: "/v1/tables/t/items/dup", method: .get), .notFound, "item_not_found")
            try expectError(try await client.put("/v1/tables/u", #"{"mode": "strong", "mode": "multi-primary"}"#), .badRequest, "invalid_json")
        }
    }

    @Test func badKeysAreRefused() async throws {
        try await withAPI { client in
            _ = try await client.put("/v1/tables/t", "{}")
            try expectError(try await client.put("/v1/tables/t/items/", "1"), .badRequest, "invalid_key")
            try expectError(try await client.put("/v1/tables/t/items/%FF%FE", "1"), .badRequest, "invalid_key")
            try expectError(try await client.put("/v1/tables/t/items/%E9", "1"), .badRequest, "invalid_key")
            try expectError(try await client.put("/v1/tables/t/items/\(String(repeating: "k", count: Limits.keyBytesMax + 1))", "1"), .contentTooLarge, "key_too_large")
            #expect(try await client.put("/v1/tables/t/items/\(String(repeating: "k", count: Limits.keyBytesMax))", "1").status == .ok)
            try expectError(try await client.execute(uri: "/v1/tables/t/items?start_after=%FF", method: .get), .badRequest, "invalid_query")
        }
    }

    @Test func valuesOverTheLimitAreRefusedWith413() async throws {
        try await withAPI(valueBytesMax: 1000) { client in
            _ = try await client.put("/v1/tables/t", "{}")
            let fits = "\"" + String(repeating: "x", count: 998) + "\""
            #expect(try await client.put("/v1/tables/t/items/k", fits).status == .ok)
            let tooLarge = "\"" + String(repeating: "x", count: 999) + "\""
            try expectError(try await client.put("/v1/tables/t/items/k", tooLarge), .contentTooLarge, "value_too_large")
            #expect(try object(try await client.execute(uri: "/v1/tables/t/items/k", method: .get))["value"] == .string(String(repeating: "x", count: 998)))
        }
    }

    @Test func theDefaultValueLimitIsOneMebibyte() async throws {
        try await withAPI { client in
            _ = try await client.put("/v1/tables/t", "{}")
            let tooLarge = "\"" + String(repeating: "x", count: Limits.valueBytesMaxDefault) + "\""
            try expectError(try await client.put("/v1/tables/t/items/k", tooLarge), .contentTooLarge, "value_too_large")
        }
    }

    @Test func unknownTablesAreNotFound() async throws {
        try await withAPI { client in
            try expectError(try await client.execute(uri: "/v1/tables/nope", method: .get), .notFound, "table_not_found")
            try expectError(try await client.execute(uri: "/v1/tables/nope", method: .delete), .notFound, "table_not_found")
            try expectError(try await client.put("/v1/tables/nope/items/k", "1"), .notFound, "table_not_found")
            try expectError(try await client.execute(uri: "/v1/tables/nope/items", method: .get), .notFound, "table_not_found")
        }
    }

    @Test(arguments: ["limit=0", "limit=100000", "limit=abc", "limit=-1", "limit="])
    func scanLimitsOutOfRangeAreRefused(query: String) async throws {
        try await withAPI { client in
            _ = try await client.put("/v1/tables/t", "{}")
            try expectError(try await client.execute(uri: "/v1/tables/t/items?\(query)", method: .get), .badRequest, "invalid_limit")
        }
    }

    @Test func unsupportedMethodsGet405WithAllow() async throws {
        try await withAPI { client in
            let post = try await client.execute(uri: "/v1/tables/t", method: .post)
            try expectError(post, .methodNotAllowed, "method_not_allowed")
            #expect(post.headers[.allow] == "DELETE, GET, PUT")
            try expectError(try await client.execute(uri: "/v1/health", method: .delete), .methodNotAllowed, "method_not_allowed")
            try expectError(try await client.execute(uri: "/v1/tables", method: .put), .methodNotAllowed, "method_not_allowed")
            try expectError(try await client.execute(uri: "/v1/tables/t/items/k", method: .post), .methodNotAllowed, "method_not_allowed")
            try expectError(try await client.execute(uri: "/v1/tables/t/items", method: .patch), .methodNotAllowed, "method_not_allowed")
        }
    }

    @Test func readConsistencyIsValidated() async throws {
        try await withAPI { client in
            _ = try await client.put("/v1/tables/mp", "{}")
            _ = try await client.put("/v1/tables/st", #"{"mode": "strong"}"#)
            _ = try await client.put("/v1/tables/mp/items/k", "1")
            _ = try await client.put("/v1/tables/st/items/k", "1")
            try expectError(try await client.execute(uri: "/v1/tables/mp/items/k?consistency=strong", method: .get), .badRequest, "consistency_unavailable")
            let strong = try object(try await client.execute(uri: "/v1/tables/st/items/k?consistency=strong", method: .get))
            #expect(strong["consistency"] == .string("strong"))
            try expectError(try await client.execute(uri: "/v1/tables/mp/items/k?consistency=bounded", method: .get), .badRequest, "invalid_consistency")
            try expectError(try await client.execute(uri: "/v1/tables/mp/items/k?consistency=linearizable", method: .get), .badRequest, "invalid_consistency")
            let bounded = try object(try await client.execute(uri: "/v1/tables/mp/items/k?consistency=bounded&max_staleness_ms=100", method: .get))
            #expect(bounded["consistency"] == .string("bounded"))
        }
    }

    @Test func unknownPathsAreJSON404() async throws {
        try await withAPI { client in
            try expectError(try await client.execute(uri: "/v2/tables", method: .get), .notFound, "route_not_found")
        }
    }
}

// MARK: Helpers

let regionHeader = HTTPField.Name("Meridian-Region")!

extension TestClientProtocol {
    func put(_ uri: String, _ body: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        try await execute(uri: uri, method: .put, headers: headers, body: ByteBuffer(string: body))
    }
}

func object(_ response: TestResponse) throws -> [String: JSONValue] {
    let value = try JSONValue.parse(response.body.readableBytesView, bytesMax: .max)
    guard case .object(let fields) = value else { throw MeridianError.invalid("test", "response is not an object: \(String(buffer: response.body))") }
    return fields
}

/// Checks that a response is the JSON error object with the given status and code.
func expectError(_ response: TestResponse, _ status: HTTPResponse.Status, _ code: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    #expect(response.status == status, "body: \(String(buffer: response.body))", sourceLocation: sourceLocation)
    #expect(response.headers[.contentType] == "application/json", sourceLocation: sourceLocation)
    #expect(response.headers[regionHeader] == "us-east", sourceLocation: sourceLocation)
    guard case .object(let error)? = try object(response)["error"] else {
        Issue.record("no error object in \(String(buffer: response.body))", sourceLocation: sourceLocation)
        return
    }
    #expect(error["code"] == .string(code), sourceLocation: sourceLocation)
    if case .string(let message)? = error["message"] { #expect(!message.isEmpty, sourceLocation: sourceLocation) } else {
        Issue.record("no message", sourceLocation: sourceLocation)
    }
}

func encode(_ text: String) -> String {
    var allowed = CharacterSet.alphanumerics.intersection(CharacterSet(charactersIn: Unicode.Scalar(0)..<Unicode.Scalar(128)))
    allowed.insert(charactersIn: "-._~")
    return text.addingPercentEncoding(withAllowedCharacters: allowed)!
}
