import MeridianCore
@testable import MeridianSimulation
import Testing

/// Whole simulated runs: healthy and faulty worlds pass, runs replay exactly, mutations are caught.
struct SimulationRunTests {
    static func run(seed: UInt64, faults: FaultProfile = .standard, mutation: Mutation? = nil, recordsFullTrace: Bool = false) -> SimulationReport {
        var configuration = SimulationConfiguration(seed: seed, faults: faults, mutation: mutation)
        configuration.recordsFullTrace = recordsFullTrace
        return Simulator(configuration: configuration).run()
    }

    /// Expects a run to keep every property.
    static func expectPasses(_ report: SimulationReport, sourceLocation: SourceLocation = #_sourceLocation) {
        recordFailure(of: report, sourceLocation: sourceLocation)
    }

    /// Records a run's violation as an issue naming the property, the evidence and the replay command.
    static func recordFailure(of report: SimulationReport, sourceLocation: SourceLocation = #_sourceLocation) {
        guard let failure = report.failure else { return }
        Issue.record(Comment(rawValue: "seed \(report.configuration.seed) failed at step \(failure.step): \(failure.violation); replay: meridian sim --seed \(report.configuration.seed) --faults \(report.configuration.faults.name)"),
                     sourceLocation: sourceLocation)
    }

    @Test(arguments: 1...3 as ClosedRange<UInt64>)
    func aHealthyNetworkConvergesWithoutFaultsOrLoss(seed: UInt64) {
        let report = Self.run(seed: seed, faults: .none)
        Self.recordFailure(of: report)
        #expect(report.faultsTotal == 0)
        #expect(report.counters.messagesLost == 0)
        #expect(report.counters.messagesDuplicated == 0)
        #expect(report.counters.writesAcknowledged > 100)
        #expect(report.counters.conflictsRecorded > 0, "eight keys written from three regions conflict")
    }

    @Test(arguments: 1...20 as ClosedRange<UInt64>)
    func standardFaultsKeepEveryProperty(seed: UInt64) {
        let report = Self.run(seed: seed)
        Self.expectPasses(report)
        #expect(report.faultsTotal > 0)
    }

    @Test(arguments: 1...6 as ClosedRange<UInt64>)
    func heavyFaultsKeepEveryProperty(seed: UInt64) {
        let report = Self.run(seed: seed, faults: .heavy)
        Self.expectPasses(report)
        #expect(report.faultsTotal >= 10)
    }

    @Test func aRegionOutsideATablesListCatchesPeersUpOnItsOwnLog() throws {
        // Seed 2 once stalled: ap-south, outside a table's list, truncated its own log past
        // what its peers had applied and refused them a snapshot. It now sends a snapshot
        // that vouches only for its own log.
        let report = Self.run(seed: 2)
        Self.recordFailure(of: report)
        #expect(report.failure == nil)
    }

    @Test func aPowerLossUnderNormalSyncForgetsEntriesTheRegionHadShipped() {
        // Under `SyncPolicy.normal` a region ships entries a power loss can still take back,
        // and then reuses their sequences. `meridian serve` refuses
        // `--sync normal` in a cluster of several regions for that reason; the region logic
        // itself is not fixed yet (see docs/durability.md), hence the known issue. Which seeds
        // reproduce it moves with the workload and the election timing (seed 4, then 2, now
        // 8, 9, 10, 14 and 19 of 1...20), so the test looks for the first one.
        var reproduced: SimulationReport?
        for seed in 1...20 as ClosedRange<UInt64> {
            var configuration = SimulationConfiguration(seed: seed, syncPolicy: .normal)
            configuration.traceTailLines = 0
            let report = Simulator(configuration: configuration).run()
            if report.failure?.violation.property == .originLogsImmutable {
                reproduced = report
                break
            }
        }
        let shown = reproduced.map { "seed \($0.configuration.seed): \($0.failure?.violation.detail ?? "")" }
        withKnownIssue("a region ships entries that sync=normal does not make durable") {
            #expect(shown == nil)
        }
    }

    @Test func everyFaultKindIsInjectedAcrossTheSeedRange() {
        var injected: [FaultKind: Int] = [:]
        for seed in 1...20 as ClosedRange<UInt64> {
            injected.merge(Self.run(seed: seed).faultsInjected, uniquingKeysWith: +)
        }
        for kind in FaultKind.allCases {
            #expect((injected[kind] ?? 0) > 0, "no \(kind) fault in seeds 1...20")
        }
    }

    @Test func oneSeedReplaysByteForByte() {
        let first = Self.run(seed: 11, recordsFullTrace: true)
        let second = Self.run(seed: 11, recordsFullTrace: true)
        #expect(first.trace.count > 1000)
        #expect(first.trace == second.trace)
        #expect(first.traceHash == second.traceHash)
        #expect(first.stateHash == second.stateHash)
        #expect(first.summary == second.summary)
    }

