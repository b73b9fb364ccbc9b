import ArgumentParser
import Foundation
import MeridianCore
import MeridianStorage
import MeridianSimulation

/// `meridian sim`: runs the deterministic cluster simulator for one seed or a range of seeds.
struct Sim: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run whole simulated clusters, each in one thread from one seed, with faults, and check their properties.",
        discussion: """
            Each seed drives one run: three regions over simulated storage and network, clients writing to a few keys of \
            lww, merge, siblings and resident tables and of a strong and a primary table (Raft: strong reads, \
            compare-and-set, redirects to the leader), faults (partitions, one-way cuts, isolation, lossy links, \
            duplication and reordering, crashes, power loss, clock jumps and excursions), then healing and the checks \
            (convergence, acknowledged writes survive, vectors grow, timestamps increase, residency, one Raft leader per \
            term, committed entries never change, linearizability of the Raft tables). A failure prints the seed, the \
            step, the property and the last events; the same command replays it exactly. See docs/simulation.md.
            """)

    /// The most seeds one invocation runs.
    static let seedsMax: UInt64 = 1_000_000

    @Option(help: "The seed of one run.") var seed: UInt64?
    @Option(help: "A range of seeds, such as 1..200 (inclusive).") var seeds: String?
    @Option(help: "Events in the writing phase of each run.") var steps: Int = SimulationConfiguration.stepsDefault
    @Option(help: "A planted bug, to check the checkers: \(Mutation.allCases.map(\.rawValue).joined(separator: ", ")).") var mutation: String?
    @Option(help: "The fault profile: \(FaultProfile.all.map(\.name).joined(separator: ", ")).") var faults: String = FaultProfile.standard.name
    @Option(help: "The simulated storage's sync policy: full or normal (normal loses unsynced commits on power loss).") var sync: String = SyncPolicy.full.rawValue
    @Option(help: "Regions, comma-separated, from the latency matrix (at least three).") var regions: String?
    @Option(help: "Trace lines printed with a failure.") var traceLines: Int = 40
    @Flag(help: "Print every trace line of each run (for comparing two runs of a seed).") var trace = false

    func validate() throws {
        guard (seed == nil) != (seeds == nil) else { throw ValidationError("give exactly one of --seed N or --seeds A..B") }
        if seeds != nil { _ = try seedRange() }
        guard (1...SimulationConfiguration.stepsMax).contains(steps) else { throw ValidationError("--steps must be 1 to \(SimulationConfiguration.stepsMax)") }
        if let mutation, Mutation(rawValue: mutation) == nil {
            throw ValidationError("unknown mutation '\(mutation)'; available: \(Mutation.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard FaultProfile.all.contains(where: { $0.name == faults }) else {
            throw ValidationError("unknown fault profile '\(faults)'; available: \(FaultProfile.all.map(\.name).joined(separator: ", "))")
        }
        guard SyncPolicy(rawValue: sync) != nil else { throw ValidationError("--sync must be full or normal") }
        guard (0...10_000).contains(traceLines) else { throw ValidationError("--trace-lines must be 0 to 10000") }
        _ = try regionList()
    }

    func run() throws {
        let range = try seed.map { $0...$0 } ?? seedRange()
        var failed: [UInt64] = []
        var totalSteps = 0
        var simulatedMilliseconds: UInt64 = 0
        var faultsInjected: [FaultKind: Int] = [:]
        var writesAcknowledged = 0
        var conflictsRecorded = 0
        let clock = ContinuousClock()
        let started = clock.now
        for current in range {
            let report = Simulator(configuration: try configuration(seed: current)).run()
            totalSteps += report.steps
            simulatedMilliseconds += report.simulatedMilliseconds
            faultsInjected.merge(report.faultsInjected, uniquingKeysWith: +)
            writesAcknowledged += report.counters.writesAcknowledged
            conflictsRecorded += report.counters.conflictsRecorded
            if trace { report.trace.forEach { print($0) } }
            print(report.summary)
            if report.failure != nil {
                failed.append(current)
                print(report.failureDescription)
                print("replay: \(replayCommand(seed: current))")
            }
        }
        let wall = clock.now - started
        let wallSeconds = Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18
        let simulatedSeconds = Double(simulatedMilliseconds) / 1000
        print(String(format: "%d seed(s), %d failed; %d steps, %.1f s simulated in %.2f s wall: %.0fx real time, %.0f steps/s",
                     range.count, failed.count, totalSteps, simulatedSeconds, wallSeconds,
                     wallSeconds > 0 ? simulatedSeconds / wallSeconds : 0, wallSeconds > 0 ? Double(totalSteps) / wallSeconds : 0))
        let faults = FaultKind.allCases.map { "\($0) \(faultsInjected[$0] ?? 0)" }.joined(separator: ", ")
        print("in total: writes acknowledged \(writesAcknowledged), conflicts recorded \(conflictsRecorded); faults injected \(faultsInjected.values.reduce(0, +)): \(faults)")
        if !failed.isEmpty {
            print("failing seeds: \(failed.map(String.init).joined(separator: ", "))")
            throw ExitCode(1)
        }
    }

    func configuration(seed: UInt64) throws -> SimulationConfiguration {
        var configuration = SimulationConfiguration(
            seed: seed, steps: steps, regions: try regionList(),
            faults: FaultProfile.all.first { $0.name == faults } ?? .standard,
            syncPolicy: SyncPolicy(rawValue: sync) ?? .full,
            mutation: mutation.flatMap(Mutation.init(rawValue:)))
        configuration.traceTailLines = traceLines
        configuration.recordsFullTrace = trace
        return configuration
    }

    /// `--seeds A..B` as a closed range.
    func seedRange() throws -> ClosedRange<UInt64> {
        let parts = (seeds ?? "").components(separatedBy: "..")
        guard parts.count == 2, let low = UInt64(parts[0]), let high = UInt64(parts[1]), low <= high else {
            throw ValidationError("--seeds must look like A..B with A <= B, such as 1..200")
        }
        guard high - low < Self.seedsMax else { throw ValidationError("--seeds names more than \(Self.seedsMax) seeds") }
        return low...high
    }

    func regionList() throws -> [RegionID] {
        guard let regions else { return SimulationConfiguration.regionsDefault }
        let list = try regions.split(separator: ",").map { try RegionID(String($0)) }
        guard list.count >= 3, Set(list).count == list.count else { throw ValidationError("--regions needs at least three distinct regions") }
        return list
    }

    /// The command that replays one seed exactly.
    func replayCommand(seed: UInt64) -> String {
        var arguments = ["meridian", "sim", "--seed", String(seed), "--steps", String(steps)]
        if faults != FaultProfile.standard.name { arguments += ["--faults", faults] }
        if sync != SyncPolicy.full.rawValue { arguments += ["--sync", sync] }
        if let regions { arguments += ["--regions", regions] }
        if let mutation { arguments += ["--mutation", mutation] }
        return arguments.joined(separator: " ")
    }
}
