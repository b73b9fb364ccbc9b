import Foundation
import Histogram

/// Latencies of one measured phase, in microseconds, kept in an HDR histogram.
///
/// Values above `LatencyHistogram.microsecondsMax` are clamped to it (and counted in
/// `clampedCount`), so one stuck request cannot make the histogram throw its samples away.
struct LatencyHistogram: Sendable {
    /// The largest latency the histogram tracks exactly: one minute, in microseconds.
    static let microsecondsMax: UInt64 = 60_000_000

    private(set) var histogram = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: Self.microsecondsMax, numberOfSignificantValueDigits: .three)
    private(set) var clampedCount = 0

    /// Records one latency in microseconds.
    mutating func record(microseconds: UInt64) {
        let value = min(max(microseconds, 1), Self.microsecondsMax)
        if value != microseconds && microseconds > Self.microsecondsMax { clampedCount += 1 }
        let recorded = histogram.record(value)
        precondition(recorded, "a value within 1...microsecondsMax must always be recorded")
    }

    /// Records one latency given as a `Duration`.
    mutating func record(_ duration: Duration) {
        let microseconds = duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000
        record(microseconds: UInt64(max(0, microseconds)))
    }

    /// Adds every sample of another histogram.
    mutating func add(_ other: LatencyHistogram) {
        histogram.add(other.histogram)
        clampedCount += other.clampedCount
    }

    /// How many latencies were recorded.
    var count: Int { Int(histogram.totalCount) }

    /// The latency at a percentile (0 to 100), in milliseconds; nil when nothing was recorded.
    func milliseconds(atPercentile percentile: Double) -> Double? {
        guard histogram.totalCount > 0 else { return nil }
        return Double(histogram.valueAtPercentile(percentile)) / 1000
    }

    /// The median latency in milliseconds.
    var p50: Double? { milliseconds(atPercentile: 50) }
    /// The 99th-percentile latency in milliseconds.
    var p99: Double? { milliseconds(atPercentile: 99) }
    /// The largest latency recorded, in milliseconds.
    var maxMilliseconds: Double? { histogram.totalCount > 0 ? Double(histogram.max) / 1000 : nil }
}

/// What one load phase measured: the latencies of the operations that completed inside
/// the measured window, and how many failed.
struct LoadResult: Sendable {
    var latencies: LatencyHistogram
    /// Operations that completed successfully inside the measured window.
    var operations: Int
    /// Operations that threw inside the measured window.
    var errors: Int
    /// The measured window's length, in seconds (warm-up excluded).
    var seconds: Double

    /// Successful operations per second over the measured window.
    var throughput: Double { seconds > 0 ? Double(operations) / seconds : 0 }
}

/// A closed-loop load generator: `clients` tasks, each running one operation at a time,
/// for a warm-up (not recorded) and then a measured window.
///
/// ```swift
/// let result = try await LoadGenerator(label: "local-writes 16 clients", clients: 16, warmUpSeconds: 1, measureSeconds: 5)
///     .run { client, sequence in try await put(key: "k-\(client)-\(sequence)") }
/// print(result.throughput, result.latencies.p99 ?? 0)
/// ```
///
/// Rules: concurrency is exactly `clients`; an operation that throws counts as an error
/// and the client waits `errorPauseMilliseconds` before its next one; past
/// `errorsMax` errors the phase stops with `LoadGeneratorError`. Progress goes to
/// standard error once a second so that standard output holds only results.
struct LoadGenerator: Sendable {
    /// The most concurrent clients one phase may run.
    static let clientsMax = 1024
    /// The most errors one phase tolerates before it stops.
    static let errorsMax = 1000
    /// The pause after a failed operation, in milliseconds, so that a down server is not spun against.
    static let errorPauseMilliseconds = 10
    /// How often progress is printed, in milliseconds.
    static let progressIntervalMilliseconds = 1000

    var label: String
    var clients: Int
    var warmUpSeconds: Double
    var measureSeconds: Double