    @Test func differentSeedsMakeDifferentRuns() {
        let first = Self.run(seed: 11, recordsFullTrace: true)
        let second = Self.run(seed: 12, recordsFullTrace: true)
        #expect(first.trace != second.trace)
        #expect(first.traceHash != second.traceHash)
        #expect(first.stateHash != second.stateHash)
    }

    /// The property each mutation must break.
    /// `ignore-log-recency` shows either way: an entry committed and then replaced, or a
    /// leader without the committed entries that can never bring its followers to its log
    /// (the group does not converge); see docs/simulation.md.
    static let expectedProperties: [Mutation: Set<Property>] = [
        .skipLedger: [.acknowledgedWritesSurvive], .dropRelay: [.convergence], .leakResidency: [.residency],
        .voteTwice: [.oneLeaderPerTerm], .commitEarly: [.committedEntriesImmutable], .staleRead: [.linearizability],
        .ignoreLogRecency: [.committedEntriesImmutable, .convergence], .ignoreSessionToken: [.readYourWrites, .monotonicReads],
    ]

    /// Where each mutation is caught: the fault profile and the seeds (`.ci/run` uses the same).
    /// A stale read needs a leader to lose its quorum while a write and a read of one key
    /// meet, and a leader with a stale log to be elected needs overlapping faults: heavy.
    static let catchingRuns: [Mutation: (faults: FaultProfile, seeds: ClosedRange<UInt64>)] = [
        .skipLedger: (.standard, 1...5), .dropRelay: (.standard, 1...5), .leakResidency: (.standard, 1...5),
        .voteTwice: (.standard, 1...10), .commitEarly: (.standard, 1...10), .staleRead: (.heavy, 1...20),
        .ignoreLogRecency: (.heavy, 1...5), .ignoreSessionToken: (.standard, 1...5),
    ]

    @Test(arguments: Mutation.allCases)
    func everyMutationIsCaughtWithinItsSeedRange(mutation: Mutation) throws {
        // Caught: the mutated run fails where the same seed without the mutation passes.
        let (faults, seeds) = try #require(Self.catchingRuns[mutation])
        var caught: SimulationReport?
        for seed in seeds {
            let report = Self.run(seed: seed, faults: faults, mutation: mutation)
            if report.failure != nil && Self.run(seed: seed, faults: faults).failure == nil {
                caught = report
                break
            }
        }
        let report = try #require(caught, "\(mutation) survived seeds \(seeds) with \(faults.name) faults")
        let property = try #require(report.failure?.violation.property)
        #expect(Self.expectedProperties[mutation]?.contains(property) == true, "\(mutation) broke \(property)")
    }

    @Test func sessionsMoveBetweenRegionsAndReadTheirWritesWhereverTheyAreServed() {
        let report = Self.run(seed: 7)
        Self.expectPasses(report)
        #expect(report.counters.sessionReadsServed > 20)
        #expect(report.counters.boundedReadsServed > 0)
    }

    @Test func theConsensusTablesTakeWritesReadsAndRedirectsAndStayLinearizable() {
        let report = Self.run(seed: 7, recordsFullTrace: true)
        Self.expectPasses(report)
        #expect(report.counters.consensusWritesAcknowledged > 20)
        #expect(report.counters.strongReadsServed > 20)
        #expect(report.counters.consensusRedirects > 0, "clients outside the leader's region are redirected to it")
        #expect(report.trace.contains { $0.contains("linearizability:") && $0.contains("explained") }, "the history was checked")
        #expect(report.trace.contains { $0.contains("create table primary (primary) -> created") })
    }

    @Test func aFailureNamesItsSeedStepPropertyAndLastEvents() throws {
        let report = Self.run(seed: 3, mutation: .skipLedger)
        let failure = try #require(report.failure)
        #expect(failure.step > 0 && failure.step <= report.steps)
        #expect(failure.trace.count == 40)
        #expect(failure.trace.last?.contains("VIOLATION acknowledged-writes-survive") == true)
        let text = report.failureDescription
        #expect(text.contains("seed 3 FAILED at step \(failure.step)"))
        #expect(text.contains("property: acknowledged-writes-survive"))
        #expect(report.summary.hasPrefix("seed 3: FAILED (acknowledged-writes-survive)"))
    }

    @Test func aFailingSeedFailsAgainAtTheSameStep() throws {
        let first = try #require(Self.run(seed: 5, mutation: .dropRelay).failure)
        let second = try #require(Self.run(seed: 5, mutation: .dropRelay).failure)
        #expect(first == second)
    }
}
