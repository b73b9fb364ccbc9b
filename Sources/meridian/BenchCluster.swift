import Foundation
import MeridianCore
import MeridianNode

/// A Meridian cluster the benchmark starts for itself: one `meridian serve` process per
/// region (this same executable), on free loopback ports, with a generated cluster file
/// and data in a temporary folder. `stop()` ends every process; `BenchChildren` ends them
/// too if the benchmark fails or is interrupted.
final class BenchCluster: @unchecked Sendable {
    /// How long a started region may take to answer `GET /v1/health`, in milliseconds.
    static let startupMillisecondsMax = 30_000
    /// How often a starting region is probed, in milliseconds.
    static let startupPollMilliseconds = 50
    /// How long a table may take to elect its leader, in milliseconds.
    static let leaderMillisecondsMax = 20_000

    let folder: URL
    let configuration: ClusterConfiguration
    let clusterFile: URL
    let latency: Bool
    let http: BenchHTTP
    /// Guarded by `lock`: the running process of each region.
    private var processes: [String: Process] = [:]
    private let lock = NSLock()

    /// The region names, in cluster-file order.
    var regions: [String] { configuration.regions.map(\.name.name) }

    /// Starts every region and waits until each answers.
    static func start(regions: [String], latency: Bool, http: BenchHTTP) async throws -> BenchCluster {
        let folder = try BenchProcess.temporaryFolder(latency ? "latency" : "no-latency")
        let ids = try regions.map { try RegionID($0) }
        let ports = try BenchProcess.freePorts(2 * regions.count)
        let endpoints = ids.enumerated().map { index, region in
            RegionEndpoint(name: region, api: "127.0.0.1:\(ports[index])", peer: "127.0.0.1:\(ports[regions.count + index])")
        }
        var configuration = Geography.localCluster(regions: ids, basePort: 1)
        configuration.regions = endpoints
        configuration.explicitClusterID = "meridian-bench-\(UInt32.random(in: 0...UInt32.max))"
        let clusterFile = folder.appendingPathComponent("cluster.json")
        try JSONEncoder().encode(configuration).write(to: clusterFile)
        let cluster = BenchCluster(folder: folder, configuration: configuration, clusterFile: clusterFile, latency: latency, http: http)
        for region in regions { try cluster.launch(region) }
        for region in regions { try await cluster.waitHealthy(region) }
        return cluster
    }

    private init(folder: URL, configuration: ClusterConfiguration, clusterFile: URL, latency: Bool, http: BenchHTTP) {
        self.folder = folder
        self.configuration = configuration
        self.clusterFile = clusterFile
        self.latency = latency
        self.http = http
    }

    /// The base URL of a region's API.
    func url(_ region: String) -> String {
        "http://" + (configuration.regions.first { $0.name.name == region }?.api ?? "unknown-region")
    }

    /// The injected one-way delay between two regions in milliseconds (0 with latency off
    /// or for the same region).
    func oneWay(_ source: String, _ destination: String) -> Double {
        guard latency, source != destination else { return 0 }
        return Geography.oneWay(from: source, to: destination, matrix: configuration.latencyMilliseconds)
    }

    /// Starts a region's process (again).
    func launch(_ region: String) throws {
        var arguments = ["serve", "--cluster", clusterFile.path, "--region", region,
                         "--data", folder.appendingPathComponent(region).path]
        if !latency { arguments.append("--no-latency") }
        let process = try BenchProcess.start(Bench.executablePath, arguments, log: folder.appendingPathComponent("\(region).log"))
        lock.withLock { processes[region] = process }
    }

    /// Waits until a region answers `GET /v1/health`.
    func waitHealthy(_ region: String) async throws {
        let deadline = ContinuousClock.now + .milliseconds(Self.startupMillisecondsMax)
        while ContinuousClock.now < deadline {
            if let answer = try? await http.send(.GET, url(region) + "/v1/health"), answer.status == 200 { return }
            try await Task.sleep(for: .milliseconds(Self.startupPollMilliseconds))
        }
        throw BenchError("region \(region) did not answer within \(Self.startupMillisecondsMax) ms; see \(folder.appendingPathComponent("\(region).log").path)")
    }

    /// Kills a region's process with SIGKILL (a crash: nothing is flushed or closed).
    func kill9(_ region: String) {
        guard let process = lock.withLock({ processes.removeValue(forKey: region) }) else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        BenchChildren.shared.forget(process.processIdentifier)
    }

    /// Stops every region (SIGTERM, then SIGKILL after the grace period) and removes the data.
    func stop() {
        let running = lock.withLock { () -> [Process] in
            defer { processes = [:] }
            return Array(processes.values)
        }
        for process in running where process.isRunning { kill(process.processIdentifier, SIGTERM) }
        let deadline = Date().addingTimeInterval(Double(BenchChildren.terminateGraceMilliseconds) / 1000)
        while Date() < deadline, running.contains(where: \.isRunning) { usleep(useconds_t(BenchChildren.exitPollMilliseconds * 1000)) }
        for process in running where process.isRunning { kill(process.processIdentifier, SIGKILL) }
        for process in running {
            process.waitUntilExit()
            BenchChildren.shared.forget(process.processIdentifier)
        }
        try? FileManager.default.removeItem(at: folder)
    }

    /// Creates a table (201 or 200) through a region.
    func createTable(_ name: String, _ definition: String, in region: String) async throws {
        try await http.expect(.PUT, url(region) + "/v1/tables/\(name)", body: definition, statuses: [200, 201])
    }

    /// The leader of a consensus table as `region` sees it, or nil.
    func leader(of table: String, seenFrom region: String) async -> String? {
        guard let body = try? await http.expect(.GET, url(region) + "/v1/tables/\(table)"),
              let status = body["status"] as? [String: Any] else { return nil }
        return status["leader"] as? String
    }

    /// Waits until every region in `regions` names the same leader (`expected` when given); returns it.
    func waitForLeader(of table: String, regions: [String], expected: String? = nil) async throws -> String {
        let deadline = ContinuousClock.now + .milliseconds(Self.leaderMillisecondsMax)
        while ContinuousClock.now < deadline {
            var seen: Set<String> = []
            var complete = true
            for region in regions {
                if let leader = await leader(of: table, seenFrom: region) { seen.insert(leader) } else { complete = false }
            }
            if complete, seen.count == 1, let leader = seen.first, expected == nil || expected == leader { return leader }
            try await Task.sleep(for: .milliseconds(Self.startupPollMilliseconds))
        }
        throw BenchError("table \(table) had no agreed leader\(expected.map { " \($0)" } ?? "") within \(Self.leaderMillisecondsMax) ms")
    }
}
