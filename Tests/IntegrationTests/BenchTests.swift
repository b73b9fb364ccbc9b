import Foundation
import MeridianTestSupport
import Testing

/// `meridian bench` through the real executable: its options reach MeridianBench's plan,
/// and one tiny scenario runs end to end (MeridianBenchTests covers the pieces).
@Suite(.timeLimit(.minutes(10))) struct BenchTests {
    @Test func benchRefusesAnUnknownScenario() throws {
        let result = try runCLI(["bench", "--scenario", "nope"])
        #expect(result.status != 0)
        #expect(result.error.contains("unknown scenario 'nope'"))
    }

    @Test func aTinyLocalWritesRunPrintsItsTableAndRatios() throws {
        let result = try runCLI(["bench", "--quick", "--scenario", "local-writes", "--clients", "1,2", "--duration", "1"])
        #expect(result.status == 0, "\(result.output) \(result.error)")
        #expect(result.output.contains("scenario local-writes"))
        #expect(result.output.contains("ratios local-writes: throughput 2 clients / 1 client"))
        #expect(result.output.contains("every ratio of this run:"))
    }
}
