/// The scheduler's pending events, ordered by virtual time and then by the order they were
/// scheduled, so that two events at the same millisecond always run in the same order.
///
/// A binary min-heap: `schedule` and `next` are O(log n).
struct EventQueue {
    struct Scheduled {
        /// Virtual time at which the event runs, in milliseconds.
        var time: UInt64
        /// Scheduling order, the tie-breaker among events at the same time.
        var order: UInt64
        var event: SimulationEvent

        func precedes(_ other: Scheduled) -> Bool {
            time < other.time || (time == other.time && order < other.order)
        }
    }

    /// The most events that may wait at once: a run whose queue grows past it has a bug
    /// (an event that schedules more than it consumes), which stops the run.
    static let pendingEventsMax = 1_000_000

    private var heap: [Scheduled] = []
    private var nextOrder: UInt64 = 0

    var count: Int { heap.count }
    var isEmpty: Bool { heap.isEmpty }

    mutating func schedule(_ event: SimulationEvent, at time: UInt64) {
        precondition(heap.count < Self.pendingEventsMax, "the event queue exceeded \(Self.pendingEventsMax) pending events")
        heap.append(Scheduled(time: time, order: nextOrder, event: event))
        nextOrder += 1
        siftUp(heap.count - 1)
    }

    /// Removes and returns the earliest event.
    mutating func next() -> Scheduled? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let earliest = heap.removeLast()
        if !heap.isEmpty { siftDown(0) }
        return earliest
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].precedes(heap[parent]) else { return }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count && heap[left].precedes(heap[smallest]) { smallest = left }
            if right < heap.count && heap[right].precedes(heap[smallest]) { smallest = right }
            guard smallest != parent else { return }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
