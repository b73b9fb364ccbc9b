import Foundation

/// A TCP proxy on 127.0.0.1 that holds every byte for a one-way delay before passing it
/// on, separately per direction, the way etcd's robustness tests inject latency between
/// members. Order within a direction is preserved (one FIFO queue per direction, every
/// chunk due at its arrival time plus the same delay) and buffers are bounded: a
/// direction that holds `bufferedBytesMax` stops reading until its writer catches up.
///
/// ```swift
/// let proxy = try DelayProxy(targetPort: 5432, delays: .init(forwardMilliseconds: 35, backwardMilliseconds: 35))
/// // connect to 127.0.0.1:\(proxy.port) instead of 5432
/// proxy.stop()
/// ```
///
/// The delays of a connection may depend on its first bytes (`delaysForConnection`): the
/// etcd comparison tells peers apart by the `X-Server-From` header of their first request.
final class DelayProxy: @unchecked Sendable {
    /// The largest chunk read at once, in bytes.
    static let chunkBytesMax = 64 << 10
    /// The most bytes one direction of one connection holds before it stops reading.
    static let bufferedBytesMax = 8 << 20
    /// The most connections one proxy carries at once.
    static let connectionsMax = 256
    /// The listening socket's backlog of connections not yet accepted.
    static let acceptBacklogMax: Int32 = 64

    /// One connection's one-way delays.
    struct Delays: Sendable, Equatable {
        /// From the connecting side to the target, in milliseconds.
        var forwardMilliseconds: Double
        /// From the target back to the connecting side, in milliseconds.
        var backwardMilliseconds: Double
    }

    /// The port the proxy listens on (127.0.0.1).
    let port: Int
    let targetPort: Int
    private let listener: Int32
    private let lock = NSLock()
    /// Guarded by `lock`.
    private var defaultDelays: Delays
    /// Guarded by `lock`: chooses a connection's delays from its first chunk; nil keeps the default.
    private var delaysForConnection: (@Sendable ([UInt8]) -> Delays?)?
    /// Guarded by `lock`: the sockets of open connections (both ends).
    private var openSockets: Set<Int32> = []
    /// Guarded by `lock`.
    private var stopped = false

