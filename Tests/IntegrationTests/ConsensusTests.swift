import Foundation
import MeridianCore
import MeridianSimulation
import MeridianTestSupport
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `strong` and `primary` tables on three real `meridian serve` processes with the default
/// latency matrix (us-east, eu-west, ap-south), the leader's region killed with SIGKILL.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct ConsensusTests {
    static let names = ["us-east", "eu-west", "ap-south"]

    /// A three-region cluster with the default one-way delays.
    static func cluster() throws -> TestCluster {
        let defaults: [String: [String: Double]] = [
            "us-east": ["eu-west": 35, "ap-south": 93], "eu-west": ["us-east": 35, "ap-south": 60], "ap-south": ["us-east": 93, "eu-west": 60],
        ]
        return try TestCluster(regions: names, latencyMilliseconds: defaults, allowFaultInjection: true)
    }

    /// A URL session whose requests give up after `seconds`.
    static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 8
        return URLSession(configuration: configuration)
    }()

    struct Answer {
        var status: Int
        var fields: [String: JSONValue]
    }

    /// One request; `nil` when no answer came (refused connection, timeout).
    static func call(_ method: String, _ url: String, body: String? = nil, headers: [String: String] = [:]) async -> Answer? {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method
        request.httpBody = body.map { Data($0.utf8) }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        guard let (data, response) = try? await session.data(for: request), let http = response as? HTTPURLResponse else { return nil }
        let fields: [String: JSONValue]
        if case .object(let object)? = try? JSONValue.parse(Array(data), bytesMax: .max) { fields = object } else { fields = [:] }
        return Answer(status: http.statusCode, fields: fields)
    }

    /// The table's leader as `region` sees it.
    static func leader(_ cluster: TestCluster, _ region: String, table: String) async -> String? {
        guard let answer = await call("GET", "\(cluster.url(region))/v1/tables/\(table)"), answer.status == 200,
              case .object(let status)? = answer.fields["status"], case .string(let leader)? = status["leader"] else { return nil }
        return leader
    }

    static func agreedLeader(_ cluster: TestCluster, table: String, among regions: [String] = names) async -> String? {
        var seen: Set<String?> = []
        for region in regions { seen.insert(await leader(cluster, region, table: table)) }
        guard seen.count == 1, let only = seen.first else { return nil }
        return only
    }

    /// Codes that say a write was refused before it entered any log: it was not applied.
    static let refusedBeforeProposal: Set<String> = ["no_leader", "not_leader", "leader_moved", "leader_unreachable", "not_accepting_writes", "write_dropped", "overloaded"]

    /// One client: strong reads, writes of unique values and compare-and-sets on ten keys,
    /// through its own region, until `until`. Returns its history.
    static func client(_ cluster: TestCluster, region: String, number: Int, until deadline: Date) async -> [HistoryEvent] {
        var random = SplitMix64(seed: UInt64(number) &+ 99)
        var history: [HistoryEvent] = []
        var lastSeen: [String: (value: String?, version: String?)] = [:]
        var sequence = 0
        let start = DispatchTime.now().uptimeNanoseconds
        func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds - start }
        while Date() < deadline {
            let key = "k\(random.next() % 10)"
            let url = "\(cluster.url(region))/v1/tables/bank/items/\(key)"
            let choice = random.next() % 10
            let invoked = now()
            if choice < 4 {
                guard let answer = await call("GET", url + "?consistency=strong") else { continue }
                if answer.status == 200, case .string(let value)? = answer.fields["value"], case .string(let version)? = answer.fields["version"] {
                    history.append(HistoryEvent(key: key, client: number, invokedAt: invoked, returnedAt: now(), operation: .read(observed: value)))
                    lastSeen[key] = (value, version)
                } else if answer.status == 404 {
                    history.append(HistoryEvent(key: key, client: number, invokedAt: invoked, returnedAt: now(), operation: .read(observed: nil)))
                    lastSeen[key] = (nil, nil)
                }
                continue
            }
            sequence += 1
            let value = "c\(number)-\(sequence)"
            var headers: [String: String] = [:]
            var expected: String?? = nil
            if choice >= 8, let seen = lastSeen[key] {
                if let version = seen.version { headers["If-Match"] = version } else { headers["If-None-Match"] = "*" }
                expected = .some(seen.value)
            }
            let answer = await call("PUT", url, body: "\"\(value)\"", headers: headers)
            var code: String?
            if case .string(let text)? = answer?.fields["code"] { code = text }
            if let answer, answer.status == 200 {
                let operation: RegisterOperation = expected.map { .compareAndSet(expected: $0, new: value, succeeded: true) } ?? .write(value)
                history.append(HistoryEvent(key: key, client: number, invokedAt: invoked, returnedAt: now(), operation: operation))
                if case .string(let version)? = answer.fields["version"] { lastSeen[key] = (value, version) }
            } else if let answer, answer.status == 412, let expected {
                history.append(HistoryEvent(key: key, client: number, invokedAt: invoked, returnedAt: now(),
                                            operation: .compareAndSet(expected: expected, new: value, succeeded: false)))
                lastSeen[key] = nil
            } else if let code, refusedBeforeProposal.contains(code) {
                try? await Task.sleep(for: .milliseconds(50))
            } else {
                // No answer, or one that does not say: the write may or may not take effect.
                let operation: RegisterOperation = expected.map { .compareAndSet(expected: $0, new: value, succeeded: nil) } ?? .write(value)
                history.append(HistoryEvent(key: key, client: number, invokedAt: invoked, returnedAt: nil, operation: operation))
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
        return history
    }

    @Test func strongTableStaysLinearizableWhenTheLeadersRegionIsKilled() async throws {
        let cluster = try Self.cluster()
        defer { cluster.stop() }
        let created = await Self.call("PUT", "\(cluster.url("us-east"))/v1/tables/bank", body: #"{"mode": "strong"}"#)
        #expect(created?.status == 201)
        #expect(try await cluster.eventually { await Self.agreedLeader(cluster, table: "bank") != nil }, "a leader is elected")
        let leader = await Self.agreedLeader(cluster, table: "bank") ?? "us-east"

        let deadline = Date().addingTimeInterval(14)
        async let histories = withTaskGroup(of: [HistoryEvent].self) { group in
            for (offset, region) in Self.names.enumerated() {
                for number in 0..<3 {
                    group.addTask { await Self.client(cluster, region: region, number: offset * 3 + number, until: deadline) }
                }
            }
            return await group.reduce(into: [HistoryEvent]()) { $0 += $1 }
        }
        try await Task.sleep(for: .seconds(4))
        cluster.kill9(leader)
        try await Task.sleep(for: .seconds(5))
        try cluster.start(leader)
        var history = await histories

        // Final strong reads, after every client stopped, close the history.
        #expect(try await cluster.eventually { await Self.agreedLeader(cluster, table: "bank") != nil }, "a leader after the restart")
        let finalLeader = await Self.agreedLeader(cluster, table: "bank") ?? leader
        let start = history.map(\.invokedAt).max() ?? 0
        for key in (0..<10).map({ "k\($0)" }) {
            let answer = await Self.call("GET", "\(cluster.url(finalLeader))/v1/tables/bank/items/\(key)?consistency=strong")
            var observed: String?
            if case .string(let value)? = answer?.fields["value"] { observed = value }
            #expect(answer?.status == 200 || answer?.status == 404)
            history.append(HistoryEvent(key: key, client: 99, invokedAt: start + 1_000_000_000, returnedAt: start + 1_000_000_001, operation: .read(observed: observed)))
        }
        let acknowledged = history.filter { $0.returnedAt != nil && $0.operation != .read(observed: nil) }.count
        #expect(acknowledged > 100, "the run acknowledged \(acknowledged) operations")
        let unknown = history.filter { $0.returnedAt == nil }.count
        print("strong table: \(history.count) operations from 9 clients, \(acknowledged) acknowledged, \(unknown) with unknown outcome; leader \(leader) killed at 4 s, restarted at 9 s")
        let verdict = LinearizabilityChecker.check(history)
        #expect(verdict == .linearizable, "\(verdict)")

        // Every region ends with the same items.
        #expect(try await cluster.eventually {
            var seen: Set<[TestCluster.Item]> = []
            for region in Self.names { seen.insert(try await cluster.items(region, table: "bank")) }
            return seen.count == 1
        }, "regions converge")
    }

    /// A session reads its own writes of a `primary` table at a follower far from the
    /// primary: the follower serves from its own copy once it has applied the index the
    /// token carries (waiting for it briefly), or passes the read to the leader.
    @Test func aSessionReadsItsOwnWritesOfAPrimaryTableAtAFollower() async throws {
        let cluster = try Self.cluster()
        defer { cluster.stop() }
        let created = await Self.call("PUT", "\(cluster.url("us-east"))/v1/tables/profiles", body: #"{"mode": "primary", "primary": "us-east"}"#)
        #expect(created?.status == 201)
        #expect(try await cluster.eventually { await Self.agreedLeader(cluster, table: "profiles") == "us-east" }, "the primary leads")
        var servedByFollower = 0
        for round in 0..<5 {
            let write = try await send("PUT", "\(cluster.url("us-east"))/v1/tables/profiles/items/alex", body: #"{"round": \#(round)}"#)
            #expect(write.status == 200)
            let token = try #require(write.headers["meridian-session"])
            // At once, in ap-south (93 ms from the primary): never an older round.
            let read = try await send("GET", "\(cluster.url("ap-south"))/v1/tables/profiles/items/alex?consistency=session", headers: ["Meridian-Session": token])
            #expect(read.status == 200, "\(String(decoding: read.body, as: UTF8.self))")
            #expect(try read.json()["value"] == .object(["round": .integer(Int64(round))]), "read your writes, round \(round)")
            if read.headers["meridian-region"] == "ap-south" { servedByFollower += 1 }
        }
        // Waiting (at most 300 ms) for ap-south to apply beats a round trip to the primary;
        // under a loaded machine a read may still be passed on, so at least one, not all.
        #expect(servedByFollower >= 1, "ap-south served session reads from its own copy")
        print("primary table: \(servedByFollower) of 5 session reads served by ap-south's own copy")
    }

    /// Kills the primary of a `primary` table under writes; returns the milliseconds from
    /// the kill to the first write a standby accepted, and the writes acknowledged.
    static func failover(commit: String) async throws -> (rto: Double, acknowledged: [String: String], cluster: TestCluster) {
        let cluster = try Self.cluster()
        let created = await call("PUT", "\(cluster.url("us-east"))/v1/tables/orders", body: #"{"mode": "primary", "primary": "us-east", "commit": "\#(commit)"}"#)
        #expect(created?.status == 201)
        #expect(try await cluster.eventually { await agreedLeader(cluster, table: "orders") == "us-east" }, "the primary leads")
        var acknowledged: [String: String] = [:]
        for number in 0..<50 {
            let answer = await call("PUT", "\(cluster.url("us-east"))/v1/tables/orders/items/before-\(number)", body: "\(number)")
            if answer?.status == 200 { acknowledged["before-\(number)"] = "\(number)" }
        }
        #expect(acknowledged.count == 50)
        // Writes keep flowing to the primary while it is killed.
        let killed = Date()
        cluster.kill9("us-east")
        var rto: Double = -1
        for attempt in 0..<400 {
            let answer = await call("PUT", "\(cluster.url("eu-west"))/v1/tables/orders/items/after-\(attempt)", body: "\(attempt)")
            if answer?.status == 200 {
                rto = Date().timeIntervalSince(killed) * 1000
                acknowledged["after-\(attempt)"] = "\(attempt)"
                break
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        return (rto, acknowledged, cluster)
    }

    /// Issue 14: a `strong` table over two data regions and a witness fails over when the
    /// leader's region is killed, loses no acknowledged write, and the witness's data
    /// directory holds none of its items.
    @Test func aStrongTableOverTwoRegionsAndAWitnessFailsOverAndTheWitnessHoldsNoItem() async throws {
        let cluster = try Self.cluster()
        defer { cluster.stop() }
        let definition = #"{"mode": "strong", "regions": ["us-east", "eu-west"], "witness": "ap-south"}"#
        #expect(await Self.call("PUT", "\(cluster.url("us-east"))/v1/tables/ledger", body: definition)?.status == 201)
        var leader: String?
        #expect(try await cluster.eventually {
            leader = await Self.agreedLeader(cluster, table: "ledger", among: ["us-east", "eu-west"])
            return leader == "us-east" || leader == "eu-west"
        }, "a data region leads")
        let first = try #require(leader)
        let other = first == "us-east" ? "eu-west" : "us-east"
        var acknowledged: [String] = []
        for number in 0..<30 {
            let marker = "WITNESSMARK\(number)Q"
            if await Self.call("PUT", "\(cluster.url(first))/v1/tables/ledger/items/\(marker)", body: #"{"v": "\#(marker)"}"#)?.status == 200 {
                acknowledged.append(marker)
            }
        }
        #expect(acknowledged.count == 30)
        // Asked at the witness, a read is passed to a data region: the witness serves no item.
        let atWitness = try await send("GET", "\(cluster.url("ap-south"))/v1/tables/ledger/items/\(acknowledged[0])")
        #expect(atWitness.status == 200 && atWitness.headers["meridian-region"] != "ap-south", "served by \(atWitness.headers["meridian-region"] ?? "?")")

        let killed = Date()
        cluster.kill9(first)
        var rto: Double = -1
        for attempt in 0..<400 {
            let marker = "WITNESSMARKafter\(attempt)Q"
            if await Self.call("PUT", "\(cluster.url(other))/v1/tables/ledger/items/\(marker)", body: #"{"v": "\#(marker)"}"#)?.status == 200 {
                rto = Date().timeIntervalSince(killed) * 1000
                acknowledged.append(marker)
                break
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(rto > 0, "\(other) took writes with the witness's vote after \(first) was killed")
        print("strong table over two regions and a witness: RTO \(Int(rto)) ms from SIGKILL of \(first) to the first write accepted through \(other)")
        for marker in acknowledged {
            let answer = await Self.call("GET", "\(cluster.url(other))/v1/tables/ledger/items/\(marker)?consistency=strong")
            #expect(answer?.status == 200, "acknowledged \(marker) is present")
        }
        // The witness keeps the log (its entries carry the items on their way) but stores no
        // item of the table, as it reports from its own storage.
        let placement = await Self.call("GET", "\(cluster.url("ap-south"))/v1/tables/ledger/placement?scope=local")
        #expect(placement?.status == 200)
        #expect(placement?.fields["items"] == .integer(0), "the witness holds no items: \(placement?.fields ?? [:])")
    }

    @Test func aPrimaryTableWithQuorumCommitFailsOverAndLosesNothing() async throws {
        let (rto, acknowledged, cluster) = try await Self.failover(commit: "quorum")
        defer { cluster.stop() }
        #expect(rto > 0, "a standby accepted a write after the primary was killed")
        print("primary table, commit quorum: RTO \(Int(rto)) ms from SIGKILL of us-east to the first write accepted through eu-west")
        for (key, value) in acknowledged {
            let answer = await Self.call("GET", "\(cluster.url("eu-west"))/v1/tables/orders/items/\(key)?consistency=strong")
            #expect(answer?.fields["value"] == .integer(Int64(value)!), "acknowledged \(key) is present")
        }
        // The primary comes back, catches up, and leads again.
        try cluster.start("us-east")
        #expect(try await cluster.eventually(seconds: 20) { await Self.agreedLeader(cluster, table: "orders") == "us-east" }, "leadership returns to the primary")
    }

    @Test func aPrimaryTableWithLocalCommitKeepsReplacedWritesInTheDivergenceLedger() async throws {
        let cluster = try Self.cluster()
        defer { cluster.stop() }
        let created = await Self.call("PUT", "\(cluster.url("us-east"))/v1/tables/orders", body: #"{"mode": "primary", "primary": "us-east", "commit": "local"}"#)
        #expect(created?.status == 201)
        #expect(try await cluster.eventually { await Self.agreedLeader(cluster, table: "orders") == "us-east" }, "the primary leads")
        // Acknowledged at once by the primary; cut it off so recent writes never leave it.
        var acknowledged: [String: String] = [:]
        for number in 0..<20 {
            if await Self.call("PUT", "\(cluster.url("us-east"))/v1/tables/orders/items/early-\(number)", body: "\(number)")?.status == 200 {
                acknowledged["early-\(number)"] = "\(number)"
            }
        }
        try await Task.sleep(for: .milliseconds(500))
        for peer in ["eu-west", "ap-south"] { try await cluster.setLink("us-east", to: peer, cut: true) }
        for number in 0..<10 {
            if await Self.call("PUT", "\(cluster.url("us-east"))/v1/tables/orders/items/stranded-\(number)", body: "\(number)")?.status == 200 {
                acknowledged["stranded-\(number)"] = "\(number)"
            }
        }
        #expect(acknowledged.count == 30, "local commit acknowledges without the standbys")
        let killed = Date()
        cluster.kill9("us-east")
        var rto: Double = -1
        for attempt in 0..<400 {
            if await Self.call("PUT", "\(cluster.url("eu-west"))/v1/tables/orders/items/after-\(attempt)", body: "\(attempt)")?.status == 200 {
                rto = Date().timeIntervalSince(killed) * 1000
                acknowledged["after-\(attempt)"] = "\(attempt)"
                break
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(rto > 0)
        print("primary table, commit local: RTO \(Int(rto)) ms")
        try cluster.start("us-east")
        for peer in ["eu-west", "ap-south"] { try await cluster.setLink("us-east", to: peer, cut: false) }
        #expect(try await cluster.eventually(seconds: 20) { await Self.agreedLeader(cluster, table: "orders") == "us-east" }, "leadership returns to the primary")

        // Every acknowledged write is in the table or in the divergence ledger.
        let ledger = await Self.call("GET", "\(cluster.url("eu-west"))/v1/tables/orders/divergence")
        var diverged: Set<String> = []
        if case .array(let rows)? = ledger?.fields["rows"] {
            for case .object(let row) in rows { if case .string(let key)? = row["key"] { diverged.insert(key) } }
        }
        var missing: [String] = []
        for (key, value) in acknowledged {
            let answer = await Self.call("GET", "\(cluster.url("us-east"))/v1/tables/orders/items/\(key)?consistency=strong")
            if answer?.fields["value"] != .integer(Int64(value)!) && !diverged.contains(key) { missing.append(key) }
        }
        #expect(missing.isEmpty, "acknowledged writes neither present nor in the divergence ledger: \(missing)")
        #expect(diverged.allSatisfy { $0.hasPrefix("stranded-") }, "only writes the standbys never had diverge: \(diverged)")
        print("primary table, commit local: \(diverged.count) of 10 stranded acknowledged writes in the divergence ledger")
    }
}
