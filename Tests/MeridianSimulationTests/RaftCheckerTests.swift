import MeridianCore
import MeridianRegion
@testable import MeridianSimulation
import MeridianStorage
import Testing

/// The Raft checkers fed broken observations report a violation, and stay quiet on sound
/// ones; the simulated client reads replies of consensus tables as its history needs.
struct RaftCheckerTests {
    static let east = try! RegionID("us-east")
    static let west = try! RegionID("eu-west")
    static let south = try! RegionID("ap-south")
    static let table = try! TableName("strong")

    /// A stored entry as the region encodes it: term and index (eight bytes each, big
    /// endian), the kind (one byte), then the command.
    static func entry(_ index: UInt64, term: UInt64, _ command: String) -> StoredRaftEntry {
        StoredRaftEntry(index: index, bytes: term.bigEndianBytes + index.bigEndianBytes + [0] + Array(command.utf8))
    }

    // MARK: One leader per term

    @Test func aLeaderAndTheFollowersThatKnowItAgreeOnTheTerm() {
        var checker = LeaderChecker()
        #expect(checker.observe(table: Self.table, term: 3, leader: Self.east, observedBy: Self.east) == nil)
        #expect(checker.observe(table: Self.table, term: 3, leader: Self.east, observedBy: Self.west) == nil)
        #expect(checker.observe(table: Self.table, term: 4, leader: Self.south, observedBy: Self.south) == nil, "a new term may have a new leader")
        #expect(checker.observe(table: try! TableName("primary"), term: 3, leader: Self.west, observedBy: Self.west) == nil, "terms are per table")
    }

    @Test func twoLeadersInOneTermAreAViolation() throws {
        var checker = LeaderChecker()
        #expect(checker.observe(table: Self.table, term: 5, leader: Self.east, observedBy: Self.east) == nil)
        let observed = checker.observe(table: Self.table, term: 5, leader: Self.west, observedBy: Self.south)
        let violation = try #require(observed)
        #expect(violation.property == .oneLeaderPerTerm)
        #expect(violation.detail.contains("term 5") && violation.detail.contains("us-east") && violation.detail.contains("eu-west"))
    }

    // MARK: Committed entries

    @Test func regionsCommittingTheSameEntriesAgree() {
        var checker = CommittedEntryChecker()
        let entries = [Self.entry(1, term: 1, "a"), Self.entry(2, term: 1, "b")]
        #expect(checker.observeCommitted(region: Self.east, table: Self.table, entries: entries) == nil)
        #expect(checker.observeCommitted(region: Self.west, table: Self.table, entries: Array(entries.prefix(1))) == nil)
        #expect(checker.checkedIndex(region: Self.west, table: Self.table) == 1)
        #expect(checker.observeCommitted(region: Self.west, table: Self.table, entries: [entries[1]]) == nil)
        // A follower may overwrite entries above its commit index.
        #expect(checker.observeWritten(region: Self.west, table: Self.table, entries: [Self.entry(3, term: 2, "c")]) == nil)
    }

    @Test func twoRegionsCommittingDifferentEntriesAtOneIndexAreAViolation() throws {
        var checker = CommittedEntryChecker()
        #expect(checker.observeCommitted(region: Self.east, table: Self.table, entries: [Self.entry(1, term: 1, "a")]) == nil)
        let observed = checker.observeCommitted(region: Self.south, table: Self.table, entries: [Self.entry(1, term: 2, "z")])
        let violation = try #require(observed)
        #expect(violation.property == .committedEntriesImmutable)
        #expect(violation.detail.contains("index 1") && violation.detail.contains("term 2"))
    }