    /// Runs the phase; `operation` gets the client's number and that client's sequence number.
    func run(_ operation: @escaping @Sendable (_ client: Int, _ sequence: Int) async throws -> Void) async throws -> LoadResult {
        precondition((1...Self.clientsMax).contains(clients), "clients must be 1 to \(Self.clientsMax)")
        precondition(warmUpSeconds >= 0 && measureSeconds > 0, "the measured window must be positive")
        let clock = ContinuousClock()
        let start = clock.now
        let measureStart = start + .milliseconds(Int64(warmUpSeconds * 1000))
        let measureEnd = measureStart + .milliseconds(Int64(measureSeconds * 1000))
        let counters = LoadCounters()
        let progress = Task {
            while !Task.isCancelled {
                try await Task.sleep(for: .milliseconds(Self.progressIntervalMilliseconds))
                let elapsed = (clock.now - start).seconds
                let phase = clock.now < measureStart ? "warm-up" : "measuring"
                let counts = counters.counts
                let line = "  [\(label)] \(phase) \(Int(elapsed)) s: \(counts.completed) ok, \(counts.failed) errors\n"
                FileHandle.standardError.write(Data(line.utf8))
            }
        }
        defer { progress.cancel() }
        let perClient = try await withThrowingTaskGroup(of: LoadResult.self) { group in
            for client in 0..<clients {
                group.addTask {
                    var result = LoadResult(latencies: LatencyHistogram(), operations: 0, errors: 0, seconds: 0)
                    var sequence = 0
                    while clock.now < measureEnd {
                        let before = clock.now
                        var failed = false
                        do { try await operation(client, sequence) } catch is CancellationError { throw CancellationError() } catch { failed = true }
                        let after = clock.now
                        sequence += 1
                        if failed {
                            let total = counters.fail()
                            if before >= measureStart && after <= measureEnd { result.errors += 1 }
                            if total > Self.errorsMax { throw LoadGeneratorError(label: label, errors: total) }
                            try await Task.sleep(for: .milliseconds(Self.errorPauseMilliseconds))
                            continue
                        }
                        counters.complete()
                        // Only operations that started and finished inside the window count.
                        if before >= measureStart && after <= measureEnd {
                            result.operations += 1
                            result.latencies.record(after - before)
                        }
                    }
                    return result
                }
            }
            var total = LoadResult(latencies: LatencyHistogram(), operations: 0, errors: 0, seconds: measureSeconds)
            for try await result in group {
                total.latencies.add(result.latencies)
                total.operations += result.operations
                total.errors += result.errors
            }
            return total
        }
        return perClient
    }
}

/// The error a load phase stops with when too many operations failed.
struct LoadGeneratorError: Error, CustomStringConvertible {
    var label: String
    var errors: Int
    var description: String { "\(label): \(errors) operations failed (more than \(LoadGenerator.errorsMax)); stopping" }
}

/// Counters the clients and the progress printer share.
final class LoadCounters: @unchecked Sendable {
    private let lock = NSLock()
    /// Guarded by `lock`.
    private var completedCount = 0
    /// Guarded by `lock`.
    private var failedCount = 0

    /// Counts one successful operation.
    func complete() { lock.withLock { completedCount += 1 } }
    /// Counts one failed operation; returns the failures so far.
    func fail() -> Int { lock.withLock { failedCount += 1; return failedCount } }
    /// The successful and failed operations so far.
    var counts: (completed: Int, failed: Int) { lock.withLock { (completedCount, failedCount) } }
}

/// A flag one task raises and others read.
final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    /// Guarded by `lock`.
    private var raised = false

    func raise() { lock.withLock { raised = true } }
    var isRaised: Bool { lock.withLock { raised } }
}

extension Duration {
    /// The duration in seconds, as a `Double`.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
    /// The duration in milliseconds, as a `Double`.
    var milliseconds: Double { seconds * 1000 }
}

/// Ratios and floors: the arithmetic behind every closing line, kept pure so it can be tested.
enum BenchMath {
    /// `numerator / denominator`, or nil when either is missing or the denominator is not positive.
    static func ratio(_ numerator: Double?, _ denominator: Double?) -> Double? {
        guard let numerator, let denominator, denominator > 0 else { return nil }
        return numerator / denominator
    }

    /// A ratio printed with three decimals, or "n/a" when it could not be computed.
    static func format(_ ratio: Double?) -> String {
        ratio.map { String(format: "%.3f", $0) } ?? "n/a"
    }

    /// A number of milliseconds printed with two decimals, or "n/a".
    static func milliseconds(_ value: Double?) -> String {
        value.map { String(format: "%.2f", $0) } ?? "n/a"
    }

    /// The physical floor of a linearizable write from `client`'s region, in milliseconds:
    /// the round trip from the client's region to the leader, plus the leader's round trip
    /// to the farthest member of its nearest majority (the leader counts itself).
    ///
    /// - Parameter oneWay: the one-way delay between two distinct regions, in milliseconds.
    static func strongWriteFloorMilliseconds(client: String, leader: String, regions: [String], oneWay: (String, String) -> Double) -> Double {
        precondition(regions.contains(leader), "the leader must be one of the regions")
        let toLeader = client == leader ? 0 : 2 * oneWay(client, leader)
        let peerRoundTrips = regions.filter { $0 != leader }.map { 2 * oneWay(leader, $0) }.sorted()
        // A majority of n members is n / 2 + 1; the leader is one of them.
        let peersNeeded = regions.count / 2
        let quorumRoundTrip = peersNeeded == 0 ? 0 : peerRoundTrips[peersNeeded - 1]
        return toLeader + quorumRoundTrip
    }
}
