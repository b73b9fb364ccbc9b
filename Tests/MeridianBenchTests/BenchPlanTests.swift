@testable import MeridianBench
import Testing

/// `meridian bench`'s options as a plan: what used to be checked only by running the
/// executable.
struct BenchPlanTests {
    func plan(scenario: String = "all", against: String? = nil, quick: Bool = false, duration: Int? = nil, trials: Int? = nil,
              clients: String = "1,16,64", valueBytes: Int = 100) throws(BenchError) -> BenchPlan {
        try BenchPlan(scenario: scenario, against: against, quick: quick, durationSeconds: duration, trials: trials, clients: clients, valueBytes: valueBytes)
    }

    /// The message of the error `make` throws, or nil when it throws none.
    func refusal(_ make: () throws(BenchError) -> BenchPlan) -> String? {
        do {
            _ = try make()
            return nil
        } catch {
            return error.description
        }
    }

    @Test func scenariosRunInTheirOwnOrderWhateverTheOrderNamed() throws {
        #expect(try plan().scenarios == BenchPlan.scenarios)
        #expect(try plan(scenario: "alex, local-writes").scenarios == ["local-writes", "alex"])
        #expect(try plan(scenario: "failover,failover").scenarios == ["failover"])
    }

    @Test func anUnknownOrEmptyScenarioIsRefusedByName() {
        #expect(refusal { () throws(BenchError) in try plan(scenario: "local-writes,nope") }
                == "unknown scenario 'nope'; available: local-writes, replication-lag, strong-writes, failover, alex, all")
        #expect(refusal { () throws(BenchError) in try plan(scenario: ",") } == "--scenario names no scenario")
    }

    @Test func quickShortensEveryWindowUnlessTheyAreGiven() throws {
        #expect(try plan(quick: true).settings == BenchSettings(quick: true, warmUpSeconds: 0.5, measureSeconds: 2, clientCounts: [1, 16, 64], valueBytes: 100, trials: 2))
        #expect(try plan().settings == BenchSettings(quick: false, warmUpSeconds: 2, measureSeconds: 10, clientCounts: [1, 16, 64], valueBytes: 100, trials: 5))
        let given = try plan(quick: true, duration: 7, trials: 3, clients: " 4 ,8", valueBytes: 64).settings
        #expect(given == BenchSettings(quick: true, warmUpSeconds: 0.5, measureSeconds: 7, clientCounts: [4, 8], valueBytes: 64, trials: 3))
    }

    @Test func everyLimitIsChecked() {
        #expect(refusal { () throws(BenchError) in try plan(against: "mysql") } == "unknown --against 'mysql'; available: etcd, postgres")
        #expect(refusal { () throws(BenchError) in try plan(duration: 0) } == "--duration must be 1 to 3600 seconds")
        #expect(refusal { () throws(BenchError) in try plan(duration: BenchPlan.durationSecondsMax + 1) } != nil)
        #expect(refusal { () throws(BenchError) in try plan(trials: BenchPlan.trialsMax + 1) } == "--trials must be 1 to 50")
        #expect(refusal { () throws(BenchError) in try plan(valueBytes: 0) } == "--value-bytes must be 1 to 1048576")
        for clients in ["", "0", "1,x", "\(LoadGenerator.clientsMax + 1)"] {
            #expect(refusal { () throws(BenchError) in try plan(clients: clients) } == "--clients must be comma-separated counts from 1 to 1024", "\(clients)")
        }
        #expect(refusal { () throws(BenchError) in try plan(against: "etcd", duration: BenchPlan.durationSecondsMax, trials: 1, clients: "1024", valueBytes: BenchPlan.valueBytesMax) } == nil)
    }

    @Test func thePayloadHasExactlyTheBytesAsked() throws {
        let payload = try plan(valueBytes: 5).settings.payload
        #expect(payload == #"{"payload": "xxxxx"}"#)
    }
}
