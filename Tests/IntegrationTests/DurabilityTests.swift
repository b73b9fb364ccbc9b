import Foundation
import MeridianCore
import MeridianTestSupport
import Testing

/// Real `meridian serve` processes: what was acknowledged survives `kill -9`.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct DurabilityTests {
    static let writesTotal = 500
    static let clients = 4

    @Test(arguments: ["full", "normal"])
    func acknowledgedWritesSurviveKill9(sync: String) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let server = try ServerProcess(directory: directory.url, extraArguments: ["--sync", sync])
        let base = server.baseURL
        #expect(try await send("PUT", "\(base)/v1/tables/orders", body: "{}").status == 201)

        // Four clients write 500 items between them; every acknowledged version is recorded.
        let acknowledged = try await withThrowingTaskGroup(of: [String: String].self) { group in
            for client in 0..<Self.clients {
                group.addTask {
                    var versions: [String: String] = [:]
                    for index in stride(from: client, to: Self.writesTotal, by: Self.clients) {
                        let key = "order-\(index)"
                        let exchange = try await send("PUT", "\(base)/v1/tables/orders/items/\(key)", body: #"{"n": \#(index), "note": "écrit \#(index)"}"#)
                        guard exchange.status == 200, case .string(let version)? = try exchange.json()["version"] else {
                            throw MeridianError.invalid("test", "write \(index) failed with \(exchange.status)")
                        }
                        versions[key] = version
                    }
                    return versions
                }
            }
            return try await group.reduce(into: [String: String]()) { $0.merge($1) { first, _ in first } }
        }
        server.kill9()
        #expect(acknowledged.count == Self.writesTotal)

        let restarted = try ServerProcess(directory: directory.url, extraArguments: ["--sync", sync])
        var missing: [String] = []
        for (key, version) in acknowledged.sorted(by: { $0.key < $1.key }) {
            let exchange = try await send("GET", "\(restarted.baseURL)/v1/tables/orders/items/\(key)")
            let index = Int64(key.dropFirst("order-".count))!
            let fields = exchange.status == 200 ? try exchange.json() : [:]
            if fields["version"] != .string(version) || fields["value"] != .object(["n": .integer(index), "note": .string("écrit \(index)")]) {
                missing.append(key)
            }
        }
        #expect(missing.isEmpty, "acknowledged writes lost or changed after kill -9: \(missing.prefix(10))")
        let scan = try await send("GET", "\(restarted.baseURL)/v1/tables/orders/items?limit=1000")
        guard case .array(let items)? = try scan.json()["items"] else { Issue.record("no items"); return }
        #expect(items.count == Self.writesTotal)
        #expect(restarted.terminate() == 0)
    }

    @Test func versionsKeepIncreasingAcrossARestart() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var server = try ServerProcess(directory: directory.url)
        _ = try await send("PUT", "\(server.baseURL)/v1/tables/t", body: "{}")
        let before = try await send("PUT", "\(server.baseURL)/v1/tables/t/items/k", body: "1").json()["version"]
        server.kill9()
        server = try ServerProcess(directory: directory.url)
        let after = try await send("PUT", "\(server.baseURL)/v1/tables/t/items/k", body: "2").json()["version"]
        guard case .string(let first)? = before, case .string(let second)? = after else { Issue.record("no versions"); return }
        #expect(first < second, "hex timestamps sort as time: \(first) then \(second)")
        #expect(server.terminate() == 0)
    }
}
