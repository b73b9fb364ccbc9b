// A linearizability checker for a history of calls on per-key registers, after Wing and
// Gong ("Testing and verifying concurrent objects", 1993) with Lowe's improvements
// ("Testing for linearizability", 2017). Pure standard-library Swift: no clock, no
// randomness, no concurrency, so it runs the same inside the simulator and in tests.
//
// Model. Every key is an independent register holding a `String?` (`nil`: absent). A
// history is linearizable when every key's calls can be put in one sequential order that
// respects real time (a call that returned before another was invoked comes first) and in
// which every result matches the register. Linearizability is compositional, so each key
// is checked on its own, in the order keys first appear in the history.
//
// Calls that never returned. A write or compare-and-set that never returned may take
// effect at any moment after its invocation, or never; a read that never returned tells
// nothing and is dropped. A completed compare-and-set with an
// unknown outcome may take effect during its call, or not at all. A failed
// compare-and-set is placed where the register differs from `expected`, a successful one
// where it equals `expected`.
//
// Time. Calls and returns are ordered by their times; at equal times calls come before
// returns, so a call invoked at the instant another returns counts as concurrent with it
// (the permissive reading: a tie never produces a violation). A return time earlier than
// its invocation is read as the invocation time.
//
// Search. The calls and returns of one key form a doubly linked list in time order. The
// search walks the list from its head: at a call it tries to place that operation next in
// the sequential order (the model says whether the result matches and what the register
// holds after), and on success removes the call and its return from the list and starts
// again from the head. Reaching a return means the operation whose return it is was not
// placed in time, so the search undoes its latest placement (kept on an explicit stack,
// never by recursion) and tries the next alternative. Every placement records the pair
// (set of placed operations as a bit set, register value) in a memo; a pair seen before
// has already been explored and is skipped. The history is linearizable once every
// completed operation is placed; it is not once the stack is empty at a return. An
// operation that may or may not take effect offers two choices: take effect, or not.
//
// Two reductions keep the search small without losing any order. A read-only operation (a
// read, a failed compare-and-set) that may go next and matches the register is placed at
// once, as the only option: placing it earlier never hurts. A write or compare-and-set that
// never returned is never a choice of its own: it is placed only in a short chain right
// before an operation whose result the current value contradicts and the chain explains
// (see `LinearizationSearch.run`). Linearizable histories are then found in close to linear
// time. Proving a violation still means exhausting every order up to the unexplainable
// result, about (operations before it) × 2^(writes in flight) states, so a violation late in
// a long, highly concurrent history may come back `undecided`.
//
// Limits. `searchStatesMax` bounds the memo entries of one key's search; past it the key is
// `undecided`. Explaining a violation runs further searches, at most
// `explanationSearchesMax` of them, using at most `explanationStatesMax` memo entries
// together; past either the explanation lists the smaller set reached so far.
//
// Explanation. For a key with a violation, the checker first finds the earliest return
// time `t` such that the history cut at `t` (calls invoked after `t` removed, calls still
// running at `t` treated as never returned) has no linearization; cutting preserves
// linearizability, so the violation is already there. It then relaxes operations in
// halving chunks, delta-debugging style: relaxing a read or failed compare-and-set drops
// it, relaxing a write or other compare-and-set lets it write its value at any moment after
// its call, or not at all. A relaxation that keeps the violation is kept. The operations
// left unrelaxed form a set that no order explains even with every other operation
// relaxed, and relaxing any one of them removes the violation: the smallest unexplainable
// set this search names. The explanation lists it, then the relaxed writes of the values
// it observes, as context.

/// What one call on a register did, as its client saw it.
public enum RegisterOperation: Sendable, Equatable {
    /// A read that returned `observed` (`nil`: not found).
    case read(observed: String?)
    /// A put of a value, or a delete (`nil`).
    case write(String?)
    /// A conditional put or delete: If-Match `expected`, or If-None-Match when `expected`
    /// is `nil`. `succeeded` is `nil` when the outcome is unknown.
    case compareAndSet(expected: String?, new: String?, succeeded: Bool?)
}

