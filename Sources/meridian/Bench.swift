import ArgumentParser
import Foundation
import MeridianBench

/// `meridian bench`: the options of a `BenchPlan`, which MeridianBench runs.
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

    @Option(help: "Comma-separated scenarios, or 'all': \(BenchPlan.scenarios.joined(separator: ", ")).")
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

    /// The plan these options describe.
    func plan() throws -> BenchPlan {
        do {
            return try BenchPlan(scenario: scenario, against: against, quick: quick, durationSeconds: duration, trials: trials,
                                 clients: clients, valueBytes: valueBytes)
        } catch {
            throw ValidationError(error.description)
        }
    }

    func validate() throws {
        _ = try plan()
    }

    func run() async throws {
        try await plan().run(meridian: Meridian.executable)
    }
}
