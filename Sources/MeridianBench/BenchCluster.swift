import Foundation
import MeridianAPIModel
import MeridianCore
import MeridianLocalCluster
import MeridianNode

/// A Meridian cluster the benchmark starts for itself: one `meridian serve` process per
/// region (this same executable, through `LocalCluster`), on free loopback ports, with a
/// generated cluster file and data in a temporary folder. `stop()` ends every process;
/// `BenchChildren` ends them too if the benchmark fails or is interrupted.
final class BenchCluster: @unchecked Sendable {
    /// How long a table may take to elect its leader, in milliseconds.
    static let leaderMillisecondsMax = 20_000
    /// How often the leader is asked for while waiting, in milliseconds.
    static let leaderPollMilliseconds = 50

    let folder: URL
    let processes: LocalCluster
    let latency: Bool
    let http: BenchHTTP

    /// The cluster file's contents.
    var configuration: ClusterConfiguration { processes.configuration }
    /// The region names, in cluster-file order.
    var regions: [String] { processes.regions }

    /// Starts every region and waits until each serves.
    static func start(regions: [String], latency: Bool, meridian: URL, http: BenchHTTP) async throws -> BenchCluster {
        let folder = try BenchProcess.temporaryFolder(latency ? "latency" : "no-latency")
        var configuration = try ClusterConfiguration.loopback(regions: regions, ports: try LocalPorts.free(2 * regions.count),
                                                              latencyMilliseconds: Geography.latencyMilliseconds(between: regions))
        configuration.explicitClusterID = "meridian-bench-\(UInt32.random(in: 0...UInt32.max))"
        let clusterFile = folder.appendingPathComponent("cluster.json")
        try configuration.write(to: clusterFile)
        let processes = LocalCluster(configuration: configuration, clusterFile: clusterFile, executable: meridian,
                                     folder: folder) { $0.injectLatency = latency }
        let cluster = BenchCluster(folder: folder, processes: processes, latency: latency, http: http)
        for region in regions { try cluster.launch(region) }
        for region in regions { try await processes.waitUntilServing(region) }
        return cluster
    }

    private init(folder: URL, processes: LocalCluster, latency: Bool, http: BenchHTTP) {
        self.folder = folder
        self.processes = processes
        self.latency = latency
        self.http = http
    }

    /// The base URL of a region's API.
    func url(_ region: String) -> String {
        processes.url(region)
    }

    /// The injected one-way delay between two regions in milliseconds (0 with latency off
    /// or for the same region).
    func oneWay(_ source: String, _ destination: String) -> Double {
        guard latency, source != destination else { return 0 }
        return Geography.oneWay(from: source, to: destination, matrix: configuration.latencyMilliseconds)
    }

    /// Starts a region's process (again), registered with `BenchChildren`.
    func launch(_ region: String) throws {
        try processes.start(region)
        if let process = processes.process(of: region) { BenchChildren.shared.register(process.processIdentifier) }
    }

    /// Starts a region's process again and waits until it serves.
    func restart(_ region: String) async throws {
        try launch(region)
        try await processes.waitUntilServing(region)
    }

    /// Kills a region's process with SIGKILL (a crash: nothing is flushed or closed).
    func kill9(_ region: String) {
        guard let process = processes.process(of: region) else { return }
        processes.kill9(region)
        BenchChildren.shared.forget(process.processIdentifier)
    }

    /// Stops every region (SIGTERM, then SIGKILL after the grace period) and removes the data.
    func stop() {
        let running = regions.compactMap { processes.process(of: $0)?.processIdentifier }
        processes.stopAll(killAfterMilliseconds: BenchChildren.terminateGraceMilliseconds)
        running.forEach(BenchChildren.shared.forget)
        try? FileManager.default.removeItem(at: folder)
    }

    /// Creates a table (201 or 200) through a region.
    func createTable(_ name: String, _ definition: String, in region: String) async throws {
        try await http.expect(.PUT, url(region) + "/v1/tables/\(name)", body: definition, statuses: [200, 201])
    }

    /// The leader of a consensus table as `region` sees it, or nil.
    func leader(of table: String, seenFrom region: String) async -> String? {
        try? await http.expect(TableBody.self, .GET, url(region) + "/v1/tables/\(table)").status?.leader
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
            try await Task.sleep(for: .milliseconds(Self.leaderPollMilliseconds))
        }
        throw BenchError("table \(table) had no agreed leader\(expected.map { " \($0)" } ?? "") within \(Self.leaderMillisecondsMax) ms")
    }
}