/// One call on one key of the register, with its real-time interval.
public struct HistoryEvent: Sendable, Equatable {
    public var key: String
    public var client: Int
    /// When the call was invoked, in any monotonic unit (nanoseconds, virtual milliseconds).
    public var invokedAt: UInt64
    /// When the call returned, in the unit of `invokedAt`; `nil` when it never returned
    /// (timeout, crash): it may or may not have taken effect, at any time after invocation.
    public var returnedAt: UInt64?
    public var operation: RegisterOperation

    public init(key: String, client: Int, invokedAt: UInt64, returnedAt: UInt64?, operation: RegisterOperation) {
        self.key = key
        self.client = client
        self.invokedAt = invokedAt
        self.returnedAt = returnedAt
        self.operation = operation
    }
}

/// The result of checking a history.
public enum LinearizabilityVerdict: Sendable, Equatable {
    case linearizable
    /// No sequential order explains the results on `key`; `explanation` lists the smallest
    /// set of operations found that cannot be explained.
    case violation(key: String, explanation: String)
    /// The search for `key` reached its state limit before deciding.
    case undecided(key: String)
}

/// The Wing–Gong–Lowe checker over per-key registers (see the file header).
public enum LinearizabilityChecker {
    /// The most searches one violation's explanation may run.
    static let explanationSearchesMax = 400
    /// The most memo entries all of one violation's explanation searches may use together.
    static let explanationStatesMax = 2_000_000
    /// The most operations an explanation lists before summarizing the rest.
    static let explanationOperationsListedMax = 20

    /// Checks every key of `history` independently. Returns the first violation found (keys
    /// in order of first appearance); otherwise `undecided` for the first key whose search
    /// exceeded `searchStatesMax` memo entries; otherwise `linearizable`.
    public static func check(_ history: [HistoryEvent], initialValue: String? = nil,
                             searchStatesMax: Int = 1_000_000) -> LinearizabilityVerdict {
        var keyOrder: [String] = []
        var eventsByKey: [String: [HistoryEvent]] = [:]
        for event in history {
            if event.returnedAt == nil, case .read = event.operation { continue }
            if eventsByKey[event.key] == nil { keyOrder.append(event.key) }
            eventsByKey[event.key, default: []].append(event)
        }
        var firstUndecidedKey: String?
        for key in keyOrder {
            let keyHistory = KeyHistory(key: key, events: eventsByKey[key] ?? [], initialValue: initialValue)
            switch keyHistory.search(keyHistory.operations, statesMax: searchStatesMax) {
            case .linearizable:
                continue
            case .exhausted:
                if firstUndecidedKey == nil { firstUndecidedKey = key }
            case .violation:
                return .violation(key: key, explanation: keyHistory.explainViolation(statesMax: searchStatesMax))
            }
        }
        if let firstUndecidedKey { return .undecided(key: firstUndecidedKey) }
        return .linearizable
    }
}

// MARK: - One key's history

/// What the search knows of one operation. Register values are numbers: 0 is absent,
/// every distinct string of the key gets its own positive number.
private struct SearchOperation {
    var invokedAt: UInt64
    /// `nil`: never returned; the operation may take effect at any time after `invokedAt`,
    /// or never.
    var returnedAt: UInt64?
    var effect: SearchEffect
    /// Whether a completed operation may also leave the register untouched.
    var mayHaveNoEffect: Bool
}

private enum SearchEffect {
    case read(observed: Int)
    case write(Int)
    case compareAndSet(expected: Int, new: Int, succeeded: Bool?)
}

private enum SearchOutcome {
    case linearizable
    case violation
    case exhausted
}

private struct KeyHistory {
    let key: String
    let initialValue: String?
    /// The key's events, never-returned reads already dropped.
    let events: [HistoryEvent]
    /// One search operation per event, same order.
    let operations: [SearchOperation]
    let initialState: Int

    init(key: String, events: [HistoryEvent], initialValue: String?) {
        self.key = key
        self.initialValue = initialValue
        self.events = events
        var numbers: [String: Int] = [:]
        func number(_ value: String?) -> Int {
            guard let value else { return 0 }
            if let existing = numbers[value] { return existing }
            let assigned = numbers.count + 1
            numbers[value] = assigned
            return assigned
        }
        initialState = number(initialValue)
        operations = events.map { event in
            let effect: SearchEffect
            var mayHaveNoEffect = false
            switch event.operation {
            case .read(let observed):
                effect = .read(observed: number(observed))
            case .write(let value):
                effect = .write(number(value))
            case .compareAndSet(let expected, let new, let succeeded):
                effect = .compareAndSet(expected: number(expected), new: number(new), succeeded: succeeded)
                mayHaveNoEffect = succeeded == nil
            }
            return SearchOperation(invokedAt: event.invokedAt, returnedAt: event.returnedAt,
                                   effect: effect, mayHaveNoEffect: mayHaveNoEffect)
        }
    }

