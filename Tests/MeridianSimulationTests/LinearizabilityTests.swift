import MeridianSimulation
import Testing

/// The Wing–Gong–Lowe checker: hand-written histories with known verdicts, then histories
/// generated from a simulated linearizable register (which must pass) and the same histories
/// with one read made stale in a way no order can explain (which must fail).
struct LinearizabilityTests {
    // MARK: Helpers

    static func call(_ client: Int, _ invokedAt: UInt64, _ returnedAt: UInt64?, _ operation: RegisterOperation,
                     key: String = "k") -> HistoryEvent {
        HistoryEvent(key: key, client: client, invokedAt: invokedAt, returnedAt: returnedAt, operation: operation)
    }

    static func isViolation(_ verdict: LinearizabilityVerdict, key: String = "k") -> Bool {
        if case .violation(key, _) = verdict { return true }
        return false
    }

    static func explanation(_ verdict: LinearizabilityVerdict) -> String {
        if case .violation(_, let explanation) = verdict { return explanation }
        return ""
    }

    /// The unexplainable operations an explanation lists (the indented lines after the first,
    /// before the section of other calls).
    static func listedOperations(_ verdict: LinearizabilityVerdict) -> [String] {
        Array(explanation(verdict).split(separator: "\n").dropFirst()
            .prefix { $0.hasPrefix("  ") }.map(String.init))
    }

    // MARK: Linearizable histories

    @Test func emptyHistoryIsLinearizable() {
        #expect(LinearizabilityChecker.check([]) == .linearizable)
    }

    @Test func sequentialWritesAndReadsAreLinearizable() {
        let history = [
            Self.call(1, 0, 10, .read(observed: nil)),
            Self.call(1, 20, 30, .write("a")),
            Self.call(2, 40, 50, .read(observed: "a")),
            Self.call(2, 60, 70, .write(nil)),
            Self.call(1, 80, 90, .read(observed: nil)),
        ]
        #expect(LinearizabilityChecker.check(history) == .linearizable)
    }

    @Test func readConcurrentWithWriteMaySeeEitherValue() {
        for observed in [nil, "a"] as [String?] {
            let history = [
                Self.call(1, 0, 100, .write("a")),
                Self.call(2, 10, 20, .read(observed: observed)),
            ]
            #expect(LinearizabilityChecker.check(history) == .linearizable)
        }
    }

    @Test func readsMaySeeOldThenNewDuringAWrite() {
        let history = [
            Self.call(1, 0, 100, .write("a")),
            Self.call(2, 10, 20, .read(observed: nil)),
            Self.call(3, 10, 40, .read(observed: "a")),
            Self.call(2, 50, 60, .read(observed: "a")),
        ]
        #expect(LinearizabilityChecker.check(history) == .linearizable)
    }

    @Test func callInvokedAtTheInstantAnotherReturnsIsConcurrent() {
        let history = [
            Self.call(1, 0, 10, .write("a")),
            Self.call(2, 10, 20, .read(observed: nil)),
        ]
        #expect(LinearizabilityChecker.check(history) == .linearizable)
    }

    @Test func initialValueIsHonoured() {
        let history = [Self.call(1, 0, 10, .read(observed: "seed"))]
        #expect(LinearizabilityChecker.check(history, initialValue: "seed") == .linearizable)
        #expect(Self.isViolation(LinearizabilityChecker.check(history)))
    }

    // MARK: Violations

