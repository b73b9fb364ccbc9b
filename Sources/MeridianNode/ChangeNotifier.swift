import NIOConcurrencyHelpers

/// Wakes change-feed subscribers when the region's feed grows, so that they wait for the
/// next change instead of asking storage again and again.
///
/// Every region step reports the newest sequence of the feed (`RegionOutput.latestChangeSequence`);
/// the executor publishes it here after the step committed. A subscriber waits until the
/// sequence passes the one its cursor names, or until its timeout. The notifier also
/// counts the streams open at once, bounded by `streamsMax`.
public final class ChangeNotifier: Sendable {
    /// The most change-feed streams a node serves at once.
    public static let streamsMax = 1_024

    private enum Slot {
        /// Registered by `wait`, not yet parked.
        case pending
        case parked(above: UInt64, CheckedContinuation<Void, Never>)
        /// Released (timeout or cancellation) before it parked.
        case released
    }

    private struct State {
        var latest: UInt64
        var slots: [UInt64: Slot] = [:]
        var nextID: UInt64 = 0
        var openStreams = 0
        var closed = false
    }

    private let state: NIOLockedValueBox<State>

    /// Starts at the feed's newest sequence when the node opens.
    public init(latest: UInt64) {
        state = NIOLockedValueBox(State(latest: latest))
    }

    /// The newest sequence published.
    public var latest: UInt64 { state.withLockedValue { $0.latest } }

    /// Whether the node is shutting down: waits return at once, and streams end.
    public var isClosed: Bool { state.withLockedValue { $0.closed } }

    /// Ends every wait now and every later one at once (the server is shutting down: its
    /// streams end with a resumable cursor instead of holding the shutdown up).
    public func close() {
        let woken: [CheckedContinuation<Void, Never>] = state.withLockedValue { state in
            state.closed = true
            var woken: [CheckedContinuation<Void, Never>] = []
            for (id, slot) in state.slots {
                guard case .parked(_, let continuation) = slot else { continue }
                state.slots[id] = nil
                woken.append(continuation)
            }
            return woken
        }
        for continuation in woken { continuation.resume() }
    }

    /// Publishes the feed's newest sequence after a step; wakes every subscriber waiting below it.
    public func publish(_ sequence: UInt64) {
        let woken: [CheckedContinuation<Void, Never>] = state.withLockedValue { state in
            guard sequence > state.latest else { return [] }
            state.latest = sequence
            var woken: [CheckedContinuation<Void, Never>] = []
            for (id, slot) in state.slots {
                guard case .parked(let above, let continuation) = slot, above < sequence else { continue }
                state.slots[id] = nil
                woken.append(continuation)
            }
            return woken
        }
        for continuation in woken { continuation.resume() }
    }

    /// Waits until the newest sequence is above `sequence`, `timeoutMilliseconds` passed, or
    /// the task is cancelled; returns the newest sequence.
    public func wait(above sequence: UInt64, timeoutMilliseconds: UInt64) async -> UInt64 {
        let id = state.withLockedValue { state -> UInt64 in
            state.nextID += 1
            state.slots[state.nextID] = .pending
            return state.nextID
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.park(id, above: sequence) }
            group.addTask { try? await Task.sleep(for: .milliseconds(Int64(timeoutMilliseconds))) }
            await group.next()
            group.cancelAll()
            release(id)
        }
        return latest
    }

    private func park(_ id: UInt64, above sequence: UInt64) async {
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLockedValue { state -> Bool in
                guard case .pending? = state.slots[id], state.latest <= sequence, !state.closed else {
                    state.slots[id] = nil
                    return true
                }
                state.slots[id] = .parked(above: sequence, continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    private func release(_ id: UInt64) {
        let parked = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            switch state.slots[id] {
            case .parked(_, let continuation)?:
                state.slots[id] = nil
                return continuation
            case .pending?:
                // `park` has not run yet: it finds the slot released and returns at once.
                state.slots[id] = .released
                return nil
            case .released?, nil:
                return nil
            }
        }
        parked?.resume()
    }

    /// Counts a new stream; false (and nothing counted) when `streamsMax` are open.
    public func openStream() -> Bool {
        state.withLockedValue { state in
            guard state.openStreams < Self.streamsMax else { return false }
            state.openStreams += 1
            return true
        }
    }

    /// Counts a stream as closed.
    public func closeStream() {
        state.withLockedValue { state in
            precondition(state.openStreams > 0, "a stream closes only once it opened")
            state.openStreams -= 1
        }
    }
}