    func search(_ operations: [SearchOperation], statesMax: Int) -> SearchOutcome {
        LinearizationSearch.run(operations, initialState: initialState, statesMax: statesMax).outcome
    }

    // MARK: Explanation

    /// Names a small set of operations no order explains (see the file header). Call only
    /// after `search` found a violation on the whole history.
    func explainViolation(statesMax: Int) -> String {
        var searchesLeft = LinearizabilityChecker.explanationSearchesMax
        var statesLeft = LinearizabilityChecker.explanationStatesMax
        func violates(_ candidate: [SearchOperation]) -> Bool {
            searchesLeft -= 1
            let (outcome, statesUsed) = LinearizationSearch.run(candidate, initialState: initialState,
                                                                statesMax: min(statesMax, statesLeft))
            statesLeft -= statesUsed
            return outcome == .violation
        }
        func budgetLeft() -> Bool { searchesLeft > 0 && statesLeft > 0 }

        // 1. The earliest cut that already violates. The cut at the last return is
        // equivalent to the whole history, which violates.
        var returnTimes = Array(Set(operations.compactMap { operation in
            operation.returnedAt.map { max($0, operation.invokedAt) }
        })).sorted()
        if returnTimes.isEmpty { returnTimes = [0] }
        var low = 0
        var high = returnTimes.count - 1
        while low < high, budgetLeft() {
            let middle = (low + high) / 2
            if violates(cut(at: returnTimes[middle]).operations) { high = middle } else { low = middle + 1 }
        }
        let (eventIndices, cutOperations) = cut(at: returnTimes[high])

        // 2. Relax operations while the violation stays: first every failed compare-and-set
        // at once (rarely part of a violation, they make the search try writes before them),
        // then chunks of halving size. Operations that never returned (by the cut) or have an
        // unknown outcome start relaxed.
        var relaxed = cutOperations.map { $0.returnedAt == nil || $0.mayHaveNoEffect }
        var essential = relaxed.indices.filter { !relaxed[$0] }
        var stoppedAtLimit = false
        let failedCompareAndSets = essential.filter { index in
            if case .compareAndSet(_, _, false?) = cutOperations[index].effect { return true }
            return false
        }
        if !failedCompareAndSets.isEmpty, budgetLeft() {
            var trial = relaxed
            for index in failedCompareAndSets { trial[index] = true }
            if violates(Self.relax(cutOperations, where: trial)) {
                relaxed = trial
                essential.removeAll { trial[$0] }
            }
        }
        var chunkSize = max(1, essential.count / 2)
        chunking: while true {
            var start = 0
            while start < essential.count {
                if !budgetLeft() { stoppedAtLimit = true; break chunking }
                let end = min(start + chunkSize, essential.count)
                var trial = relaxed
                for index in essential[start..<end] { trial[index] = true }
                if violates(Self.relax(cutOperations, where: trial)) {
                    relaxed = trial
                    essential.removeSubrange(start..<end)
                } else {
                    start = end
                }
            }
            // Relaxing only ever removes constraints, so an operation kept once stays
            // needed: one pass with single operations leaves a minimal set.
            if chunkSize == 1 { break }
            chunkSize = max(1, chunkSize / 2)
        }

        // 3. Describe: the unexplainable set, then the other writes of the values it observes.
        var observedBySet = Set<Int>()
        for index in essential {
            switch cutOperations[index].effect {
            case .read(let observed): observedBySet.insert(observed)
            case .compareAndSet(let expected, _, _): observedBySet.insert(expected)
            case .write: break
            }
        }
        let context = relaxed.indices.filter { index in
            guard relaxed[index] else { return false }
            switch cutOperations[index].effect {
            case .read: return false
            case .write(let value): return observedBySet.contains(value)
            case .compareAndSet(_, let new, let succeeded): return succeeded != false && observedBySet.contains(new)
            }
        }
        let subject = essential.count == 1 ? "this operation" : "these \(essential.count) operations"
        var lines = ["No order of \(subject) on key \(Self.quote(key)) explains their results, starting from "
            + "\(Self.describe(value: initialValue)), even if every other write or compare-and-set on the key took "
            + "effect at any moment after its call, or not at all, and every other read is ignored"
            + (stoppedAtLimit ? " (the search for a smaller set stopped at its limit):" : ":")]
        lines += describe(essential.map { eventIndices[$0] })
        if !context.isEmpty {
            lines.append("Other calls that write the values these observe:")
            lines += describe(context.map { eventIndices[$0] })
        }
        return lines.joined(separator: "\n")
    }

