import Foundation
import MeridianCore
import MeridianRegion
import MeridianReplication

/// Runs a region's synchronous code on one dedicated thread.
///
/// Inputs (client requests, peer messages, connection events, ticks) queue up while a
/// step executes, in the region's `InputQueue` (the simulator uses the same queue with the
/// same limits); the thread then takes a batch and runs it as one step, so concurrent
/// writes share one storage transaction and one sync (group commit). The queue is
/// bounded: when it is full a request is refused at once with 503 and a peer message is
/// dropped (replication sends it again), rather than growing memory.
public final class RegionExecutor: @unchecked Sendable {
    /// The most inputs waiting for the executor.
    public static var pendingInputsMax: Int { InputQueue<Work>.inputsMaxDefault }

    typealias Completion = @Sendable (Result<RegionReply, MeridianError>, SessionMarks) -> Void

    enum Work {
        case request(RegionRequest, Completion)
        case input(RegionInput)

        var isTick: Bool {
            if case .input(.tick) = self { return true }
            return false
        }
    }

    // All mutable state below is guarded by `condition`.
    private let condition = NSCondition()
    private var pending = InputQueue<Work>()
    private var stopping = false
    /// When the region next needs a step even if no input comes (a waiting request's
    /// deadline), in wall milliseconds; the thread then runs a tick.
    private var wakeAtMilliseconds: UInt64?
    private var finished = false
    private var droppedInputs = 0
    /// The last failed storage transaction and when it failed (wall milliseconds); cleared
    /// when a request that changes data commits after it.
    private var lastStorageFailure: (atMilliseconds: UInt64, error: MeridianError)? = nil
    /// Damage found in this region's storage since it started or was last repaired.
    private var corruption = CorruptionReport()
    /// Told each damage when it is first found (the node logs it).
    private var corruptionObserver: (@Sendable (String) -> Void)?

    /// Requests waiting for a Raft commit or read index, by the region's ticket. Touched
    /// only on the executor thread; the region bounds how many wait and fails them at
    /// their deadline.
    private var waiting: [UInt64: Completion] = [:]

    private let region: Region
    private let wallMilliseconds: @Sendable () -> UInt64
    private let send: @Sendable ([(RegionID, PeerMessage)]) -> Void
    /// Told the change feed's newest sequence after every step.
    public let changes: ChangeNotifier

    /// Starts the executor thread for a region.
    ///
    /// - Parameters:
    ///   - wallMilliseconds: the wall clock, in milliseconds since the Unix epoch.
    ///   - send: hands the messages a step produced to the peer transport.
    public init(region: Region, wallMilliseconds: @escaping @Sendable () -> UInt64,
                send: @escaping @Sendable ([(RegionID, PeerMessage)]) -> Void = { _ in }) {
        self.region = region
        self.wallMilliseconds = wallMilliseconds
        self.send = send
        changes = ChangeNotifier(latest: region.latestChangeSequence)
        let thread = Thread { [self] in runLoop() }
        thread.name = "meridian-region"
        thread.start()
    }

    /// Runs one request and returns its result, with what the region had applied when it answered.
    public func perform(_ request: RegionRequest) async -> (Result<RegionReply, MeridianError>, SessionMarks) {
        await withCheckedContinuation { continuation in
            let refused = enqueue(.request(request) { continuation.resume(returning: ($0, $1)) })
            if let refused { continuation.resume(returning: (.failure(refused), SessionMarks())) }
        }
    }

    /// Queues a peer message, a connection event or a tick (at most one tick waits at a time).
    public func submit(_ input: RegionInput) {
        _ = enqueue(.input(input))
    }

    /// Queues work; returns the error that refused it, if any.
    private func enqueue(_ work: Work) -> MeridianError? {
        condition.lock()
        defer { condition.unlock() }
        if stopping { return MeridianError(.unavailable, code: "shutting_down", "the region is shutting down") }
        switch pending.enqueue(work, isTick: work.isTick) {
        case .queued:
            condition.signal()
            return nil
        case .coalesced:
            return nil
        case .refused:
            droppedInputs += 1
            return MeridianError(.unavailable, code: "overloaded", "the region has \(pending.inputsMax) inputs waiting; retry shortly")
        }
    }