    /// Listens on a free port of 127.0.0.1 and forwards to `targetPort` on 127.0.0.1.
    init(targetPort: Int, delays: Delays, listenPort: Int = 0) throws {
        self.targetPort = targetPort
        defaultDelays = delays
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw BenchError("delay proxy: socket() failed: errno \(errno)") }
        var reuse: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var address = Self.loopback(port: listenPort)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listening = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                guard bind(descriptor, pointer, length) == 0, listen(descriptor, Self.acceptBacklogMax) == 0 else { return -1 }
                return getsockname(descriptor, pointer, &length)
            }
        }
        guard listening == 0 else {
            close(descriptor)
            throw BenchError("delay proxy: cannot listen on 127.0.0.1:\(listenPort): errno \(errno)")
        }
        listener = descriptor
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "delay-proxy-\(port)"
        thread.start()
    }

    /// Changes the delays of connections opened from now on, and how they are chosen.
    func configure(defaultDelays: Delays, delaysForConnection: (@Sendable ([UInt8]) -> Delays?)?) {
        lock.withLock {
            self.defaultDelays = defaultDelays
            self.delaysForConnection = delaysForConnection
        }
    }

    /// Closes every open connection (the peers reconnect and get the current delays).
    func resetConnections() {
        let sockets = lock.withLock { openSockets }
        for descriptor in sockets { shutdown(descriptor, Int32(SHUT_RDWR)) }
    }

    /// Stops listening and closes every connection.
    func stop() {
        lock.withLock { stopped = true }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        resetConnections()
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if lock.withLock({ stopped }) { return }
                if errno == EINTR { continue }
                return
            }
            let admitted = lock.withLock { () -> Bool in
                guard !stopped, openSockets.count < 2 * Self.connectionsMax else { return false }
                openSockets.insert(client)
                return true
            }
            guard admitted else { close(client); continue }
            let thread = Thread { [self] in serve(client) }
            thread.start()
        }
    }

    /// Connects to the target, chooses the delays from the first chunk, then runs both directions.
    private func serve(_ client: Int32) {
        var noDelay: Int32 = 1
        setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &noDelay, socklen_t(MemoryLayout<Int32>.size))
        let target = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        setsockopt(target, Int32(IPPROTO_TCP), TCP_NODELAY, &noDelay, socklen_t(MemoryLayout<Int32>.size))
        var address = Self.loopback(port: targetPort)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(target, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(target)
            finish([client])
            return
        }
        lock.withLock { _ = openSockets.insert(target) }
        // The first chunk from the connecting side decides the delays of the whole connection.
        var first = [UInt8](repeating: 0, count: Self.chunkBytesMax)
        let count = read(client, &first, first.count)
        guard count > 0 else {
            finish([client, target])
            return
        }
        first.removeSubrange(count...)
        let delays = lock.withLock { delaysForConnection?(first) ?? defaultDelays }
        let forward = DelayQueue(delayMilliseconds: delays.forwardMilliseconds)
        let backward = DelayQueue(delayMilliseconds: delays.backwardMilliseconds)
        forward.push(first)
        let group = DispatchGroup()
        for (source, destination, queue) in [(client, target, forward), (target, client, backward)] {
            group.enter()
            Thread { Self.pump(from: source, into: queue); group.leave() }.start()
            group.enter()
            Thread { Self.drain(queue, to: destination); group.leave() }.start()
        }
        group.wait()
        finish([client, target])
    }

    private func finish(_ sockets: [Int32]) {
        lock.withLock { for descriptor in sockets { openSockets.remove(descriptor) } }
        for descriptor in sockets { close(descriptor) }
    }

    /// Reads chunks into the queue until the source ends.
    private static func pump(from source: Int32, into queue: DelayQueue) {
        var buffer = [UInt8](repeating: 0, count: chunkBytesMax)
        while true {
            let count = read(source, &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            guard count > 0, queue.push(Array(buffer[0..<count])) else { break }
        }
        queue.close()
    }

    /// Writes each chunk once it is due; ends the destination's writing side at the end.
    private static func drain(_ queue: DelayQueue, to destination: Int32) {
        while let chunk = queue.pop() {
            var offset = 0
            while offset < chunk.count {
                let written = chunk.withUnsafeBytes { send(destination, $0.baseAddress! + offset, chunk.count - offset, Int32(MSG_NOSIGNAL)) }
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else {
                    queue.abandon()
                    shutdown(destination, Int32(SHUT_RDWR))
                    return
                }
                offset += written
            }
        }
        shutdown(destination, Int32(SHUT_WR))
    }
}

/// One direction's chunks in arrival order, each due at its arrival time plus the delay.
/// Bounded: `push` waits while `DelayProxy.bufferedBytesMax` bytes are queued.
final class DelayQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private let delay: Duration
    /// Guarded by `condition`. Invariant: due times never decrease along the queue.
    private var chunks: [(due: ContinuousClock.Instant, bytes: [UInt8])] = []
    private var head = 0
    private var bufferedBytes = 0
    private var closed = false
    private var abandoned = false

    init(delayMilliseconds: Double) {
        delay = .microseconds(Int64(delayMilliseconds * 1000))
    }

    /// Queues a chunk; false when the reader side gave up (nothing will be written any more).
    @discardableResult
    func push(_ bytes: [UInt8]) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while bufferedBytes >= DelayProxy.bufferedBytesMax && !abandoned { condition.wait() }
        guard !abandoned else { return false }
        chunks.append((ContinuousClock.now + delay, bytes))
        bufferedBytes += bytes.count
        condition.broadcast()
        return true
    }

    /// No more chunks will come.
    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    /// The writer failed: drop everything and release a waiting `push`.
    func abandon() {
        condition.lock()
        abandoned = true
        chunks = []
        head = 0
        bufferedBytes = 0
        condition.broadcast()
        condition.unlock()
    }

    /// The next chunk once it is due; nil after `close` when the queue is empty.
    func pop() -> [UInt8]? {
        condition.lock()
        while head == chunks.count && !closed { condition.wait() }
        guard head < chunks.count else {
            condition.unlock()
            return nil
        }
        let (due, bytes) = chunks[head]
        head += 1
        bufferedBytes -= bytes.count
        if head > 1024 && head * 2 > chunks.count {
            chunks.removeFirst(head)
            head = 0
        }
        condition.broadcast()
        condition.unlock()
        let wait = due - ContinuousClock.now
        if wait > .zero { Thread.sleep(forTimeInterval: wait.seconds) }
        return bytes
    }
}
