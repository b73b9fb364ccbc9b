import Foundation
import MeridianCore
import MeridianTestSupport
import Testing

/// Three real `meridian serve` processes on loopback replicating multi-primary tables.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct MultiRegionTests {
    static let names = ["us-east", "eu-west", "ap-south"]
    static let keysCount = 50

    /// Three regions with a small injected latency (`TestCluster(oneWayMilliseconds:)`).
    typealias Cluster = TestCluster

    /// One acknowledged write.
    struct Acknowledged {
        let key: String
        let version: String
        let context: VersionVector
    }

    /// Writes `count` items from one region to keys shared by every writer; retries a
    /// write whose connection failed (it may or may not have been applied; only
    /// acknowledged writes are recorded).
    static func writer(_ cluster: Cluster, _ name: String, table: String, count: Int, value: @escaping @Sendable (Int) -> String,
                       between: @escaping @Sendable (Int) async throws -> Void = { _ in }) async throws -> [Acknowledged] {
        var acknowledged: [Acknowledged] = []
        for index in 0..<count {
            try await between(index)
            let key = "k\((index * 7 + name.count) % keysCount)"
            for _ in 0..<100 {
                guard let exchange = try? await send("PUT", "\(cluster.url(name))/v1/tables/\(table)/items/\(key)", body: value(index)),
                      exchange.status == 200 else {
                    try await Task.sleep(for: .milliseconds(50))
                    continue
                }
                let fields = try exchange.json()
                guard case .string(let version)? = fields["version"], case .string(let token)? = fields["context"], let vector = VersionVector(token: token) else {
                    throw MeridianError.invalid("test", "a write answered without version or context")
                }
                acknowledged.append(Acknowledged(key: key, version: version, context: vector))
                break
            }
        }
        return acknowledged
    }

    /// Every acknowledged write is current, in a ledger, or causally overwritten by a
    /// later acknowledged write whose context includes it.
    static func expectNothingLost(_ cluster: Cluster, table: String, _ writes: [Acknowledged]) async throws {
        let current = Set(try await cluster.items(names[0], table: table).map(\.version))
        let ledger = try await cluster.ledgerVersions(table: table)
        let byKey = Dictionary(grouping: writes, by: \.key)
        var lost: [String] = []
        for write in writes where !current.contains(write.version) && !ledger.contains(write.version) {
            let overwritten = byKey[write.key]!.contains { other in
                other.version != write.version && [.dominates].contains(other.context.compare(write.context))
            }
            if !overwritten { lost.append(write.version) }
        }
        #expect(lost.isEmpty, "acknowledged writes neither current, ledgered nor causally overwritten: \(lost.prefix(5))")
    }

    @Test func threeWritersConvergeAndLoseNothing() async throws {
        let cluster = try Cluster()
        defer { cluster.stop() }
        #expect(try await send("PUT", "\(cluster.url("us-east"))/v1/tables/scores", body: #"{"conflict": "lww"}"#).status == 201)
        #expect(try await send("PUT", "\(cluster.url("eu-west"))/v1/tables/docs", body: #"{"conflict": "merge"}"#).status == 201)
        #expect(try await cluster.eventually {
            for name in Self.names {
                for table in ["scores", "docs"] where try await send("GET", "\(cluster.url(name))/v1/tables/\(table)").status != 200 { return false }
            }
            return true
        }, "both tables reach every region")

        let results = try await withThrowingTaskGroup(of: (String, [Acknowledged]).self) { group in
            for name in Self.names {
                group.addTask { ("scores", try await Self.writer(cluster, name, table: "scores", count: 500) { #"{"by": "\#(name)", "n": \#($0)}"# }) }
                group.addTask { ("docs", try await Self.writer(cluster, name, table: "docs", count: 500) { #"{"\#(name)": \#($0), "last": "\#(name)"}"# }) }
            }
            return try await group.reduce(into: [String: [Acknowledged]]()) { $0[$1.0, default: []] += $1.1 }
        }
        #expect(results["scores"]?.count == 1500)
        #expect(results["docs"]?.count == 1500)
        #expect(try await cluster.eventually {
            let scores = try await cluster.converged(table: "scores")
            let docs = try await cluster.converged(table: "docs")
            return scores && docs
        }, "regions converge")
        try await Self.expectNothingLost(cluster, table: "scores", results["scores"] ?? [])

        #expect(try await cluster.items("ap-south", table: "docs").count == Self.keysCount)

        // Concurrent edits to different fields of one item both survive under merge.
        #expect(try await send("PUT", "\(cluster.url("us-east"))/v1/tables/docs/items/message", body: #"{"text": "hello", "reactions": []}"#).status == 200)
        #expect(try await cluster.eventually { try await cluster.converged(table: "docs") })
        for peer in ["eu-west", "ap-south"] { try await cluster.setLink("us-east", to: peer, cut: true) }
        #expect(try await send("PUT", "\(cluster.url("us-east"))/v1/tables/docs/items/message", body: #"{"text": "edited", "reactions": []}"#).status == 200)
        #expect(try await send("PUT", "\(cluster.url("eu-west"))/v1/tables/docs/items/message", body: #"{"text": "hello", "reactions": ["+1"]}"#).status == 200)
        for peer in ["eu-west", "ap-south"] { try await cluster.setLink("us-east", to: peer, cut: false) }
        #expect(try await cluster.eventually { try await cluster.converged(table: "docs") })
        let message = try await send("GET", "\(cluster.url("ap-south"))/v1/tables/docs/items/message").json()
        #expect(message["value"] == .object(["text": .string("edited"), "reactions": .array([.string("+1")])]))
    }

    @Test func convergesAfterAKilledRegionAndACutLink() async throws {
        let cluster = try Cluster()
        defer { cluster.stop() }
        #expect(try await send("PUT", "\(cluster.url("us-east"))/v1/tables/scores", body: #"{"conflict": "lww"}"#).status == 201)
        #expect(try await cluster.eventually {
            for name in Self.names where try await send("GET", "\(cluster.url(name))/v1/tables/scores").status != 200 { return false }
            return true
        })
        let results = try await withThrowingTaskGroup(of: [Acknowledged].self) { group in
            for name in Self.names {
                group.addTask {
                    try await Self.writer(cluster, name, table: "scores", count: 400, value: { #"{"by": "\#(name)", "n": \#($0)}"# }) { index in
                        if name == "us-east" && index == 100 { try await cluster.setLink("us-east", to: "ap-south", cut: true) }
                        if name == "us-east" && index == 300 { try await cluster.setLink("us-east", to: "ap-south", cut: false) }
                        if name == "eu-west" && index == 150 {
                            cluster.kill9("eu-west")
                            try cluster.start("eu-west")
                        }
                    }
                }
            }
            return try await group.reduce(into: [Acknowledged]()) { $0 += $1 }
        }
        #expect(results.count == 1200)
        #expect(try await cluster.eventually { try await cluster.converged(table: "scores") }, "regions converge after the faults heal")
        try await Self.expectNothingLost(cluster, table: "scores", results)
    }
}

extension TestCluster {
    /// us-east, eu-west and ap-south with `oneWayMilliseconds` between every pair, and links
    /// that the tests may cut.
    convenience init(oneWayMilliseconds: Double = 5) throws {
        let names = MultiRegionTests.names
        let latency = Dictionary(uniqueKeysWithValues: names.map { source in
            (source, Dictionary(uniqueKeysWithValues: names.filter { $0 != source }.map { ($0, oneWayMilliseconds) }))
        })
        try self.init(regions: names, latencyMilliseconds: latency, allowFaultInjection: true)
    }

    /// Waits until `condition` holds, polling; false after `seconds`.
    func eventually(seconds: Double = 30, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(200))
        }
        return false
    }

    /// Every live item of a table in one region, in key order.
    func items(_ name: String, table: String) async throws -> [Item] {
        let exchange = try await send("GET", "\(url(name))/v1/tables/\(table)/items?limit=1000")
        guard exchange.status == 200, case .array(let items)? = try exchange.json()["items"] else { return [] }
        return items.compactMap { item in
            guard case .object(let fields) = item, case .string(let key)? = fields["key"], case .string(let version)? = fields["version"],
                  let value = fields["value"] else { return nil }
            return Item(key: key, version: version, value: value)
        }
    }

    struct Item: Hashable {
        let key: String
        let version: String
        let value: JSONValue
    }

    /// A region's items, or a marker when the region cannot answer.
    func snapshot(_ name: String, table: String) async throws -> [Item] {
        try await items(name, table: table)
    }

    func converged(table: String) async throws -> Bool {
        let reference = try await items(processes.regions[0], table: table)
        guard !reference.isEmpty else { return false }
        for name in processes.regions.dropFirst() where try await items(name, table: table) != reference { return false }
        return true
    }

    func ledgerVersions(table: String) async throws -> Set<String> {
        var versions: Set<String> = []
        for name in processes.regions {
            var cursor = ""
            for _ in 0..<1000 {
                let exchange = try await send("GET", "\(url(name))/v1/tables/\(table)/conflicts?limit=1000\(cursor)")
                let page = try exchange.json()
                guard case .array(let rows)? = page["conflicts"] else { break }
                for case .object(let row) in rows { if case .string(let version)? = row["version"] { versions.insert(version) } }
                guard case .string(let next)? = page["next"] else { break }
                cursor = "&start_after=\(next)"
            }
        }
        return versions
    }

    func setLink(_ name: String, to peer: String, cut: Bool) async throws {
        let exchange = try await send("PUT", "\(url(name))/v1/debug/links/\(peer)", body: #"{"cut": \#(cut), "direction": "both"}"#)
        #expect(exchange.status == 200, "\(String(decoding: exchange.body, as: UTF8.self))")
    }
}