    @Test func staleReadAfterCompletedWriteIsAViolation() {
        let history = [
            Self.call(1, 0, 10, .write("a")),
            Self.call(1, 20, 30, .write("b")),
            Self.call(2, 40, 50, .read(observed: "a")),
        ]
        let verdict = LinearizabilityChecker.check(history)
        #expect(Self.isViolation(verdict))
        #expect(Self.listedOperations(verdict) == [
            "  client 1 write \"a\" (called at 0, returned at 10)",
            "  client 1 write \"b\" (called at 20, returned at 30)",
            "  client 2 read → \"a\" (called at 40, returned at 50)",
        ])
    }

    @Test func readOfAbsentAfterCompletedWriteIsAViolation() {
        let history = [
            Self.call(1, 0, 10, .write("a")),
            Self.call(2, 20, 30, .read(observed: nil)),
        ]
        #expect(Self.isViolation(LinearizabilityChecker.check(history)))
    }

    @Test func concurrentWritesSeenInOppositeOrdersAreAViolation() {
        // Client 3 sees a then b, client 4 sees b then a, with no other writes.
        let history = [
            Self.call(1, 0, 100, .write("a")),
            Self.call(2, 0, 100, .write("b")),
            Self.call(3, 10, 20, .read(observed: "a")),
            Self.call(3, 30, 40, .read(observed: "b")),
            Self.call(4, 10, 20, .read(observed: "b")),
            Self.call(4, 30, 40, .read(observed: "a")),
        ]
        let verdict = LinearizabilityChecker.check(history)
        #expect(Self.isViolation(verdict))
        // The four reads cannot be explained even if each write took effect at any moment
        // after its call; the writes are listed as context.
        #expect(Self.listedOperations(verdict).count == 4)
        #expect(Self.explanation(verdict).contains("Other calls that write the values these observe:\n"
            + "  client 1 write \"a\" (called at 0, returned at 100)\n"
            + "  client 2 write \"b\" (called at 0, returned at 100)"))
        // Either order alone is fine.
        #expect(LinearizabilityChecker.check(Array(history.prefix(4))) == .linearizable)
    }

    @Test func readsAfterConcurrentWritesMustAgree() {
        let history = [
            Self.call(1, 0, 10, .write("a")),
            Self.call(2, 0, 10, .write("b")),
            Self.call(3, 20, 30, .read(observed: "a")),
            Self.call(4, 40, 50, .read(observed: "b")),
        ]
        #expect(Self.isViolation(LinearizabilityChecker.check(history)))
        let agreeing = Array(history.prefix(3)) + [Self.call(4, 40, 50, .read(observed: "a"))]
        #expect(LinearizabilityChecker.check(agreeing) == .linearizable)
    }

    @Test func readOfValueNeverWrittenIsAViolation() {
        let history = [
            Self.call(1, 0, 10, .write("a")),
            Self.call(2, 5, 15, .read(observed: "ghost")),
        ]
        let verdict = LinearizabilityChecker.check(history)
        #expect(Self.isViolation(verdict))
        #expect(Self.listedOperations(verdict) == ["  client 2 read → \"ghost\" (called at 5, returned at 15)"])
        #expect(Self.explanation(verdict).hasPrefix("No order of this operation on key \"k\""))
    }

    @Test func deleteThenStaleReadIsAViolation() {
        let history = [
            Self.call(1, 0, 10, .write("a")),
            Self.call(1, 20, 30, .write(nil)),
            Self.call(2, 40, 50, .read(observed: "a")),
        ]
        #expect(Self.isViolation(LinearizabilityChecker.check(history)))
    }

    // MARK: Compare-and-set

    @Test func compareAndSetSuccessAndFailure() {
        let succeeds = [
            Self.call(1, 0, 10, .write("a")),
            Self.call(2, 20, 30, .compareAndSet(expected: "a", new: "b", succeeded: true)),
            Self.call(3, 40, 50, .read(observed: "b")),
        ]
        #expect(LinearizabilityChecker.check(succeeds) == .linearizable)

        let failsOnMismatch = [
            Self.call(1, 0, 10, .write("c")),
            Self.call(2, 20, 30, .compareAndSet(expected: "a", new: "b", succeeded: false)),
            Self.call(3, 40, 50, .read(observed: "c")),
        ]
        #expect(LinearizabilityChecker.check(failsOnMismatch) == .linearizable)

        let failsDespiteMatch = [
            Self.call(1, 0, 10, .write("a")),
            Self.call(2, 20, 30, .compareAndSet(expected: "a", new: "b", succeeded: false)),
        ]
        #expect(Self.isViolation(LinearizabilityChecker.check(failsDespiteMatch)))

        let succeedsDespiteMismatch = [
            Self.call(1, 0, 10, .write("c")),
            Self.call(2, 20, 30, .compareAndSet(expected: "a", new: "b", succeeded: true)),
        ]
        #expect(Self.isViolation(LinearizabilityChecker.check(succeedsDespiteMismatch)))
    }

    @Test func ifNoneMatchCreatesOnlyOnce() {
        let once = [
            Self.call(1, 0, 10, .compareAndSet(expected: nil, new: "x", succeeded: true)),
            Self.call(2, 20, 30, .compareAndSet(expected: nil, new: "y", succeeded: false)),
            Self.call(3, 40, 50, .read(observed: "x")),
        ]
        #expect(LinearizabilityChecker.check(once) == .linearizable)

        let twice = [
            Self.call(1, 0, 10, .compareAndSet(expected: nil, new: "x", succeeded: true)),
            Self.call(2, 20, 30, .compareAndSet(expected: nil, new: "y", succeeded: true)),
        ]
        #expect(Self.isViolation(LinearizabilityChecker.check(twice)))
    }

    @Test func concurrentCompareAndSetsCannotBothWinTheSameValue() {
        let history = [
            Self.call(1, 0, 10, .write("a")),
            Self.call(2, 20, 40, .compareAndSet(expected: "a", new: "b", succeeded: true)),
            Self.call(3, 20, 40, .compareAndSet(expected: "a", new: "c", succeeded: true)),
        ]
        #expect(Self.isViolation(LinearizabilityChecker.check(history)))
        var oneWins = history
        oneWins[2].operation = .compareAndSet(expected: "a", new: "c", succeeded: false)
        #expect(LinearizabilityChecker.check(oneWins + [Self.call(4, 50, 60, .read(observed: "b"))]) == .linearizable)
    }

    @Test func compareAndSetWithUnknownOutcomeMayOrMayNotTakeEffect() {
        for observed in ["x", nil] as [String?] {
            let history = [
                Self.call(1, 0, 10, .compareAndSet(expected: nil, new: "x", succeeded: nil)),
                Self.call(2, 20, 30, .read(observed: observed)),
            ]
            #expect(LinearizabilityChecker.check(history) == .linearizable)
        }
        // It took effect during its call, or not at all: not after it returned.
        let late = [
            Self.call(1, 0, 10, .compareAndSet(expected: nil, new: "x", succeeded: nil)),
            Self.call(2, 20, 30, .read(observed: nil)),
            Self.call(2, 40, 50, .read(observed: "x")),
        ]
        #expect(Self.isViolation(LinearizabilityChecker.check(late)))
    }

    // MARK: Calls that never returned

    @Test func pendingWriteObservedLaterIsFine() {
        let history = [
            Self.call(1, 5, nil, .write("x")),
            Self.call(2, 100, 110, .read(observed: nil)),
            Self.call(2, 200, 210, .read(observed: "x")),
            Self.call(3, 300, 310, .read(observed: "x")),
        ]
        #expect(LinearizabilityChecker.check(history) == .linearizable)
    }

    @Test func pendingWriteNeverObservedIsFine() {
        let history = [
            Self.call(1, 0, 10, .write("a")),
            Self.call(2, 5, nil, .write("x")),
            Self.call(3, 20, 30, .read(observed: "a")),
            Self.call(3, 40, 50, .read(observed: "a")),
        ]
        #expect(LinearizabilityChecker.check(history) == .linearizable)
    }

    @Test func pendingWriteTakesEffectAtMostOnce() {
        let history = [
            Self.call(1, 5, nil, .write("x")),
            Self.call(2, 100, 110, .read(observed: "x")),
            Self.call(2, 200, 210, .read(observed: nil)),
            Self.call(2, 300, 310, .read(observed: "x")),
        ]
        #expect(Self.isViolation(LinearizabilityChecker.check(history)))
    }

    @Test func pendingWriteCannotTakeEffectBeforeItsInvocation() {
        let history = [
            Self.call(2, 0, 10, .read(observed: "x")),
            Self.call(1, 20, nil, .write("x")),
        ]
        #expect(Self.isViolation(LinearizabilityChecker.check(history)))
    }

    @Test func pendingReadIsDropped() {
        let history = [
            Self.call(1, 0, 10, .write("a")),
            Self.call(2, 20, nil, .read(observed: "nonsense")),
        ]
        #expect(LinearizabilityChecker.check(history) == .linearizable)
    }

    // MARK: Keys, limits, explanations

    @Test func keysAreCheckedIndependently() {
        let history = [
            Self.call(1, 0, 10, .write("a"), key: "first"),
            Self.call(1, 0, 10, .write("b"), key: "second"),
            Self.call(2, 20, 30, .read(observed: "a"), key: "first"),
            Self.call(2, 20, 30, .read(observed: "a"), key: "second"),
        ]
        let verdict = LinearizabilityChecker.check(history)
        #expect(Self.isViolation(verdict, key: "second"))
        #expect(LinearizabilityChecker.check(history.filter { $0.key == "first" }) == .linearizable)
    }

    @Test func exhaustedSearchIsUndecided() {
        let history = (0..<20).map { index in
            Self.call(index, 0, 100, .write("v\(index)"))
        } + [Self.call(99, 200, 210, .read(observed: "v7"))]
        #expect(LinearizabilityChecker.check(history, searchStatesMax: 3) == .undecided(key: "k"))
        #expect(LinearizabilityChecker.check(history) == .linearizable)
    }

    @Test func explanationNamesOnlyTheStaleReadAndTheWritesAroundIt() {
        // One hundred sequential writes, each read back, then a read of an overwritten value.
        var history: [HistoryEvent] = []
        for index in 0..<100 {
            let start = UInt64(index) * 100
            history.append(Self.call(1, start, start + 10, .write("v\(index)")))
            history.append(Self.call(2, start + 20, start + 30, .read(observed: "v\(index)")))
            history.append(Self.call(3, start + 15, start + 40, .read(observed: index == 50 ? "v40" : "v\(index)")))
        }
        let verdict = LinearizabilityChecker.check(history)
        #expect(Self.isViolation(verdict))
        let listed = Self.listedOperations(verdict)
        // The stale read, the write of v40 or a read of it, and one later write or read.
        #expect(listed.count == 3, "\(Self.explanation(verdict))")
        #expect(listed.last == "  client 3 read → \"v40\" (called at 5015, returned at 5040)")
        #expect(Self.explanation(verdict).contains("  client 1 write \"v40\" (called at 4000, returned at 4010)"))
    }

    // MARK: Randomized

    @Test func randomizedHistoriesPassAndStaleReadsFail() {
        var mutatedCount = 0
        for seed in UInt64(1)...40 {
            var random = SplitMix64Generator(seed: seed)
            let keys = (0..<Int.random(in: 1...3, using: &random)).map { "key\($0)" }
            let history = RegisterSimulation.generate(
                random: &random, keys: keys, clients: Int.random(in: 2...10, using: &random),
                operationsTotal: Int.random(in: 50...600, using: &random))
            let verdict = LinearizabilityChecker.check(history)
            #expect(verdict == .linearizable, "seed \(seed): \(verdict)")
            guard let mutation = RegisterSimulation.staleRead(in: history, random: &random) else { continue }
            mutatedCount += 1
            let mutatedVerdict = LinearizabilityChecker.check(mutation.history)
            #expect(Self.isViolation(mutatedVerdict, key: mutation.key), "seed \(seed): \(mutatedVerdict)")
            #expect(Self.explanation(mutatedVerdict).contains(mutation.staleReadDescription),
                    "seed \(seed): \(Self.explanation(mutatedVerdict))")
        }
        #expect(mutatedCount >= 30)
    }

    /// Two thousand calls on one key by ten clients. A violation is found by exhausting every
    /// order up to the stale read, whose cost grows with its position, so the stale read is
    /// picked among the first calls.
    @Test(arguments: [UInt64(101), 102, 103])
    func largeConcurrentHistoryPassesAndStaleReadFails(seed: UInt64) {
        var random = SplitMix64Generator(seed: seed)
        let history = RegisterSimulation.generate(random: &random, keys: ["hot"], clients: 10, operationsTotal: 2_000)
        #expect(LinearizabilityChecker.check(history) == .linearizable)
        let mutation = RegisterSimulation.staleRead(in: history, invokedBefore: 300, random: &random)
        #expect(mutation != nil)
        guard let mutation else { return }
        let verdict = LinearizabilityChecker.check(mutation.history)
        #expect(Self.isViolation(verdict, key: "hot"))
        #expect(Self.explanation(verdict).contains(mutation.staleReadDescription), "\(Self.explanation(verdict))")
        #expect(Self.listedOperations(verdict).count <= 6, "\(Self.explanation(verdict))")
    }
}

