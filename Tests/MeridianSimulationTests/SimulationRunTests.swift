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

    @Test(arguments: 1...3 as ClosedRange<UInt64>)
    func aHealthyNetworkConvergesWithoutFaultsOrLoss(seed: UInt64) {
        let report = Self.run(seed: seed, faults: .none)
        #expect(report.failure == nil, "\(report.failureDescription)")
        #expect(report.faultsTotal == 0)
        #expect(report.counters.messagesLost == 0)
        #expect(report.counters.messagesDuplicated == 0)
        #expect(report.counters.writesAcknowledged > 100)
        #expect(report.counters.conflictsRecorded > 0, "eight keys written from three regions conflict")
    }

    @Test(arguments: 1...20 as ClosedRange<UInt64>)
    func standardFaultsKeepEveryProperty(seed: UInt64) {
        let report = Self.run(seed: seed)
        #expect(report.failure == nil, "\(report.failureDescription)")
        #expect(report.faultsTotal > 0)
    }

    @Test(arguments: 1...6 as ClosedRange<UInt64>)
    func heavyFaultsKeepEveryProperty(seed: UInt64) {
        let report = Self.run(seed: seed, faults: .heavy)
        #expect(report.failure == nil, "\(report.failureDescription)")
        #expect(report.faultsTotal >= 10)
    }

    @Test func everyFaultKindIsInjectedAcrossTheSeedRange() {
        var injected: [FaultKind: Int] = [:]
        for seed in 1...10 as ClosedRange<UInt64> {
            injected.merge(Self.run(seed: seed).faultsInjected, uniquingKeysWith: +)
        }
        for kind in FaultKind.allCases {
            #expect((injected[kind] ?? 0) > 0, "no \(kind) fault in seeds 1...10")
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
    static let expectedProperty: [Mutation: Property] = [.skipLedger: .acknowledgedWritesSurvive, .dropRelay: .convergence]

    @Test(arguments: Mutation.allCases)
    func everyMutationIsCaughtWithinSeedsOneToTwenty(mutation: Mutation) throws {
        var caught: SimulationReport?
        for seed in 1...20 as ClosedRange<UInt64> {
            let report = Self.run(seed: seed, mutation: mutation)
            if report.failure != nil {
                caught = report
                break
            }
        }
        let report = try #require(caught, "\(mutation) survived seeds 1...20")
        #expect(report.failure?.violation.property == Self.expectedProperty[mutation])
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