    /// One indented line per event, in order of invocation, at most
    /// `explanationOperationsListedMax` of them.
    private func describe(_ eventIndices: [Int]) -> [String] {
        let sorted = eventIndices.sorted { left, right in
            let a = events[left], b = events[right]
            return (a.invokedAt, a.returnedAt ?? .max, left) < (b.invokedAt, b.returnedAt ?? .max, right)
        }
        let listedMax = LinearizabilityChecker.explanationOperationsListedMax
        var lines = sorted.prefix(listedMax).map { "  " + Self.describe(event: events[$0]) }
        if sorted.count > listedMax { lines.append("  … and \(sorted.count - listedMax) more") }
        return lines
    }

    /// The history as it stood at `time`: calls invoked later are gone, calls returning
    /// later never returned. Returns the kept events' indices and their operations.
    private func cut(at time: UInt64) -> (eventIndices: [Int], operations: [SearchOperation]) {
        var eventIndices: [Int] = []
        var cutOperations: [SearchOperation] = []
        for (index, operation) in operations.enumerated() where operation.invokedAt <= time {
            var kept = operation
            if let returnedAt = operation.returnedAt, max(returnedAt, operation.invokedAt) <= time {
                kept.returnedAt = returnedAt
            } else {
                if case .read = operation.effect { continue }
                kept.returnedAt = nil
                kept.mayHaveNoEffect = false
            }
            eventIndices.append(index)
            cutOperations.append(kept)
        }
        return (eventIndices, cutOperations)
    }

    /// `operations` with the flagged ones relaxed: a relaxed read or failed compare-and-set
    /// is dropped; a relaxed write or other compare-and-set becomes a write of its new value
    /// that never returned (free to take effect at any moment after its call, or not at all).
    private static func relax(_ operations: [SearchOperation], where relaxed: [Bool]) -> [SearchOperation] {
        var result: [SearchOperation] = []
        result.reserveCapacity(operations.count)
        for (index, operation) in operations.enumerated() {
            guard relaxed[index] else {
                result.append(operation)
                continue
            }
            switch operation.effect {
            case .read, .compareAndSet(_, _, false?):
                continue
            case .compareAndSet(_, let new, _), .write(let new):
                result.append(SearchOperation(invokedAt: operation.invokedAt, returnedAt: nil,
                                              effect: .write(new), mayHaveNoEffect: false))
            }
        }
        return result
    }

    static func quote(_ text: String) -> String { "\"" + text + "\"" }

    static func describe(value: String?) -> String { value.map(quote) ?? "absent" }

    static func describe(event: HistoryEvent) -> String {
        let operation: String
        switch event.operation {
        case .read(let observed):
            operation = "read → " + (observed.map(quote) ?? "not found")
        case .write(let value):
            operation = value.map { "write " + quote($0) } ?? "delete"
        case .compareAndSet(let expected, let new, let succeeded):
            let outcome = succeeded.map { $0 ? "succeeded" : "failed" } ?? "outcome unknown"
            operation = "compare-and-set \(describe(value: expected)) → \(describe(value: new)) \(outcome)"
        }
        let interval = event.returnedAt.map { "called at \(event.invokedAt), returned at \($0)" }
            ?? "called at \(event.invokedAt), never returned"
        return "client \(event.client) \(operation) (\(interval))"
    }
}

// MARK: - The search