// MARK: - A seeded generator

/// SplitMix64: the tests' only source of randomness, so every run makes the same choices.
private struct SplitMix64Generator: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}

// MARK: - A simulated linearizable register

private enum RegisterSimulation {
    struct StaleRead {
        var history: [HistoryEvent]
        var key: String
        /// The stale read as an explanation lists it.
        var staleReadDescription: String
    }

    /// A history of `operationsTotal` calls by `clients` clients, each calling one at a time,
    /// against registers that apply every call at a point inside its interval. Every written
    /// value is unique. Some writes and compare-and-sets never return (and took effect or
    /// not), some compare-and-sets return an unknown outcome, some reads never return.
    static func generate(random: inout SplitMix64Generator, keys: [String], clients: Int,
                         operationsTotal: Int) -> [HistoryEvent] {
        enum Kind { case read, write, compareAndSet }
        struct Planned {
            var event: HistoryEvent
            var kind: Kind
            var point: UInt64
            var tookEffect: Bool
            var outcomeKnown: Bool
        }
        var freeAt = (0..<clients).map { _ in UInt64.random(in: 0..<10, using: &random) }
        var planned: [Planned] = []
        for index in 0..<operationsTotal {
            let client = freeAt.indices.min { (freeAt[$0], $0) < (freeAt[$1], $1) }!
            let invokedAt = freeAt[client]
            let duration = UInt64.random(in: 1...30, using: &random)
            let point = invokedAt + UInt64.random(in: 0...duration, using: &random)
            freeAt[client] = invokedAt + duration + UInt64.random(in: 0...3, using: &random)
            let roll = Int.random(in: 0..<100, using: &random)
            let kind: Kind = roll < 45 ? .read : roll < 75 ? .write : .compareAndSet
            let neverReturned = Int.random(in: 0..<100, using: &random) < 3
            let outcomeKnown = kind != .compareAndSet || Int.random(in: 0..<100, using: &random) >= 5
            let value: String? = kind == .write && Int.random(in: 0..<10, using: &random) == 0 ? nil : "v\(index)"
            let operation: RegisterOperation
            switch kind {
            case .read: operation = .read(observed: neverReturned ? "never-returned" : nil)
            case .write: operation = .write(value)
            case .compareAndSet: operation = .compareAndSet(expected: nil, new: value, succeeded: nil)
            }
            let event = HistoryEvent(key: keys.randomElement(using: &random)!, client: client, invokedAt: invokedAt,
                                     returnedAt: neverReturned ? nil : invokedAt + duration, operation: operation)
            let tookEffect = (!neverReturned && outcomeKnown) || Bool.random(using: &random)
            planned.append(Planned(event: event, kind: kind, point: point, tookEffect: tookEffect,
                                   outcomeKnown: outcomeKnown && !neverReturned))
        }

        // Apply every call at its point, in point order.
        var registers: [String: String?] = [:]
        var written: [String] = []
        for index in planned.indices.sorted(by: { (planned[$0].point, $0) < (planned[$1].point, $1) }) {
            let key = planned[index].event.key
            let current = registers[key] ?? nil
            switch planned[index].event.operation {
            case .read:
                if planned[index].event.returnedAt != nil { planned[index].event.operation = .read(observed: current) }
            case .write(let value):
                if planned[index].tookEffect { registers[key] = value }
                if let value { written.append(value) }
            case .compareAndSet(_, let new, _):
                let roll = Int.random(in: 0..<10, using: &random)
                let expected: String? = roll < 6 ? current : roll < 8 ? nil : written.randomElement(using: &random)
                let matches = expected == current
                if matches && planned[index].tookEffect { registers[key] = new }
                planned[index].event.operation = .compareAndSet(
                    expected: expected, new: new, succeeded: planned[index].outcomeKnown ? matches : nil)
                if let new { written.append(new) }
            }
        }
        return planned.map(\.event)
    }

