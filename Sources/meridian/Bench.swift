import ArgumentParser
import Foundation
import MeridianCore
import MeridianNode

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `meridian bench`: measured load against a running node. Prints what it measured.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure a running node under load.",
        discussion: """
            Scenario 'local-writes': concurrent clients put items into a multi-primary table of the node at --endpoint and the \
            latency of every acknowledged write is recorded. Scenario 'replication-lag': with --cluster (meridian dev writes one), \
            each region takes paced writes at light load, then every region reports the delay from acceptance at the origin to \
            application, per origin; printed per pair next to the injected one-way delay. Scenario 'strong-writes': with \
            --cluster, a strong table led by the first region; one client per region writes through its own region in turn \
            (forwarded to the leader), and strong reads are made at the leader; each region's p50/p99 is printed next to the \
            physical floor: the round trip from the region to the leader plus the leader's round trip to its nearest majority.
            """)

    /// The most writes one run may make.
    static let writesMax = 10_000_000

    @Option(help: "The scenario to run: local-writes or replication-lag.") var scenario: String = "local-writes"
    @Option(help: "replication-lag: the cluster file of a running cluster.") var cluster: String?
    @Option(help: "replication-lag: pause between one region's writes, in milliseconds.") var pacingMs: Int = 20
    @Option(help: "The node's API.") var endpoint: String = "http://127.0.0.1:7001"
    @Option(help: "Concurrent clients.") var clients: Int = 4
    @Option(help: "Writes in total.") var writes: Int = 20_000
    @Option(help: "Bytes of each value's string payload.") var valueBytes: Int = 100
    @Option(help: "The bearer token (default: $MERIDIAN_TOKEN, else the file 'token' next to --cluster).") var token: String?

    func validate() throws {
        guard ["local-writes", "replication-lag", "strong-writes"].contains(scenario) else {
            throw ValidationError("unknown scenario '\(scenario)'; available: local-writes, replication-lag, strong-writes")
        }
        if scenario != "local-writes" && cluster == nil { throw ValidationError("\(scenario) needs --cluster FILE") }
        guard (1...1024).contains(clients) else { throw ValidationError("--clients must be 1 to 1024") }
        guard (1...Self.writesMax).contains(writes) else { throw ValidationError("--writes must be 1 to \(Self.writesMax)") }
    }

    func run() async throws {
        if scenario == "replication-lag" { return try await replicationLag() }
        if scenario == "strong-writes" { return try await strongWrites() }
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = clients
        let session = URLSession(configuration: configuration)
        let table = "bench_local_writes"
        _ = try await request(session, "PUT", "/v1/tables/\(table)", body: Data("{}".utf8), expecting: [200, 201])
        let payload = Data(#"{"payload": "\#(String(repeating: "x", count: valueBytes))"}"#.utf8)
        let clients = self.clients, writes = self.writes

        let started = Date()
        let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
            for client in 0..<clients {
                group.addTask {
                    var latencies: [Double] = []
                    for index in stride(from: client, to: writes, by: clients) {
                        let before = Date()
                        _ = try await request(session, "PUT", "/v1/tables/\(table)/items/key-\(index)", body: payload, expecting: [200])
                        latencies.append(Date().timeIntervalSince(before) * 1000)
                    }
                    return latencies
                }
            }
            return try await group.reduce(into: [Double]()) { $0 += $1 }.sorted()
        }
        let seconds = Date().timeIntervalSince(started)
        func percentile(_ fraction: Double) -> Double { latencies[min(latencies.count - 1, Int(Double(latencies.count) * fraction))] }
        print("scenario local-writes: \(writes) writes, \(clients) clients, \(valueBytes)-byte payload, endpoint \(endpoint)")
        print(String(format: "throughput %.0f writes/s over %.2f s", Double(writes) / seconds, seconds))
        print(String(format: "latency ms: p50 %.2f  p90 %.2f  p99 %.2f  max %.2f", percentile(0.5), percentile(0.9), percentile(0.99), latencies.last ?? 0))
    }

    /// Paced writes in every region, then each region's measured apply delays per origin.
    private func replicationLag() async throws {
        guard let clusterPath = cluster else { return }
        let configuration = try ClusterConfiguration.load(path: clusterPath)
        let session = URLSession(configuration: .ephemeral)
        let regions = configuration.regions
        let table = "bench_replication_lag"
        _ = try await request(session, "PUT", "/v1/tables/\(table)", body: Data("{}".utf8), expecting: [200, 201], base: "http://\(regions[0].api)")
        try await Task.sleep(for: .seconds(1))
        let perRegion = max(1, writes / regions.count)
        let pacing = pacingMs
        try await withThrowingTaskGroup(of: Void.self) { group in
            for region in regions {
                group.addTask {
                    for index in 0..<perRegion {
                        _ = try await request(session, "PUT", "/v1/tables/\(table)/items/\(region.name.name)-\(index)", body: Data(#"{"n": \#(index)}"#.utf8),
                                              expecting: [200], base: "http://\(region.api)")
                        try await Task.sleep(for: .milliseconds(pacing))
                    }
                }
            }
            try await group.waitForAll()
        }
        try await Task.sleep(for: .seconds(1))
        print("scenario replication-lag: \(perRegion) writes per region, one every \(pacing) ms; delay from acceptance at the origin to application (ms)")
        print("origin -> receiver         p50     p99     max   injected  p99/injected")
        var worst = 0.0
        for receiver in regions {
            let data = try await request(session, "GET", "/v1/cluster", body: nil, expecting: [200], base: "http://\(receiver.api)")
            guard case .object(let body) = try JSONValue.parse(Array(data), bytesMax: Int.max), case .array(let rows)? = body["regions"] else { continue }
            for case .object(let row) in rows {
                guard case .string(let origin)? = row["name"], case .object(let delay)? = row["apply_delay_ms"],
                      case .integer(let p50)? = delay["p50"], case .integer(let p99)? = delay["p99"], case .integer(let maximum)? = delay["max"] else { continue }
                let injected = Geography.oneWay(from: origin, to: receiver.name.name, matrix: configuration.latencyMilliseconds)
                let ratio = injected > 0 ? Double(p99) / injected : 0
                worst = max(worst, ratio)
                print("\(origin.padding(toLength: 12, withPad: " ", startingAt: 0)) -> \(receiver.name.name.padding(toLength: 12, withPad: " ", startingAt: 0)) \(String(format: "%6d  %6d  %6d  %8.1f  %6.3f", p50, p99, maximum, injected, ratio))")
            }
        }
        print(String(format: "worst p99 / injected one-way delay: %.3f (target <= 1.05; PostgreSQL streaming 1.10)", worst))
    }

    /// Sequential strong writes from each region, and strong reads at the leader.
    private func strongWrites() async throws {
        guard let clusterPath = cluster else { return }
        let configuration = try ClusterConfiguration.load(path: clusterPath)
        let session = URLSession(configuration: .ephemeral)
        let regions = configuration.regions
        let table = "bench_strong_writes"
        let leaderBase = "http://\(regions[0].api)"
        _ = try await request(session, "PUT", "/v1/tables/\(table)", body: Data(#"{"mode": "strong"}"#.utf8), expecting: [200, 201], base: leaderBase)
        var leader: String?
        for _ in 0..<100 {
            let data = try await request(session, "GET", "/v1/tables/\(table)", body: nil, expecting: [200], base: leaderBase)
            if case .object(let body) = try JSONValue.parse(Array(data), bytesMax: Int.max), case .object(let status)? = body["status"],
               case .string(let name)? = status["leader"] { leader = name; break }
            try await Task.sleep(for: .milliseconds(100))
        }
        guard let leader else { throw ValidationError("table \(table) elected no leader within 10 s") }
        let perRegion = max(10, writes / regions.count)
        func delay(_ a: String, _ b: String) -> Double { a == b ? 0 : Geography.oneWay(from: a, to: b, matrix: configuration.latencyMilliseconds) }
        let nearestPeerRoundTrip = regions.map(\.name.name).filter { $0 != leader }.map { 2 * delay(leader, $0) }.min() ?? 0
        print("scenario strong-writes: leader \(leader); \(perRegion) sequential writes per region through the region's own endpoint")
        print("region        p50 ms   p99 ms   floor ms   p50/floor  p99/floor")
        var worst = 0.0
        for region in regions {
            var latencies: [Double] = []
            for index in 0..<perRegion {
                let before = Date()
                _ = try await request(session, "PUT", "/v1/tables/\(table)/items/\(region.name.name)-\(index)", body: Data(#"{"n": \#(index)}"#.utf8),
                                      expecting: [200], base: "http://\(region.api)")
                latencies.append(Date().timeIntervalSince(before) * 1000)
            }
            latencies.sort()
            let p50 = latencies[latencies.count / 2], p99 = latencies[min(latencies.count - 1, latencies.count * 99 / 100)]
            let floor = 2 * delay(region.name.name, leader) + nearestPeerRoundTrip
            worst = max(worst, p99 / floor)
            print("\(region.name.name.padding(toLength: 12, withPad: " ", startingAt: 0)) \(String(format: "%7.1f  %7.1f  %9.1f  %9.3f  %9.3f", p50, p99, floor, p50 / floor, p99 / floor))")
        }
        var reads: [Double] = []
        let leaderAPI = regions.first { $0.name.name == leader }.map { "http://\($0.api)" } ?? leaderBase
        for index in 0..<perRegion {
            let before = Date()
            _ = try await request(session, "GET", "/v1/tables/\(table)/items/\(leader)-\(index % perRegion)?consistency=strong", body: nil, expecting: [200, 404], base: leaderAPI)
            reads.append(Date().timeIntervalSince(before) * 1000)
        }
        reads.sort()
        print(String(format: "strong reads at the leader: p50 %.2f ms, p99 %.2f ms (no round trip to another region: leader lease)", reads[reads.count / 2], reads[min(reads.count - 1, reads.count * 99 / 100)]))
        print(String(format: "worst strong-write p99 / floor: %.3f (target <= 1.03; etcd 1.02)", worst))
    }

    private func request(_ session: URLSession, _ method: String, _ path: String, body: Data?, expecting statuses: Set<Int>, base: String? = nil) async throws -> Data {
        var request = URLRequest(url: URL(string: (base ?? endpoint) + path)!)
        request.httpMethod = method
        request.httpBody = body
        if let token = token ?? EndpointOptions.token(environmentOrFileNextTo: cluster) { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await session.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard statuses.contains(status) else {
            throw ValidationError("\(method) \(path) answered \(status): \(String(decoding: data.prefix(300), as: UTF8.self))")
        }
        return data
    }
}