/// A memo entry: which operations are placed, and the register value after them.
/// Hashes only a digest of the set (an exclusive-or of per-operation constants, kept
/// up to date as operations are placed and unplaced) and the value.
private struct SearchMemoKey: Hashable {
    var digest: UInt64
    var state: Int
    var placed: [UInt64]

    func hash(into hasher: inout Hasher) {
        hasher.combine(digest)
        hasher.combine(state)
    }

    static func == (left: SearchMemoKey, right: SearchMemoKey) -> Bool {
        left.digest == right.digest && left.state == right.state && left.placed == right.placed
    }
}

/// One placement, to undo when the search backtracks.
private struct SearchFrame {
    var callPosition: Int
    /// The calls of the lazy operations placed just before, in order (usually none).
    var chain: [Int]
    var previousState: Int
    /// Which of the operation's alternatives this was (see `LinearizationSearch.run`).
    var alternative: Int
    /// A read-only placement made because it could go next: undone without alternatives.
    var forced: Bool
}

private enum LinearizationSearch {
    /// A fixed, well-mixed constant per operation (the SplitMix64 finalizer), for the
    /// memo digest. Deterministic: not a source of randomness.
    static func digestConstant(_ operation: Int) -> UInt64 {
        var mixed = UInt64(truncatingIfNeeded: operation) &+ 0x9E37_79B9_7F4A_7C15
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }

    /// The register after `effect` from `state`, or `nil` when the result contradicts it.
    /// Choice 1 is "no effect", offered only to operations that may have none.
    static func apply(_ effect: SearchEffect, to state: Int, choice: Int) -> Int? {
        if choice == 1 { return state }
        switch effect {
        case .read(let observed):
            return state == observed ? state : nil
        case .write(let value):
            return value
        case .compareAndSet(let expected, let new, let succeeded):
            if succeeded == false { return state != expected ? state : nil }
            return state == expected ? new : nil
        }
    }

