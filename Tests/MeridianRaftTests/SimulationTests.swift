@_spi(Simulation) import MeridianRaft
import Testing

/// The randomized runs: every seed replays exactly, and a failure prints it.
@Suite("Raft randomized simulation")
struct SimulationTests {
    static let seedCount: UInt64 = 200
    static let steps = 2000

    /// Seeds for the runs without check-quorum, which matter less to production (it runs
    /// with check-quorum) but show that the safe ReadIndex does not lean on it.
    static let seedCountWithoutCheckQuorum: UInt64 = 40

    @Test(arguments: [(3, true), (5, true), (3, false), (5, false)])
    func safetyHoldsUnderLossReorderingPartitionsAndRestarts(voters: Int, checkQuorum: Bool) {
        var totals = ClusterSimulation.Statistics()
        var committed = 0
        var terms = 0
        let seedCount = checkQuorum ? Self.seedCount : Self.seedCountWithoutCheckQuorum
        for seed in 0..<seedCount {
            var simulation = ClusterSimulation(seed: seed, voters: voters, checkQuorum: checkQuorum)
            let violation = simulation.run(steps: Self.steps)
            #expect(violation == nil, "\(violation.map(String.init(describing:)) ?? "")")
            if violation != nil { return }
            committed += simulation.committed.count
            terms += simulation.leaderOfTerm.count
            totals.snapshotsSent += simulation.statistics.snapshotsSent
            totals.readsAnswered += simulation.statistics.readsAnswered
            totals.restarts += simulation.statistics.restarts
            totals.timeoutNowsSent += simulation.statistics.timeoutNowsSent
        }
        print("\(voters) voters, checkQuorum \(checkQuorum), \(seedCount) seeds: committed=\(committed) leaderTerms=\(terms) \(totals)")
        // The runs must exercise what they claim to check, not pass vacuously.
        #expect(committed > 20 * Int(seedCount))
        #expect(terms > 3 * Int(seedCount) / 2)
        #expect(totals.snapshotsSent > 0 && totals.readsAnswered > 0 && totals.restarts > 0 && totals.timeoutNowsSent > 0)
    }

    /// Lease reads: no read may miss a write committed before it began, as long as the
    /// voters' clock rates agree to within 5%.
    @Test(arguments: [3, 5])
    func leaseReadsStayLinearizableWhileClockRatesAgree(voters: Int) {
        var reads = 0
        for seed in 0..<Self.seedCount {
            var simulation = ClusterSimulation(seed: seed, voters: voters, leaseReads: true)
            let violation = simulation.run(steps: Self.steps)
            #expect(violation == nil, "\(violation.map(String.init(describing:)) ?? "")")
            if violation != nil { return }
            reads += simulation.statistics.readsAnswered
        }
        #expect(reads > Int(Self.seedCount), "the runs answered \(reads) lease reads")
    }

    /// Runs seeds with `fault` planted, making only `checks`, until one reports a violation.
    static func firstViolation(
        with fault: RaftFault?, checks: Set<ClusterSimulation.Check>, checkQuorum: Bool = true,
        where matches: @escaping (ClusterSimulation.Violation) -> Bool = { _ in true }
    ) -> ClusterSimulation.Violation? {
        for seed in 0..<seedCount {
            for voters in [3, 5] {
                var simulation = ClusterSimulation(seed: seed, voters: voters, checkQuorum: checkQuorum, fault: fault)
                simulation.checks = checks
                simulation.counts = matches
                if let violation = simulation.run(steps: steps) { return violation }
            }
        }
        return nil
    }

    /// Each planted fault must be caught by the check named here alone, and that check must
    /// pass the same seeds without the fault.
    @Test(arguments: [
        (RaftFault.voteTwice, ClusterSimulation.Check.oneLeaderPerTerm),
        (.voteTwice, .voteKeptWithinTerm),
        (.commitEarly, .committedEntriesAgree),
        (.commitEarly, .appliedEntriesAgree),
        (.ignoreLogRecency, .committedEntriesAgree),
        (.skipReadConfirmation, .readsSeeEarlierCommits),
    ])
    func plantedFaultIsCaught(fault: RaftFault, check: ClusterSimulation.Check) {
        let violation = Self.firstViolation(with: fault, checks: [check])
        print("\(fault): \(violation.map(String.init(describing:)) ?? "not caught")")
        #expect(violation?.check == check, "\(fault) went unnoticed by \(check) in \(Self.seedCount) seeds")
        if let violation {
            var clean = ClusterSimulation(seed: violation.seed, voters: violation.voters, fault: nil)
            clean.checks = [check]
            #expect(clean.run(steps: Self.steps) == nil, "seed \(violation.seed) fails \(check) even without \(fault)")
        }
    }

    /// The read a deposed leader serves at once can miss a write a newer leader committed.
    /// Without check-quorum a cut-off leader keeps believing it leads, which opens the window
    /// wide; the `.safe` protocol must not depend on check-quorum, and the clean runs above
    /// show it does not.
    @Test func aDeposedLeaderAnsweringReadsAtOnceMissesANewerTermsWrite() {
        let violation = Self.firstViolation(with: .skipReadConfirmation, checks: [.readsSeeEarlierCommits], checkQuorum: false) {
            $0.detail.hasPrefix("deposed leader")
        }
        print("skipReadConfirmation (deposed): \(violation.map(String.init(describing:)) ?? "not caught")")
        #expect(violation != nil)
    }
}
