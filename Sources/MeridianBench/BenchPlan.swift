// MeridianBench owns `meridian bench`: the clusters it starts for itself (through
// MeridianLocalCluster), etcd and PostgreSQL next to them, the closed-loop load generator,
// the HDR histograms, each scenario and the ratios it prints. docs/benchmarks.md says what
// each scenario measures and why.
//
// It measures and reports; it asserts nothing about speed, and it signals only the
// processes it started. The command line only parses options into a `BenchPlan`.

import Foundation

/// What one `meridian bench` run measures: its scenarios in run order, the peer it is
/// compared with, and its windows and sizes.
///
/// ```swift
/// let plan = try BenchPlan(scenario: "local-writes", against: nil, quick: true, durationSeconds: nil, trials: nil, clients: "1,16", valueBytes: 100)
/// try await plan.run(meridian: URL(fileURLWithPath: "/usr/local/bin/meridian"))
/// ```
public struct BenchPlan: Sendable, Equatable {
    /// Every scenario, in the order they run.
    public static let scenarios = ["local-writes", "replication-lag", "strong-writes", "failover", "alex"]
    /// The peers `against` accepts.
    public static let peers = ["etcd", "postgres"]
    /// The longest measured window of one phase, in seconds.
    public static let durationSecondsMax = 3600
    /// The most failover trials.
    public static let trialsMax = 50
    /// The largest payload, in bytes.
    public static let valueBytesMax = 1 << 20

    /// The scenarios to run, in run order.
    public var scenarios: [String]
    /// The system measured next to Meridian, if any: `etcd` or `postgres`.
    public var peer: String?
    public var settings: BenchSettings

    /// A plan from the command line's values; the defaults depend on `quick`.
    ///
    /// - Parameters:
    ///   - scenario: comma-separated scenario names, or `all`.
    ///   - clients: comma-separated client counts for local-writes.
    /// - Throws: `BenchError` naming the option that is out of range or unknown.
    public init(scenario: String, against: String?, quick: Bool, durationSeconds: Int?, trials: Int?, clients: String, valueBytes: Int) throws(BenchError) {
        scenarios = try Self.scenarios(named: scenario)
        if let against, !Self.peers.contains(against) {
            throw BenchError("unknown --against '\(against)'; available: \(Self.peers.joined(separator: ", "))")
        }
        peer = against
        if let durationSeconds, !(1...Self.durationSecondsMax).contains(durationSeconds) {
            throw BenchError("--duration must be 1 to \(Self.durationSecondsMax) seconds")
        }
        if let trials, !(1...Self.trialsMax).contains(trials) { throw BenchError("--trials must be 1 to \(Self.trialsMax)") }
        guard (1...Self.valueBytesMax).contains(valueBytes) else { throw BenchError("--value-bytes must be 1 to \(Self.valueBytesMax)") }
        settings = BenchSettings(quick: quick, warmUpSeconds: quick ? 0.5 : 2, measureSeconds: Double(durationSeconds ?? (quick ? 2 : 10)),
                                 clientCounts: try Self.clientCounts(clients), valueBytes: valueBytes, trials: trials ?? (quick ? 2 : 5))
    }

    /// The scenarios a comma-separated list names, in run order.
    static func scenarios(named list: String) throws(BenchError) -> [String] {
        if list == "all" { return scenarios }
        let named = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        for name in named where !scenarios.contains(name) {
            throw BenchError("unknown scenario '\(name)'; available: \(scenarios.joined(separator: ", ")), all")
        }
        guard !named.isEmpty else { throw BenchError("--scenario names no scenario") }
        return scenarios.filter { named.contains($0) }
    }

    /// The client counts of a comma-separated list.
    static func clientCounts(_ list: String) throws(BenchError) -> [Int] {
        let counts = list.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !counts.isEmpty, counts.allSatisfy({ $0 != nil && (1...LoadGenerator.clientsMax).contains($0!) }) else {
            throw BenchError("--clients must be comma-separated counts from 1 to \(LoadGenerator.clientsMax)")
        }
        return counts.compactMap { $0 }
    }

    /// Runs the plan: starts the clusters from the `meridian` executable at `meridian`,
    /// prints each scenario's table and ratios, then every ratio of the run; stops every
    /// process it started at the end, on an error and on SIGINT or SIGTERM.
    public func run(meridian: URL) async throws {
        // A peer that closes a pipe or socket must give an error, not end the benchmark.
        signal(SIGPIPE, SIG_IGN)
        let signalSources = BenchChildren.shared.stopOnSignals()
        defer { signalSources.forEach { $0.cancel() } }
        let session = BenchSession(settings: settings, meridian: meridian)
        let started = ContinuousClock.now
        print("meridian bench: scenarios \(scenarios.joined(separator: ", "))\(peer.map { ", against \($0)" } ?? "")\(settings.quick ? ", quick" : "")")
        print(String(format: "warm-up %.1f s and measured window %.1f s per phase; %d-byte payloads; %d failover trials; %d cores",
                     settings.warmUpSeconds, settings.measureSeconds, settings.valueBytes, settings.trials, ProcessInfo.processInfo.activeProcessorCount))
        do {
            for name in scenarios {
                print("")
                switch name {
                case "local-writes": try await session.localWrites()
                case "replication-lag": try await session.replicationLag(againstPostgres: peer == "postgres")
                case "strong-writes": try await session.strongWrites(againstEtcd: peer == "etcd")
                case "failover": try await session.failover(againstPostgres: peer == "postgres")
                case "alex": try await session.alex()
                default: preconditionFailure("a plan holds only known scenarios, got \(name)")
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