    /// Makes one completed read (invoked before `invokedBefore`) return a value that was overwritten before the read began:
    /// some call W wrote `v` and returned before another call X was invoked, X definitely
    /// wrote something else and returned before the read R was invoked, and no other call
    /// writes `v` (values are unique). Every order puts W before X before R, so R reading `v`
    /// cannot be explained. Returns `nil` when the history has no such triple.
    static func staleRead(in history: [HistoryEvent], invokedBefore: UInt64 = .max,
                          random: inout SplitMix64Generator) -> StaleRead? {
        func definitelyWrote(_ event: HistoryEvent) -> String?? {
            guard event.returnedAt != nil else { return nil }
            switch event.operation {
            case .write(let value): return .some(value)
            case .compareAndSet(_, let new, true?): return .some(new)
            default: return nil
            }
        }
        let reads = history.indices.filter { index in
            if case .read = history[index].operation {
                return history[index].returnedAt != nil && history[index].invokedAt < invokedBefore
            }
            return false
        }.shuffled(using: &random)
        for readIndex in reads.prefix(200) {
            let read = history[readIndex]
            guard case .read(let observed) = read.operation else { continue }
            let sameKey = history.filter { $0.key == read.key }
            // X: the definite write that returned last before the read began.
            guard let overwrite = sameKey.filter({ definitelyWrote($0) != nil && $0.returnedAt! < read.invokedAt })
                .max(by: { $0.returnedAt! < $1.returnedAt! }) else { continue }
            // W: a definite write of a present value that returned before X began.
            let candidates = sameKey.filter { event in
                guard let value = definitelyWrote(event), let value, value != observed else { return false }
                return event.returnedAt! < overwrite.invokedAt
            }
            guard let stale = candidates.max(by: { $0.returnedAt! < $1.returnedAt! }),
                  let staleValue = definitelyWrote(stale) ?? nil else { continue }
            var mutated = history
            mutated[readIndex].operation = .read(observed: staleValue)
            return StaleRead(
                history: mutated, key: read.key,
                staleReadDescription: "client \(read.client) read → \"\(staleValue)\" "
                    + "(called at \(read.invokedAt), returned at \(read.returnedAt!))")
        }
        return nil
    }
}
