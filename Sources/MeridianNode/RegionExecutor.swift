import Foundation
import MeridianCore
import MeridianRegion

/// Runs a region's synchronous code on one dedicated thread.
///
/// Requests queue up while a batch executes; the thread then takes up to
/// `batchRequestsMax` of them and runs them as one batch, so concurrent writes share one
/// storage transaction and one sync (group commit). The queue is bounded: past
/// `pendingRequestsMax` a request is refused at once with 503 rather than growing memory.
public final class RegionExecutor: @unchecked Sendable {
    /// The most requests waiting for the executor.
    public static let pendingRequestsMax = 8192
    /// The most requests run in one batch (one storage transaction).
    public static let batchRequestsMax = 512

    typealias Completion = @Sendable (Result<RegionReply, MeridianError>) -> Void

    // All mutable state below is guarded by `condition`.
    private let condition = NSCondition()
    private var pending: [(RegionRequest, Completion)] = []
    private var stopping = false
    private var finished = false

    private let region: Region
    private let wallMilliseconds: @Sendable () -> UInt64

    /// Starts the executor thread for a region.
    ///
    /// - Parameter wallMilliseconds: the wall clock, in milliseconds since the Unix epoch.
    public init(region: Region, wallMilliseconds: @escaping @Sendable () -> UInt64) {
        self.region = region
        self.wallMilliseconds = wallMilliseconds
        let thread = Thread { [self] in runLoop() }
        thread.name = "meridian-region"
        thread.start()
    }

    /// Runs one request and returns its result.
    public func perform(_ request: RegionRequest) async -> Result<RegionReply, MeridianError> {
        await withCheckedContinuation { continuation in
            enqueue(request) { continuation.resume(returning: $0) }
        }
    }

    private func enqueue(_ request: RegionRequest, completion: @escaping Completion) {
        condition.lock()
        if stopping {
            condition.unlock()
            completion(.failure(MeridianError(.unavailable, code: "shutting_down", "the region is shutting down")))
            return
        }
        if pending.count >= Self.pendingRequestsMax {
            condition.unlock()
            completion(.failure(MeridianError(.unavailable, code: "overloaded", "the region has \(Self.pendingRequestsMax) requests waiting; retry shortly")))
            return
        }
        pending.append((request, completion))
        condition.signal()
        condition.unlock()
    }

    private func runLoop() {
        while let batch = nextBatch() {
            let results = region.execute(batch.map(\.0), wallMilliseconds: wallMilliseconds())
            for ((_, completion), result) in zip(batch, results) { completion(result) }
        }
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    /// Waits for work; `nil` once stopping and drained.
    private func nextBatch() -> [(RegionRequest, Completion)]? {
        condition.lock()
        defer { condition.unlock() }
        while pending.isEmpty && !stopping { condition.wait() }
        if pending.isEmpty { return nil }
        let count = min(pending.count, Self.batchRequestsMax)
        let batch = Array(pending.prefix(count))
        pending.removeFirst(count)
        return batch
    }

    /// Stops taking requests, finishes the queued ones, and waits for the thread to end.
    public func shutdown() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }
}