    /// Searches one key's operations. A write or compare-and-set that never returned is
    /// lazy: rather than a choice of its own at every step, it is placed only as part of a
    /// chain immediately before an operation whose result the register contradicts and the
    /// chain's last value explains (a plain write starts a chain; each compare-and-set in it
    /// expects the value before it; no value repeats). Any order can be rearranged that way:
    /// a run of such operations is dropped when a write or nothing follows it, moved after a
    /// read-only operation that does not need it, and otherwise cut down to such a chain, so
    /// no order is lost. The alternatives of an operation are, for each of its choices: the
    /// choice itself when the register allows it, otherwise each chain that allows it.
    static func run(_ operations: [SearchOperation], initialState: Int, statesMax: Int)
        -> (outcome: SearchOutcome, statesUsed: Int) {
        let operationCount = operations.count
        // Operations that never change the register: a read, a failed compare-and-set.
        var readOnly = [Bool](repeating: false, count: operationCount)
        // Lazy operations: writes and compare-and-sets that never returned and may change
        // the register, listed by the value they write.
        var lazy = [Bool](repeating: false, count: operationCount)
        var lazyByWrittenValue: [Int: [Int]] = [:]
        var lazyOperations: [Int] = []
        for (index, operation) in operations.enumerated() {
            switch operation.effect {
            case .read: readOnly[index] = true
            case .compareAndSet(_, _, let succeeded): readOnly[index] = succeeded == false
            case .write: break
            }
            if operation.returnedAt == nil, !readOnly[index] {
                lazy[index] = true
                switch operation.effect {
                case .write(let value), .compareAndSet(_, let value, _):
                    lazyByWrittenValue[value, default: []].append(index)
                case .read:
                    break
                }
                lazyOperations.append(index)
            }
        }

        // The list entries, in time order; calls before returns at equal times. Read-only
        // operations that never returned explain nothing and are left out.
        var order: [(time: UInt64, isReturn: Bool, operation: Int)] = []
        order.reserveCapacity(operationCount * 2)
        var completedRemaining = 0
        for (index, operation) in operations.enumerated() {
            if operation.returnedAt == nil && readOnly[index] { continue }
            order.append((operation.invokedAt, false, index))
            if let returnedAt = operation.returnedAt {
                order.append((max(returnedAt, operation.invokedAt), true, index))
                completedRemaining += 1
            }
        }
        order.sort { left, right in
            if left.time != right.time { return left.time < right.time }
            if left.isReturn != right.isReturn { return !left.isReturn }
            return left.operation < right.operation
        }
        let entryIsReturn = order.map(\.isReturn)
        let entryOperation = order.map(\.operation)

        let entryCount = order.count
        let head = entryCount
        let tail = entryCount + 1
        var next = [Int](repeating: tail, count: entryCount + 2)
        var previous = [Int](repeating: head, count: entryCount + 2)
        var cursor = head
        for position in 0..<entryCount {
            next[cursor] = position
            previous[position] = cursor
            cursor = position
        }
        next[cursor] = tail
        previous[tail] = cursor

        // The return entry of each call entry (-1: never returned).
        var returnOfCall = [Int](repeating: -1, count: entryCount)
        var callOfOperation = [Int](repeating: -1, count: operationCount)
        for position in 0..<entryCount {
            if entryIsReturn[position] {
                returnOfCall[callOfOperation[entryOperation[position]]] = position
            } else {
                callOfOperation[entryOperation[position]] = position
            }
        }
        let digestConstants = (0..<operationCount).map(digestConstant)

        var placed = [UInt64](repeating: 0, count: (operationCount + 63) / 64)
        var digest: UInt64 = 0
        var state = initialState
        var memo = Set<SearchMemoKey>()
        var stack: [SearchFrame] = []
        var position = head
        var firstAlternative = 0
        var phase = SearchPhase.fresh
        // Entries before this position (in time order) may be placed now: the first return
        // left in the list, or `entryCount`.
        var windowEnd = 0

        func isPlaced(_ operationIndex: Int) -> Bool {
            placed[operationIndex >> 6] & (1 << UInt64(operationIndex & 63)) != 0
        }
        func togglePlaced(_ call: Int) {
            let operationIndex = entryOperation[call]
            placed[operationIndex >> 6] ^= 1 << UInt64(operationIndex & 63)
            digest ^= digestConstants[operationIndex]
        }
        func unlink(_ position: Int) {
            next[previous[position]] = next[position]
            previous[next[position]] = previous[position]
        }
        func relink(_ position: Int) {
            next[previous[position]] = position
            previous[next[position]] = position
        }
        func findWindowEnd() -> Int {
            var scan = next[head]
            while scan != tail && !entryIsReturn[scan] { scan = next[scan] }
            return scan == tail ? entryCount : scan
        }
        func lazyAvailable(_ operationIndex: Int) -> Bool {
            !isPlaced(operationIndex) && callOfOperation[operationIndex] < windowEnd
        }

        /// Chains of lazy operations (calls, in order) that leave `target` in the register,
        /// found backwards from their last operation (recursion no deeper than the chain).
        func chains(endingAt target: Int, into result: inout [(chain: [Int], value: Int)]) {
            var reversedChain: [Int] = []
            var visitedValues: [Int] = [target]
            func extend(_ value: Int) {
                for operationIndex in lazyByWrittenValue[value] ?? [] where lazyAvailable(operationIndex) {
                    let call = callOfOperation[operationIndex]
                    if reversedChain.contains(call) { continue }
                    reversedChain.append(call)
                    switch operations[operationIndex].effect {
                    case .compareAndSet(let expected, _, _) where expected != state:
                        if !visitedValues.contains(expected) {
                            visitedValues.append(expected)
                            extend(expected)
                            visitedValues.removeLast()
                        }
                    default:
                        result.append((reversedChain.reversed(), target))
                    }
                    reversedChain.removeLast()
                }
            }
            extend(target)
        }

        /// Places the operation called at `call` after the lazy operations of `chain`, unless
        /// the memo has seen the result.
        func place(call: Int, chain: [Int], newState: Int, alternative: Int, forced: Bool) -> Bool {
            togglePlaced(call)
            for link in chain { togglePlaced(link) }
            guard memo.insert(SearchMemoKey(digest: digest, state: newState, placed: placed)).inserted else {
                togglePlaced(call)
                for link in chain { togglePlaced(link) }
                return false
            }
            stack.append(SearchFrame(callPosition: call, chain: chain, previousState: state,
                                     alternative: alternative, forced: forced))
            state = newState
            unlink(call)
            let returnPosition = returnOfCall[call]
            if returnPosition >= 0 {
                unlink(returnPosition)
                completedRemaining -= 1
            }
            for link in chain { unlink(link) }
            return true
        }

        while true {
            if memo.count > statesMax { return (.exhausted, memo.count) }
            switch phase {
            case .fresh:
                // A new configuration. A read-only operation that may go next and matches the
                // register goes next: moving it earlier never hurts, so it is not a choice.
                if completedRemaining == 0 { return (.linearizable, memo.count) }
                var scan = next[head]
                while scan != tail && !entryIsReturn[scan] {
                    if readOnly[entryOperation[scan]],
                       apply(operations[entryOperation[scan]].effect, to: state, choice: 0) != nil {
                        break
                    }
                    scan = next[scan]
                }
                if scan != tail && !entryIsReturn[scan] {
                    phase = place(call: scan, chain: [], newState: state, alternative: 0, forced: true)
                        ? .fresh : .backtrack
                } else {
                    position = next[head]
                    firstAlternative = 0
                    windowEnd = scan == tail ? entryCount : scan
                    phase = .scan
                }

            case .scan:
                if position == tail || entryIsReturn[position] {
                    // The operation returning here was not placed in time.
                    phase = .backtrack
                    continue
                }
                let operationIndex = entryOperation[position]
                if lazy[operationIndex] {
                    position = next[position]
                    firstAlternative = 0
                    continue
                }
                let operation = operations[operationIndex]
                let choiceCount = operation.mayHaveNoEffect && returnOfCall[position] >= 0 ? 2 : 1
                var alternative = 0
                alternatives: for choice in 0..<choiceCount {
                    if let newState = apply(operation.effect, to: state, choice: choice) {
                        if alternative >= firstAlternative,
                           place(call: position, chain: [], newState: newState, alternative: alternative, forced: false) {
                            phase = .fresh
                            break alternatives
                        }
                        alternative += 1
                        continue
                    }
                    if lazyOperations.isEmpty { continue }
                    var found: [(chain: [Int], value: Int)] = []
                    switch operation.effect {
                    case .read(let observed):
                        chains(endingAt: observed, into: &found)
                    case .compareAndSet(let expected, _, let succeeded) where succeeded != false:
                        chains(endingAt: expected, into: &found)
                    default:
                        // A failed compare-and-set whose `expected` is in the register: any
                        // chain ending on another value explains it.
                        var targets: [Int] = []
                        for lazyIndex in lazyOperations where lazyAvailable(lazyIndex) {
                            switch operations[lazyIndex].effect {
                            case .write(let value), .compareAndSet(_, let value, _):
                                if apply(operation.effect, to: value, choice: choice) != nil,
                                   !targets.contains(value) {
                                    targets.append(value)
                                }
                            case .read:
                                break
                            }
                        }
                        for target in targets { chains(endingAt: target, into: &found) }
                    }
                    for (chain, value) in found {
                        guard let newState = apply(operation.effect, to: value, choice: choice) else { continue }
                        if alternative >= firstAlternative,
                           place(call: position, chain: chain, newState: newState, alternative: alternative,
                                 forced: false) {
                            phase = .fresh
                            break alternatives
                        }
                        alternative += 1
                    }
                }
                if phase == .scan {
                    position = next[position]
                    firstAlternative = 0
                }

            case .backtrack:
                // Undo the latest placement; a forced one was the configuration's only option.
                guard let frame = stack.popLast() else { return (.violation, memo.count) }
                let call = frame.callPosition
                for link in frame.chain.reversed() {
                    relink(link)
                    togglePlaced(link)
                }
                let returnPosition = returnOfCall[call]
                if returnPosition >= 0 {
                    relink(returnPosition)
                    completedRemaining += 1
                }
                relink(call)
                togglePlaced(call)
                state = frame.previousState
                if !frame.forced {
                    position = call
                    firstAlternative = frame.alternative + 1
                    windowEnd = findWindowEnd()
                    phase = .scan
                }
            }
        }
    }
}

private enum SearchPhase {
    /// Just placed an operation (or starting): look for a forced placement.
    case fresh
    /// Trying the calls of the list in order from `position`.
    case scan
    /// The current configuration has no way forward.
    case backtrack
}

