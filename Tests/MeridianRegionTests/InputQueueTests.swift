import MeridianRegion
import Testing

/// The queue in front of a region, which the node's executor and the simulator share.
@Suite struct InputQueueTests {
    @Test func batchesInArrivalOrderUpToTheBatchLimit() {
        var queue = InputQueue<Int>(inputsMax: 100, batchInputsMax: 3)
        for value in 1...7 { #expect(queue.enqueue(value) == .queued) }
        #expect(queue.nextBatch { _ in false } == [1, 2, 3])
        #expect(queue.nextBatch { _ in false } == [4, 5, 6])
        #expect(queue.enqueue(8) == .queued)
        #expect(queue.nextBatch { _ in false } == [7, 8])
        #expect(queue.nextBatch { _ in false } == [])
        #expect(queue.isEmpty)
    }

    @Test func aFullQueueRefusesInsteadOfGrowing() {
        var queue = InputQueue<Int>(inputsMax: 4, batchInputsMax: 2)
        for value in 1...4 { #expect(queue.enqueue(value) == .queued) }
        #expect(queue.enqueue(5) == .refused)
        #expect(queue.count == 4)
        _ = queue.nextBatch { _ in false }
        #expect(queue.enqueue(5) == .queued)
        #expect(queue.removeAll() == [3, 4, 5])
    }

    @Test func atMostOneTickWaits() {
        var queue = InputQueue<Int>(inputsMax: 10, batchInputsMax: 2)
        #expect(queue.enqueue(0, isTick: true) == .queued)
        #expect(queue.enqueue(0, isTick: true) == .coalesced)
        #expect(queue.enqueue(1) == .queued)
        #expect(queue.enqueue(2) == .queued)
        #expect(queue.tickQueued)
        #expect(queue.nextBatch { $0 == 0 } == [0, 1])
        // The tick was taken: the next one waits again.
        #expect(!queue.tickQueued)
        #expect(queue.enqueue(0, isTick: true) == .queued)
        #expect(queue.nextBatch { $0 == 0 } == [2, 0])
    }

    @Test func aTickIsRefusedWhenTheQueueIsFull() {
        var queue = InputQueue<Int>(inputsMax: 1, batchInputsMax: 1)
        #expect(queue.enqueue(1) == .queued)
        #expect(queue.enqueue(0, isTick: true) == .refused)
        #expect(!queue.tickQueued)
    }
}
