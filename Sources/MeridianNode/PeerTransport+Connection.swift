import MeridianCore
import NIOCore

/// One peer connection that completed its handshake, and its outgoing queue.
///
/// Every frame gets a departure time, `max(previous departure, now + oneWayDelay)`, so
/// frames leave in order and none before its delay. Frames wait in `pending` (in
/// departure order) until due; one timer, armed for the earliest, writes every due frame
/// on the channel's event loop. Bytes count against `PeerTransport.sendQueueBytesMax`
/// from `enqueue` until the socket has taken them.
final class PeerConnection: Sendable {
    let peer: RegionID
    let channel: any Channel
    /// Whether the lower-named region of the pair dialed this connection (the preferred one).
    let dialedByLower: Bool
    private let oneWayDelay: TimeAmount
    private let queue = PeerTransportLock(SendQueue())

    private struct SendQueue: Sendable {
        var pending = CircularBuffer<(departure: NIODeadline, frame: ByteBuffer)>()
        /// Bytes queued and not yet taken by the socket.
        var queuedBytes = 0
        var lastDeparture = NIODeadline.uptimeNanoseconds(0)
        /// Whether a timer or task will write `pending.first`.
        var isWriteArmed = false
        /// The timer armed for a future departure, cancelled when the connection closes.
        var timer: Scheduled<Void>? = nil
        var isClosed = false
    }

    init(peer: RegionID, channel: any Channel, dialedByLower: Bool, oneWayDelay: TimeAmount) {
        self.peer = peer
        self.channel = channel
        self.dialedByLower = dialedByLower
        self.oneWayDelay = oneWayDelay
    }

    /// Bytes queued and not yet taken by the socket (for metrics).
    var queuedBytes: Int { queue.withLock { $0.queuedBytes } }

    /// Queues an encoded frame; `false` (and dropped) when the queue would exceed its bound.
    func enqueue(_ frame: [UInt8]) -> Bool {
        let buffer = channel.allocator.buffer(bytes: frame)
        let now = NIODeadline.now()
        let outcome: EnqueueOutcome = queue.withLock { queue in
            guard !queue.isClosed, queue.queuedBytes + frame.count <= PeerTransport.sendQueueBytesMax else { return .full }
            let departure = max(queue.lastDeparture, now + oneWayDelay)
            queue.lastDeparture = departure
            queue.queuedBytes += frame.count
            queue.pending.append((departure, buffer))
            if queue.isWriteArmed { return .queued }
            queue.isWriteArmed = true
            return .queuedFirst(departure: departure)
        }
        switch outcome {
        case .full: return false
        case .queued: return true
        case .queuedFirst(let departure):
            armWrite(at: departure)
            return true
        }
    }

    private enum EnqueueOutcome {
        case full
        /// Queued behind frames that an armed write will reach.
        case queued
        /// Queued at the head: the caller arms the write.
        case queuedFirst(departure: NIODeadline)
    }

    private func armWrite(at departure: NIODeadline) {
        if departure <= NIODeadline.now() {
            channel.eventLoop.execute { self.writeDueFrames() }
            return
        }
        let timer = channel.eventLoop.scheduleTask(deadline: departure) { self.writeDueFrames() }
        let closed = queue.withLock { queue in
            if !queue.isClosed { queue.timer = timer }
            return queue.isClosed
        }
        if closed { timer.cancel() }
    }

    /// Drops every queued frame and the timer: the connection closed.
    func discardQueued() {
        let timer = queue.withLock { queue in
            queue.isClosed = true
            queue.pending.removeAll()
            queue.queuedBytes = 0
            defer { queue.timer = nil }
            return queue.timer
        }
        timer?.cancel()
    }

    /// Writes every frame whose departure has come, then re-arms for the next one.
    private func writeDueFrames() {
        let now = NIODeadline.now()
        let (due, next) = queue.withLock { queue in
            var due: [ByteBuffer] = []
            while let first = queue.pending.first, first.departure <= now {
                due.append(queue.pending.removeFirst().frame)
            }
            let next = queue.pending.first?.departure
            queue.isWriteArmed = next != nil
            queue.timer = nil
            return (due, next)
        }
        if !due.isEmpty {
            let dueBytes = due.reduce(0) { $0 + $1.readableBytes }
            let written = channel.eventLoop.makePromise(of: Void.self)
            for (index, frame) in due.enumerated() {
                channel.write(frame, promise: index == due.count - 1 ? written : nil)
            }
            channel.flush()
            // Writes complete in order, so the last one's completion releases the whole batch.
            written.futureResult.whenComplete { _ in
                self.queue.withLock { queue in
                    if !queue.isClosed { queue.queuedBytes -= dueBytes }
                }
            }
        }
        if let next { armWrite(at: next) }
    }
}