    @Test func aRegionReplacingAnEntryItCommittedIsAViolation() throws {
        var checker = CommittedEntryChecker()
        #expect(checker.observeCommitted(region: Self.east, table: Self.table, entries: [Self.entry(1, term: 1, "a"), Self.entry(2, term: 1, "b")]) == nil)
        #expect(checker.observeWritten(region: Self.east, table: Self.table, entries: [Self.entry(2, term: 1, "b")]) == nil, "the same entry again is no change")
        let violation = try #require(checker.observeWritten(region: Self.east, table: Self.table, entries: [Self.entry(2, term: 3, "x")]))
        #expect(violation.property == .committedEntriesImmutable)
        // After a power loss rolled its storage back, the region's marks start over.
        checker.forget(region: Self.east)
        #expect(checker.checkedIndex(region: Self.east, table: Self.table) == 0)
        #expect(checker.observeWritten(region: Self.east, table: Self.table, entries: [Self.entry(2, term: 3, "x")]) == nil)
    }

    // MARK: Linearizability of the consensus tables

    @Test func anAcknowledgedWriteThatALaterReadMissesIsAViolation() throws {
        let history = [
            HistoryEvent(key: "strong/k0", client: 1, invokedAt: 10, returnedAt: 20, operation: .write("a")),
            HistoryEvent(key: "strong/k0", client: 2, invokedAt: 30, returnedAt: 40, operation: .read(observed: nil)),
        ]
        let outcome = LinearizabilityHistoryChecker.check(history)
        let violation = try #require(outcome.violation)
        #expect(violation.property == .linearizability)
        #expect(violation.detail.contains("strong/k0"))
    }

    @Test func aWriteOfUnknownOutcomeMayExplainALaterRead() {
        let history = [
            HistoryEvent(key: "primary/k1", client: 1, invokedAt: 10, returnedAt: 20, operation: .write("a")),
            HistoryEvent(key: "primary/k1", client: 2, invokedAt: 15, returnedAt: nil, operation: .compareAndSet(expected: "a", new: "b", succeeded: nil)),
            HistoryEvent(key: "primary/k1", client: 3, invokedAt: 50, returnedAt: 60, operation: .read(observed: "b")),
            HistoryEvent(key: "primary/k1", client: 4, invokedAt: 70, returnedAt: 80, operation: .compareAndSet(expected: "a", new: "c", succeeded: false)),
        ]
        #expect(LinearizabilityHistoryChecker.check(history) == LinearizabilityHistoryChecker.Outcome(violation: nil, undecidedKey: nil))
    }

    // MARK: The simulated client's reading of replies

    static func request(_ operation: ClientOperation, expected: String? = nil) -> ClientRequest {
        let key = try! Key("k0")
        let table = WorkloadTable(consensus: Self.table, mode: .strong, primary: nil)
        return ClientRequest(operation: operation, table: table, key: key, value: .string("v"),
                             request: .putItem(Self.table, key, .string("v"), .none), home: Self.east, expectedValue: expected)
    }

    @Test func refusalsAreRetriedTimeoutsAreUnknownAndFailedConditionsReturn() {
        let redirect = Simulator.outcome(of: .failure(MeridianError(.misdirected, code: "not_leader", "", redirect: Self.west)), to: Self.request(.put))
        guard case .refused(redirect: Self.west) = redirect else { Issue.record("not_leader: \(redirect)"); return }
        guard case .refused(redirect: nil) = Simulator.outcome(of: .failure(MeridianError(.unavailable, code: "write_dropped", "")), to: Self.request(.put)) else {
            Issue.record("a dropped write is certainly not applied and may be retried"); return
        }
        guard case .unknown = Simulator.outcome(of: .failure(MeridianError(.unavailable, code: "commit_timeout", "")), to: Self.request(.put)) else {
            Issue.record("a commit timeout leaves the outcome unknown"); return
        }
        let failedSwap = Simulator.outcome(of: .failure(MeridianError.preconditionFailed("")), to: Self.request(.putIfMatch, expected: "old"))
        guard case .returned(.compareAndSet(expected: "old", new: "\"v\"", succeeded: false)) = failedSwap else {
            Issue.record("a failed If-Match: \(failedSwap)"); return
        }
    }
}
