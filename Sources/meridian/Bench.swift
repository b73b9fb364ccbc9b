import ArgumentParser
import Foundation
import MeridianLocalCluster

/// `meridian bench`: starts its own clusters on loopback, measures them under load and
/// prints, per scenario, a table and a closing line of ratios. Optionally measures etcd
/// and PostgreSQL on the same machine in the same run.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure Meridian (and optionally etcd or PostgreSQL) on this machine.",
        discussion: """
            Starts its own `meridian serve` processes (this executable) in a temporary folder: one three-region cluster \
            with the default latency matrix and one with latency off; stops them at the end, on error and on Ctrl-C. \
            Scenarios: local-writes, replication-lag, strong-writes, failover, alex (default: all). Every figure names \
            its unit; every scenario ends with a line of ratios. --against etcd adds etcd 3.4 (etcd-server) to \
            strong-writes; --against postgres adds PostgreSQL 15 to replication-lag and failover. docs/benchmarks.md \
            explains each scenario.
            """)

    /// Every scenario, in the order they run.
    static let scenarios = ["local-writes", "replication-lag", "strong-writes", "failover", "alex"]
    /// The peers `--against` accepts.
    static let peers = ["etcd", "postgres"]
    /// The longest measured window of one phase, in seconds.
    static let durationSecondsMax = 3600
    /// The most failover trials.
    static let trialsMax = 50
    /// The largest payload, in bytes.
    static let valueBytesMax = 1 << 20

    /// This executable, which the benchmark starts as `meridian serve`.
    static var executablePath: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? Bundle.main.executablePath ?? CommandLine.arguments[0]
    }

    @Option(help: "Comma-separated scenarios, or 'all': \(Bench.scenarios.joined(separator: ", ")).")
    var scenario: String = "all"
    @Option(help: "Measure a peer too: etcd (strong-writes) or postgres (replication-lag, failover).")
    var against: String?
    @Flag(help: "Short windows and two failover trials: every scenario in well under five minutes.")
    var quick = false
    @Option(help: "The measured window of each load phase, in seconds (default 10, or 2 with --quick).")
    var duration: Int?
    @Option(help: "Failover trials (default 5, or 2 with --quick).")
    var trials: Int?
    @Option(help: "Comma-separated client counts for local-writes.")
    var clients: String = "1,16,64"
    @Option(help: "Bytes of each value's string payload (Meridian, etcd and PostgreSQL alike).")
    var valueBytes: Int = 100

    func validate() throws {
        _ = try selectedScenarios()
        if let against, !Self.peers.contains(against) {
            throw ValidationError("unknown --against '\(against)'; available: \(Self.peers.joined(separator: ", "))")
        }
        if let duration, !(1...Self.durationSecondsMax).contains(duration) {
            throw ValidationError("--duration must be 1 to \(Self.durationSecondsMax) seconds")
        }
        if let trials, !(1...Self.trialsMax).contains(trials) { throw ValidationError("--trials must be 1 to \(Self.trialsMax)") }
        _ = try clientCounts()
        guard (1...Self.valueBytesMax).contains(valueBytes) else { throw ValidationError("--value-bytes must be 1 to \(Self.valueBytesMax)") }
    }

    /// The scenarios `--scenario` names, in run order.
    func selectedScenarios() throws -> [String] {
        if scenario == "all" { return Self.scenarios }
        let named = scenario.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        for name in named where !Self.scenarios.contains(name) {
            throw ValidationError("unknown scenario '\(name)'; available: \(Self.scenarios.joined(separator: ", ")), all")
        }
        guard !named.isEmpty else { throw ValidationError("--scenario names no scenario") }
        return Self.scenarios.filter { named.contains($0) }
    }

    /// The client counts of `--clients`.
    func clientCounts() throws -> [Int] {
        let counts = clients.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !counts.isEmpty, counts.allSatisfy({ $0 != nil && (1...LoadGenerator.clientsMax).contains($0!) }) else {
            throw ValidationError("--clients must be comma-separated counts from 1 to \(LoadGenerator.clientsMax)")
        }
        return counts.compactMap { $0 }
    }

    func run() async throws {
        let settings = BenchSettings(
            quick: quick,
            warmUpSeconds: quick ? 0.5 : 2,
            measureSeconds: Double(duration ?? (quick ? 2 : 10)),
            clientCounts: try clientCounts(),
            valueBytes: valueBytes,
            trials: trials ?? (quick ? 2 : 5))
        // A peer that closes a pipe or socket must give an error, not end the benchmark.
        signal(SIGPIPE, SIG_IGN)
        let signalSources = BenchChildren.shared.stopOnSignals()
        defer { signalSources.forEach { $0.cancel() } }
        let session = BenchSession(settings: settings)
        let started = ContinuousClock.now
        print("meridian bench: scenarios \(try selectedScenarios().joined(separator: ", "))\(against.map { ", against \($0)" } ?? "")\(quick ? ", quick" : "")")
        print(String(format: "warm-up %.1f s and measured window %.1f s per phase; %d-byte payloads; %d failover trials; %d cores",
                     settings.warmUpSeconds, settings.measureSeconds, valueBytes, settings.trials, ProcessInfo.processInfo.activeProcessorCount))
        do {
            for name in try selectedScenarios() {
                print("")
                switch name {
                case "local-writes": try await session.localWrites()
                case "replication-lag": try await session.replicationLag(againstPostgres: against == "postgres")
                case "strong-writes": try await session.strongWrites(againstEtcd: against == "etcd")
                case "failover": try await session.failover(againstPostgres: against == "postgres")
                case "alex": try await session.alex()
                default: preconditionFailure("validate() admits only known scenarios, got \(name)")
                }
            }
        } catch {
            await session.stop()
            BenchChildren.shared.stopAll()
            throw error
        }
        await session.stop()
        BenchChildren.shared.stopAll()
        print("")
        print("every ratio of this run:")
        for line in session.ratioLines { print("  " + line) }
        print(String(format: "meridian bench: done in %.1f s", (ContinuousClock.now - started).seconds))
    }
}

/// The measured windows and sizes of one run.
struct BenchSettings: Sendable {
    var quick: Bool
    var warmUpSeconds: Double
    var measureSeconds: Double
    var clientCounts: [Int]
    var valueBytes: Int
    var trials: Int

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
    let http = BenchHTTP(connectionsMax: BenchSession.connectionsMax)
    private(set) var ratioLines: [String] = []
    private var latencyCluster: BenchCluster?
    private var noLatencyCluster: BenchCluster?

    init(settings: BenchSettings) { self.settings = settings }

    /// The three-region cluster with the default latency matrix.
    func withLatency() async throws -> BenchCluster {
        if let latencyCluster { return latencyCluster }
        let cluster = try await BenchCluster.start(regions: Self.regions, latency: true, http: http)
        latencyCluster = cluster
        return cluster
    }

    /// The three-region cluster with latency off.
    func withoutLatency() async throws -> BenchCluster {
        if let noLatencyCluster { return noLatencyCluster }
        let cluster = try await BenchCluster.start(regions: Self.regions, latency: false, http: http)
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
