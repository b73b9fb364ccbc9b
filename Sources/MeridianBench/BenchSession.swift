import Foundation
import MeridianLocalCluster

/// The measured windows and sizes of one run.
public struct BenchSettings: Sendable, Equatable {
    /// Short windows and two failover trials (`--quick`).
    public var quick: Bool
    /// The unrecorded warm-up of each load phase, in seconds.
    public var warmUpSeconds: Double
    /// The measured window of each load phase, in seconds.
    public var measureSeconds: Double
    /// The client counts of local-writes.
    public var clientCounts: [Int]
    /// Bytes of each value's string payload.
    public var valueBytes: Int
    /// Failover trials.
    public var trials: Int

    /// A JSON value of `valueBytes` bytes of payload: `{"payload": "xxx..."}`.
    var payload: String { #"{"payload": "\#(String(repeating: "x", count: valueBytes))"}"# }
}

/// One benchmark run: the shared HTTP client, the clusters (started when first needed)
/// and every closing ratio line printed so far.
final class BenchSession: @unchecked Sendable {
    /// The regions of both clusters: the default geography.
    static let regions = Geography.defaultRegions
    /// The most connections the HTTP client opens to one host.
    static let connectionsMax = LoadGenerator.clientsMax

    let settings: BenchSettings
    /// The `meridian` executable the clusters run.
    let meridian: URL
    let http = BenchHTTP(connectionsMax: BenchSession.connectionsMax)
    private(set) var ratioLines: [String] = []
    private var latencyCluster: BenchCluster?
    private var noLatencyCluster: BenchCluster?

    init(settings: BenchSettings, meridian: URL) {
        self.settings = settings
        self.meridian = meridian
    }

    /// The three-region cluster with the default latency matrix.
    func withLatency() async throws -> BenchCluster {
        if let latencyCluster { return latencyCluster }
        let cluster = try await BenchCluster.start(regions: Self.regions, latency: true, meridian: meridian, http: http)
        latencyCluster = cluster
        return cluster
    }

    /// The three-region cluster with latency off.
    func withoutLatency() async throws -> BenchCluster {
        if let noLatencyCluster { return noLatencyCluster }
        let cluster = try await BenchCluster.start(regions: Self.regions, latency: false, meridian: meridian, http: http)
        noLatencyCluster = cluster
        return cluster
    }

    /// Prints a scenario's closing line and keeps it for the summary.
    func ratios(_ scenario: String, _ parts: [String]) {
        let line = "ratios \(scenario): " + parts.joined(separator: "; ")
        print(line)
        ratioLines.append(line)
    }

    /// A load phase with this run's warm-up and window.
    func load(_ label: String, clients: Int, _ operation: @escaping @Sendable (Int, Int) async throws -> Void) async throws -> LoadResult {
        try await LoadGenerator(label: label, clients: clients, warmUpSeconds: settings.warmUpSeconds, measureSeconds: settings.measureSeconds).run(operation)
    }

    /// Stops both clusters and the HTTP client.
    func stop() async {
        latencyCluster?.stop()
        noLatencyCluster?.stop()
        latencyCluster = nil
        noLatencyCluster = nil
        await http.shutdown()
    }
}
