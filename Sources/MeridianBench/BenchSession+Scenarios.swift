import Foundation
import MeridianAPIModel
import MeridianClient
import MeridianNode

/// Pads text on the right to a column width.
func column(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}

/// A millisecond figure for a table cell: two decimals, or "n/a".
func ms(_ value: Double?) -> String { BenchMath.milliseconds(value) }

extension BenchSession {
    /// The pause between one region's paced writes in replication-lag, in milliseconds.
    static let pacingMilliseconds = 20
    /// How long replication-lag waits after the last write before reading the delays, in milliseconds.
    static let settleMilliseconds = 1000

    /// Writes one item and requires 200.
    func put(_ cluster: BenchCluster, _ region: String, table: String, key: String) async throws {
        let answer = try await http.send(.PUT, cluster.url(region) + "/v1/tables/\(table)/items/\(key)", body: Array(settings.payload.utf8))
        guard answer.status == 200 else { throw BenchError("PUT \(table)/\(key) in \(region) answered \(answer.status): \(String(decoding: answer.body.prefix(200), as: UTF8.self))") }
    }

    // MARK: local-writes

    /// Multi-primary writes served by one region, at each client count, next to the HTTP
    /// floor (`GET /v1/health` through the same client: client, loopback and HTTP server,
    /// no storage).
    func localWrites() async throws {
        let cluster = try await withoutLatency()
        let region = cluster.regions[0]
        try await cluster.createTable("bench_local", #"{"mode": "multi-primary", "conflict": "lww"}"#, in: region)
        print("scenario local-writes: multi-primary table, every write to \(region) (latency off: replication is asynchronous and does not delay the answer)")
        print("clients  writes/s   p50 ms   p99 ms   max ms   errors   health p50 ms  health p99 ms")
        var rows: [(clients: Int, writes: LoadResult, health: LoadResult)] = []
        for clients in settings.clientCounts {
            let health = try await load("local-writes health \(clients)", clients: clients) { [http] _, _ in
                let answer = try await http.send(.GET, cluster.url(region) + "/v1/health")
                guard answer.status == 200 else { throw BenchError("health answered \(answer.status)") }
            }
            let writes = try await load("local-writes \(clients)", clients: clients) { [self] client, sequence in
                try await put(cluster, region, table: "bench_local", key: "c\(clients)-\(client)-\(sequence)")
            }
            rows.append((clients, writes, health))
            print(column("\(clients)", 8) + " " + column(String(format: "%.0f", writes.throughput), 9) + " " + column(ms(writes.latencies.p50), 8) + " "
                  + column(ms(writes.latencies.p99), 8) + " " + column(ms(writes.latencies.maxMilliseconds), 8) + " " + column("\(writes.errors)", 8) + " "
                  + column(ms(health.latencies.p50), 14) + " " + ms(health.latencies.p99))
        }
        var parts: [String] = []
        if let first = rows.first, let last = rows.last, rows.count > 1 {
            parts.append("throughput \(last.clients) clients / \(first.clients) client \(BenchMath.format(BenchMath.ratio(last.writes.throughput, first.writes.throughput)))")
        }
        for row in rows {
            parts.append("write p50 / health p50 at \(row.clients) \(BenchMath.format(BenchMath.ratio(row.writes.latencies.p50, row.health.latencies.p50)))")
        }
        ratios("local-writes", parts)
    }

    // MARK: replication-lag

    /// Paced writes in every region at light load; then each region's measured delay from
    /// acceptance at the origin to application, per pair, next to the injected one-way delay.
    func replicationLag(againstPostgres: Bool) async throws {
        let cluster = try await withLatency()
        let table = "bench_lag"
        try await cluster.createTable(table, #"{"mode": "multi-primary", "conflict": "lww"}"#, in: cluster.regions[0])
        try await Task.sleep(for: .milliseconds(Self.settleMilliseconds))
        let deadline = ContinuousClock.now + .milliseconds(Int64(settings.measureSeconds * 1000))
        let written = try await withThrowingTaskGroup(of: Int.self) { group in
            for region in cluster.regions {
                group.addTask { [self] in
                    var count = 0
                    while ContinuousClock.now < deadline {
                        try await put(cluster, region, table: table, key: "\(region)-\(count)")
                        count += 1
                        try await Task.sleep(for: .milliseconds(Self.pacingMilliseconds))
                    }
                    return count
                }
            }
            return try await group.reduce(0, +)
        }
        try await Task.sleep(for: .milliseconds(Self.settleMilliseconds))
        print("scenario replication-lag: \(written) paced writes (one per region every \(Self.pacingMilliseconds) ms, \(Int(settings.measureSeconds)) s);")
        print("delay from acceptance at the origin to application at the receiver, as the receiver measured it (GET /v1/cluster apply_delay_ms)")
        print("origin -> receiver          p50 ms   p99 ms   max ms   injected one-way ms   p50/injected   p99/injected")
        var worstP50: Double?, worstP99: Double?
        for receiver in cluster.regions {
            let body = try await http.expect(ClusterBody.self, .GET, cluster.url(receiver) + "/v1/cluster")
            for row in body.regions {
                guard row.name != receiver, let delay = row.applyDelayMilliseconds else { continue }
                let origin = row.name, p50 = Double(delay.p50), p99 = Double(delay.p99), maximum = Double(delay.max)
                let injected = cluster.oneWay(origin, receiver)
                let r50 = BenchMath.ratio(p50, injected), r99 = BenchMath.ratio(p99, injected)
                worstP50 = max(worstP50 ?? 0, r50 ?? 0)
                worstP99 = max(worstP99 ?? 0, r99 ?? 0)
                print(column("\(origin) -> \(receiver)", 27) + " " + column(ms(p50), 8) + " " + column(ms(p99), 8) + " " + column(ms(maximum), 8) + " "
                      + column(String(format: "%.1f", injected), 21) + " " + column(BenchMath.format(r50), 14) + " " + BenchMath.format(r99))
            }
        }
        var parts = ["worst p50 / injected one-way delay \(BenchMath.format(worstP50))", "worst p99 / injected one-way delay \(BenchMath.format(worstP99))"]
        if againstPostgres { parts += try await postgresReplication(cluster) }
        ratios("replication-lag", parts)
    }

    // MARK: strong-writes

    /// Linearizable writes to a strong table from each region (one sequential client per
    /// region, all regions at once) next to the floor; strong reads at the leader; and
    /// throughput at 64 clients with latency off.
    func strongWrites(againstEtcd: Bool) async throws {
        let cluster = try await withLatency()
        let table = "bench_strong"
        try await cluster.createTable(table, #"{"mode": "strong"}"#, in: cluster.regions[0])
        let leader = try await cluster.waitForLeader(of: table, regions: cluster.regions)
        print("scenario strong-writes: strong table over \(cluster.regions.joined(separator: ", ")), leader \(leader); one sequential client per region, all regions at once, each through its own region")
        let perRegion = try await strongWritesPerRegion(regions: cluster.regions, leader: leader) { [self] region, client, sequence in
            try await put(cluster, region, table: table, key: "\(region)-\(client)-\(sequence)")
        }
        let floors = Dictionary(uniqueKeysWithValues: cluster.regions.map { region in
            (region, BenchMath.strongWriteFloorMilliseconds(client: region, leader: leader, regions: cluster.regions, oneWay: cluster.oneWay))
        })
        printStrongTable("meridian", perRegion, floors: floors, regions: cluster.regions)
        let reads = try await load("strong reads at \(leader)", clients: 1) { [http] _, sequence in
            let answer = try await http.send(.GET, cluster.url(leader) + "/v1/tables/\(table)/items/\(leader)-0-\(sequence % 10)?consistency=strong")
            guard answer.status == 200 || answer.status == 404 else { throw BenchError("strong read answered \(answer.status)") }
        }
        print("strong reads at the leader (lease reads, no round trip to another region): p50 \(ms(reads.latencies.p50)) ms, p99 \(ms(reads.latencies.p99)) ms, \(reads.operations) reads")

        let fast = try await withoutLatency()
        try await fast.createTable(table, #"{"mode": "strong"}"#, in: fast.regions[0])
        let fastLeader = try await fast.waitForLeader(of: table, regions: fast.regions)
        let throughputClients = Self.strongThroughputClients
        let throughput = try await load("strong-writes \(throughputClients) clients, latency off", clients: throughputClients) { [self] client, sequence in
            try await put(fast, fastLeader, table: table, key: "t-\(client)-\(sequence)")
        }
        print("latency off, \(throughputClients) clients writing at the leader \(fastLeader): \(String(format: "%.0f", throughput.throughput)) writes/s, p50 \(ms(throughput.latencies.p50)) ms, p99 \(ms(throughput.latencies.p99)) ms, \(throughput.errors) errors")

        var parts: [String] = []
        for region in cluster.regions {
            parts.append("\(region) p50/floor \(BenchMath.format(BenchMath.ratio(perRegion[region]?.latencies.p50, floors[region]))) p99/floor \(BenchMath.format(BenchMath.ratio(perRegion[region]?.latencies.p99, floors[region])))")
        }
        if againstEtcd {
            parts += try await etcdStrongWrites(meridianPerRegion: perRegion, meridianThroughput: throughput, meridianLeader: leader, regions: cluster.regions)
        }
        ratios("strong-writes", parts)
    }

    /// The client count of the latency-off strong-writes throughput phase.
    static let strongThroughputClients = 64

    /// One sequential client per region, all regions at once; the latencies per region.
    func strongWritesPerRegion(regions: [String], leader: String, _ write: @escaping @Sendable (String, Int, Int) async throws -> Void) async throws -> [String: LoadResult] {
        try await withThrowingTaskGroup(of: (String, LoadResult).self) { group in
            for region in regions {
                group.addTask { [self] in
                    (region, try await load("strong-writes from \(region)", clients: 1) { client, sequence in try await write(region, client, sequence) })
                }
            }
            return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
    }

    /// Prints one table of per-region strong-write latencies against their floors.
    func printStrongTable(_ system: String, _ perRegion: [String: LoadResult], floors: [String: Double], regions: [String]) {
        print("\(system): region    writes   p50 ms   p99 ms   floor ms   p50/floor   p99/floor")
        for region in regions {
            let result = perRegion[region]
            print(column("\(system): \(region)", 20) + " " + column("\(result?.operations ?? 0)", 8) + " " + column(ms(result?.latencies.p50), 8) + " "
                  + column(ms(result?.latencies.p99), 8) + " " + column(String(format: "%.1f", floors[region] ?? 0), 10) + " "
                  + column(BenchMath.format(BenchMath.ratio(result?.latencies.p50, floors[region])), 11) + " "
                  + BenchMath.format(BenchMath.ratio(result?.latencies.p99, floors[region])))
        }
    }

    // MARK: alex

    /// The client region of the alex scenario.
    static let alexRegion = "ap-south"
    /// The region of the single-region deployment Alex is compared against.
    static let alexFarRegion = "us-east"

    /// A client in ap-south writing and reading through us-east versus through ap-south,
    /// paying the simulated one-way delay from ap-south both ways (as `--from ap-south`).
    func alex() async throws {
        let cluster = try await withLatency()
        try await cluster.createTable("bench_alex", #"{"mode": "multi-primary", "conflict": "lww"}"#, in: cluster.regions[0])
        var options = MeridianClient.Options(simulatedLocation: Self.alexRegion, retriesMax: 0)
        options.latencyMatrix = cluster.configuration.latencyMilliseconds.map(LatencyMatrix.init)
        let payload = Array(settings.payload.utf8)
        var results: [String: (put: LoadResult, get: LoadResult)] = [:]
        for target in [Self.alexFarRegion, Self.alexRegion] {
            let client = try MeridianClient(regions: [RegionAddress(name: target, url: cluster.url(target))], options: options)
            let puts = try await load("alex put via \(target)", clients: 1) { _, sequence in
                let answer = try await client.send(method: "PUT", path: "/v1/tables/bench_alex/items/alex-\(target)-\(sequence)", body: payload)
                guard answer.status == 200 else { throw BenchError("alex put answered \(answer.status)") }
            }
            let gets = try await load("alex get via \(target)", clients: 1) { _, sequence in
                let answer = try await client.send(method: "GET", path: "/v1/tables/bench_alex/items/alex-\(target)-\(sequence % max(1, puts.operations))")
                guard answer.status == 200 || answer.status == 404 else { throw BenchError("alex get answered \(answer.status)") }
            }
            results[target] = (puts, gets)
        }
        let farRoundTrip = 2 * cluster.oneWay(Self.alexRegion, Self.alexFarRegion)
        print("scenario alex: a client in \(Self.alexRegion) (simulated one-way delay paid both ways, like --from \(Self.alexRegion)); one sequential client")
        print("deployment                          put p50 ms  put p99 ms  get p50 ms  get p99 ms  simulated round trip ms")
        for (target, label) in [(Self.alexFarRegion, "single region in \(Self.alexFarRegion)"), (Self.alexRegion, "own region \(Self.alexRegion)")] {
            let result = results[target]
            let roundTrip = target == Self.alexRegion ? 0 : farRoundTrip
            print(column(label, 35) + " " + column(ms(result?.put.latencies.p50), 11) + " " + column(ms(result?.put.latencies.p99), 11) + " "
                  + column(ms(result?.get.latencies.p50), 11) + " " + column(ms(result?.get.latencies.p99), 11) + " " + String(format: "%.1f", roundTrip))
        }
        let far = results[Self.alexFarRegion], near = results[Self.alexRegion]
        ratios("alex", [
            "put p50 \(Self.alexFarRegion)/\(Self.alexRegion) \(BenchMath.format(BenchMath.ratio(far?.put.latencies.p50, near?.put.latencies.p50)))",
            "get p50 \(Self.alexFarRegion)/\(Self.alexRegion) \(BenchMath.format(BenchMath.ratio(far?.get.latencies.p50, near?.get.latencies.p50)))",
            "put p50 via \(Self.alexFarRegion) / its simulated round trip \(BenchMath.format(BenchMath.ratio(far?.put.latencies.p50, farRoundTrip)))",
        ])
    }
}