    private func runLoop() {
        while let batch = nextBatch() {
            let inputs = batch.map { work -> RegionInput in
                switch work {
                case .request(let request, _): return .request(request)
                case .input(let input): return input
                }
            }
            let now = wallMilliseconds()
            var output = region.step(inputs, wallMilliseconds: now, monotonicMilliseconds: Self.monotonicMilliseconds())
            if let failure = output.storageFailure {
                condition.withLock { lastStorageFailure = (now, failure) }
                output = rerunningUnchangingRequests(of: batch, after: output, wallMilliseconds: now)
            } else if zip(requests(of: batch), output.replies).contains(where: { Self.changesData($0.0) && (try? $0.1.get()) != nil }) {
                // Data was written and synced: storage writes work again.
                condition.withLock { lastStorageFailure = nil }
            }
            noteCorruption(in: output)
            let marks = SessionMarks(positions: output.applied, raft: output.raftApplied)
            var replies = output.replies.makeIterator()
            for case .request(_, let completion) in batch {
                guard let reply = replies.next() else { preconditionFailure("a step answers every request") }
                if case .success(.pending(let ticket)) = reply {
                    waiting[ticket] = completion
                } else {
                    completion(reply, marks)
                }
            }
            for (ticket, result) in output.completions {
                waiting.removeValue(forKey: ticket)?(result, marks)
            }
            if !output.messages.isEmpty { send(output.messages) }
            changes.publish(output.latestChangeSequence)
            condition.lock()
            wakeAtMilliseconds = output.nextDeadlineMilliseconds
            condition.unlock()
        }
        let stopped = MeridianError(.unavailable, code: "shutting_down", "the region shut down before the request completed; it may still be applied")
        for (_, completion) in waiting { completion(.failure(stopped), SessionMarks()) }
        waiting = [:]
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    /// After a step's storage transaction failed, runs the requests of the step that change
    /// no data again, on their own: a read must not fail because a write, a tick (a log
    /// truncation) or a peer message it was batched with could not be stored on a full
    /// disk. The requests that change data keep their failure. Once only: when the step
    /// held nothing else, its reads failed on their own and keep that answer.
    private func rerunningUnchangingRequests(of batch: [Work], after failed: RegionOutput, wallMilliseconds now: UInt64) -> RegionOutput {
        let batchRequests = self.requests(of: batch)
        let unchanging = batchRequests.indices.filter { !Self.changesData(batchRequests[$0]) }
        guard !unchanging.isEmpty, unchanging.count < batch.count else { return failed }
        var retried = region.step(unchanging.map { .request(batchRequests[$0]) }, wallMilliseconds: now, monotonicMilliseconds: Self.monotonicMilliseconds())
        precondition(retried.replies.count == unchanging.count, "a step answers every request")
        var replies = failed.replies
        for (position, index) in unchanging.enumerated() { replies[index] = retried.replies[position] }
        retried.replies = replies
        return retried
    }

    private func requests(of batch: [Work]) -> [RegionRequest] {
        batch.compactMap { work in if case .request(let request, _) = work { request } else { nil } }
    }

    /// Whether a request changes data (a read that a Raft group confirms does not).
    static func changesData(_ request: RegionRequest) -> Bool {
        switch request {
        case .createTable, .deleteTable, .putItem, .deleteItem, .changeRegions, .failover, .transact, .repairTable: return true
        case .getItem, .listTables, .showTable, .scan, .conflicts, .clusterStatus, .placement, .divergence, .changes: return false
        }
    }

    // MARK: Corruption

    /// Damage found so far: how many times, and the most recent descriptions.
    public struct CorruptionReport: Sendable {
        /// The most descriptions kept.
        public static let problemsMax = 8
        /// Damage found since the node started (repairs do not reset it).
        public var detectedTotal = 0
        /// The latest distinct descriptions, newest last; cleared by a repair.
        public var problems: [String] = []

        mutating func note(_ problem: String) -> Bool {
            detectedTotal += 1
            guard !problems.contains(problem) else { return false }
            problems.append(problem)
            if problems.count > Self.problemsMax { problems.removeFirst() }
            return true
        }
    }

    /// Whether an error says that stored bytes are damaged.
    static func isCorruption(_ error: MeridianError) -> Bool {
        error.code == "corrupt_row" || error.code == "corrupt_database"
    }

    /// Sets who is told of each newly found damage.
    public func observeCorruption(_ observer: @escaping @Sendable (String) -> Void) {
        condition.withLock { corruptionObserver = observer }
    }

    /// Records damage found outside a step (the startup integrity check).
    public func noteCorruption(_ problem: String) {
        let (isNew, observer) = condition.withLock { (corruption.note(problem), corruptionObserver) }
        if isNew { observer?(problem) }
    }

    /// The damage found so far.
    public var corruptionFound: CorruptionReport {
        condition.withLock { corruption }
    }

    private func noteCorruption(in output: RegionOutput) {
        var found: [String] = []
        if let failure = output.storageFailure, Self.isCorruption(failure) { found.append(failure.message) }
        var repaired = false
        for reply in output.replies + output.completions.map({ $0.result }) {
            switch reply {
            case .failure(let error) where Self.isCorruption(error): found.append(error.message)
            case .success(.repairing): repaired = true
            default: break
            }
        }
        guard !found.isEmpty || repaired else { return }
        if repaired { condition.withLock { corruption.problems = [] } }
        for problem in found { noteCorruption(problem) }
    }

    /// The last storage failure, when it happened less than `withinMilliseconds` ago and no
    /// request that changes data has committed since: its age in milliseconds and its error.
    public func recentStorageFailure(withinMilliseconds: UInt64) -> (ageMilliseconds: UInt64, error: MeridianError)? {
        let now = wallMilliseconds()
        return condition.withLock {
            guard let failure = lastStorageFailure, now < failure.atMilliseconds + withinMilliseconds else { return nil }
            return (now >= failure.atMilliseconds ? now - failure.atMilliseconds : 0, failure.error)
        }
    }

    /// Inputs waiting for the executor.
    public var queuedInputs: Int {
        condition.withLock { pending.count }
    }

    /// Waits for work; `nil` once stopping and drained.
    private func nextBatch() -> [Work]? {
        condition.lock()
        defer { condition.unlock() }
        while pending.isEmpty && !stopping {
            guard let wakeAt = wakeAtMilliseconds else {
                condition.wait()
                continue
            }
            let now = wallMilliseconds()
            if now >= wakeAt {
                // A waiting request's deadline came with no other input: a tick answers it.
                wakeAtMilliseconds = nil
                _ = pending.enqueue(.input(.tick), isTick: true)
            } else {
                _ = condition.wait(until: Date(timeIntervalSinceNow: Double(wakeAt - now) / 1000))
            }
        }
        if pending.isEmpty { return nil }
        return pending.nextBatch(isTick: \.isTick)
    }

    /// Milliseconds of a clock that never jumps (the system's uptime): Raft's ticks follow it.
    static func monotonicMilliseconds() -> UInt64 {
        UInt64(ProcessInfo.processInfo.systemUptime * 1000)
    }

    /// Stops taking work, finishes what is queued, and waits for the thread to end.
    public func shutdown() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }
}
