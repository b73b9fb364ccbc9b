import Logging
import MeridianCore
import MeridianRegion
import MeridianReplication
import MeridianWire
import NIOCore
import NIOPosix

/// Receives what the peer transport observes. Calls arrive one at a time, in the order
/// the transport observed them, on an event-loop thread: return quickly.
public protocol PeerTransportDelegate: AnyObject, Sendable {
    /// A connection to `peer` completed its handshake; messages to it may now be sent.
    func peerConnected(_ peer: RegionID)
    /// The connection to `peer` closed; the transport is already reconnecting.
    func peerDisconnected(_ peer: RegionID)
    /// A message arrived from `peer`, in the order `peer` sent it.
    func received(_ message: PeerMessage, from peer: RegionID)
}

/// Which direction of a link a fault cuts, seen from the local region.
public enum LinkDirection: String, Sendable, CaseIterable {
    /// Frames this region sends to the peer.
    case outbound
    /// Frames the peer sends to this region.
    case inbound
    /// Both.
    case both
}

/// The TCP links between this region and its peers: one connection per pair of regions.
///
/// ```swift
/// let transport = PeerTransport(local: usEast, listen: HostAndPort("0.0.0.0:7101")!, peers: peers,
///                               clusterID: "prod", oneWayDelayMilliseconds: [:], delegate: relay,
///                               group: MultiThreadedEventLoopGroup.singleton, logger: logger)
/// try await transport.start()
/// transport.send(.replication(.catchUp(applied)), to: euWest)
/// ```
///
/// Rules:
/// - The region whose name sorts lower dials; the other accepts. Each side sends a `Hello`
///   (the dialer first; the acceptor answers once the dialer's is valid) and refuses a peer
///   of another cluster, an unexpected region, an unsupported protocol version or any
///   malformed frame by closing that connection with a logged warning.
/// - The dialer retries forever, from `reconnectDelayMillisecondsMin` doubling up to
///   `reconnectDelayMillisecondsMax`, until `shutdown`.
/// - Should two connections to one peer complete their handshakes, the one dialed by the
///   lower region is kept (both sides agree on it), or the newer when both were dialed by
///   the same side (the older is then presumed dead).
/// - Sending never blocks: a frame is dropped (and `send` returns `false`) when the peer is
///   not connected or its queue holds `sendQueueBytesMax`; replication retransmits.
/// - Every frame to a peer leaves no sooner than its one-way delay after `send`, in order.
/// - A cut link drops frames silently in the cut direction and keeps the connection up.
public final class PeerTransport: Sendable {
    /// The first delay before redialing a peer, in milliseconds.
    public static let reconnectDelayMillisecondsMin: Int64 = 50
    /// The longest delay between two dials of a peer, in milliseconds.
    public static let reconnectDelayMillisecondsMax: Int64 = 5_000
    /// The most encoded bytes queued for one peer (waiting for their delay or for the socket).
    public static let sendQueueBytesMax = 16 << 20
    /// How long a new connection may take to complete its handshake, in milliseconds.
    public static let handshakeTimeoutMilliseconds: Int64 = 5_000
    /// How long one dial may take, in milliseconds.
    public static let connectTimeoutMilliseconds: Int64 = 3_000

    /// This region.
    public let local: RegionID
    let clusterID: String
    let logger: Logger
    private let listenAddress: HostAndPort
    let peerAddresses: [RegionID: HostAndPort]
    private let oneWayDelays: [RegionID: TimeAmount]
    private let group: any EventLoopGroup
    let state: PeerTransportLock<PeerTransportState>
    /// Peer authentication and TLS (PeerTransport+Security.swift).
    let security: PeerSecurity

    /// Makes a transport; nothing happens until `start`.
    ///
    /// - Parameters:
    ///   - listen: where to accept peers (port 0: any free port, see `boundPort`).
    ///   - peers: every other region and where it accepts; only the addresses of regions
    ///     that sort above `local` are dialed.
    ///   - oneWayDelayMilliseconds: the delay injected before every frame to a region
    ///     (absent, zero, negative or not finite: none).
    ///   - delegate: held until `shutdown`.
    ///   - group: runs the sockets and timers; the caller owns it and shuts it down.
    public init(local: RegionID, listen: HostAndPort, peers: [RegionID: HostAndPort], clusterID: String,
                oneWayDelayMilliseconds: [RegionID: Double], delegate: any PeerTransportDelegate,
                group: any EventLoopGroup, logger: Logger, security: PeerSecurity = PeerSecurity()) {
        precondition((1...Wire.clusterIDBytesMax).contains(clusterID.utf8.count),
                     "a cluster id is 1 to \(Wire.clusterIDBytesMax) bytes")
        self.local = local
        self.clusterID = clusterID
        self.security = security
        self.logger = logger
        listenAddress = listen
        self.group = group
        peerAddresses = peers.filter { $0.key != local }
        oneWayDelays = oneWayDelayMilliseconds.compactMapValues { milliseconds in
            guard milliseconds.isFinite, milliseconds > 0 else { return nil }
            return .nanoseconds(Int64(milliseconds * 1_000_000))
        }
        state = PeerTransportLock(PeerTransportState(peers: Array(peerAddresses.keys), delegate: delegate))
    }

    /// The port the listener is bound to, once `start` returned.
    public var boundPort: Int? {
        state.withLock { $0.boundPort }
    }

    /// Binds the listener and starts dialing the peers this region dials. Call once.
    public func start() async throws {
        state.withLock { state in
            precondition(state.phase == .created, "a peer transport starts once")
            state.phase = .starting
        }
        let listener = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [self] channel in initialize(channel, role: .acceptor) }
            .bind(host: listenAddress.host, port: listenAddress.port)
            .get()
        let running = state.withLock { state in
            guard state.phase == .starting else { return false }
            state.phase = .running
            state.listener = listener
            state.boundPort = listener.localAddress?.port
            return true
        }
        guard running else {
            try? await listener.close()
            return
        }
        logger.info("peer transport listening", metadata: ["region": "\(local)", "port": "\(boundPort.map(String.init) ?? "?")"])
        for peer in peerAddresses.keys.sorted() where local < peer {
            dial(peer)
        }
    }

    /// Queues a message for a connected peer.
    ///
    /// An `entries` message whose frame would exceed `Wire.frameBytesMax` is sent as
    /// several consecutive `entries` messages, in order (entries are applied one by one, so
    /// the receiver sees the same sequence).
    ///
    /// - Returns: `false` when the peer is not connected, a single entry or another
    ///   message does not fit in a frame, or the peer's queue is full; the message (or its
    ///   remaining part) is then dropped. `true` when queued, or dropped by an outbound cut
    ///   (a cut models a lossy link, which the sender cannot tell from a working one).
    @discardableResult
    public func send(_ message: PeerMessage, to peer: RegionID) -> Bool {
        guard let (connection, outboundCut) = state.withLock({ state in
            state.links[peer].flatMap { link in link.connection.map { ($0, link.outboundCut) } }
        }) else { return false }
        if outboundCut { return true }
        return enqueue(message, on: connection)
    }

    private func enqueue(_ message: PeerMessage, on connection: PeerConnection) -> Bool {
        let bytes = encode(.message(message))
        if bytes.count <= Wire.frameBytesMax {
            return connection.enqueue(bytes)
        }
        if case .replication(.entries(let entries)) = message, entries.count > 1 {
            let middle = entries.count / 2
            return enqueue(.replication(.entries(Array(entries[..<middle]))), on: connection)
                && enqueue(.replication(.entries(Array(entries[middle...]))), on: connection)
        }
        logger.error("peer message too large to send; dropped", metadata: [
            "peer": "\(connection.peer)", "bytes": "\(bytes.count)", "limit": "\(Wire.frameBytesMax)"])
        return false
    }

    /// Cuts or heals one direction (or both) of the link to a peer. Connections stay up;
    /// frames in a cut direction are dropped silently.
    public func setLinkCut(to peer: RegionID, direction: LinkDirection, cut: Bool) {
        state.withLock { state in
            guard var link = state.links[peer] else { return }
            if direction != .inbound { link.outboundCut = cut }
            if direction != .outbound { link.inboundCut = cut }
            state.links[peer] = link
        }
        logger.info("peer link \(cut ? "cut" : "healed")", metadata: ["peer": "\(peer)", "direction": "\(direction.rawValue)"])
    }

    /// Whether a connection to `peer` has completed its handshake.
    public func isConnected(_ peer: RegionID) -> Bool {
        state.withLock { $0.links[peer]?.connection != nil }
    }

    /// Stops dialing, closes the listener and every connection, and releases the delegate.
    /// The delegate hears nothing more once this begins.
    public func shutdown() async {
        let (channels, retries) = state.withLock { state in
            state.phase = .shutDown
            state.delegate = nil
            state.events.removeAll()
            let channels = Array(state.openChannels.values) + (state.listener.map { [$0] } ?? [])
            let retries = state.links.values.compactMap(\.retry)
            state.listener = nil
            for peer in state.links.keys {
                state.links[peer]?.connection = nil
                state.links[peer]?.retry = nil
            }
            return (channels, retries)
        }
        for retry in retries { retry.cancel() }
        for channel in channels { channel.close(promise: nil) }
        for channel in channels { try? await channel.closeFuture.get() }
    }

    // MARK: Dialing

    private func dial(_ peer: RegionID) {
        guard let address = peerAddresses[peer] else { return }
        guard state.withLock({ $0.phase == .running }) else { return }
        ClientBootstrap(group: group)
            .connectTimeout(.milliseconds(Self.connectTimeoutMilliseconds))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { [self] channel in initialize(channel, role: .dialer(peer)) }
            .connect(host: address.host, port: address.port)
            .whenComplete { [self] result in
                switch result {
                case .success(let channel):
                    channel.closeFuture.whenComplete { [self] _ in scheduleRedial(peer) }
                case .failure(let error):
                    logger.debug("dialing peer failed", metadata: ["peer": "\(peer)", "address": "\(address.host):\(address.port)", "error": "\(error)"])
                    scheduleRedial(peer)
                }
            }
    }

    /// Dials `peer` again after the backoff for its consecutive failed attempts.
    private func scheduleRedial(_ peer: RegionID) {
        state.withLock { state in
            guard state.phase == .running, var link = state.links[peer] else { return }
            let delay = Self.reconnectDelay(attempt: link.failedAttempts)
            link.failedAttempts += 1
            link.retry = group.next().scheduleTask(in: .milliseconds(delay)) { [self] in dial(peer) }
            state.links[peer] = link
        }
    }

    /// The delay before the dial that follows `attempt` consecutive failures, in milliseconds.
    static func reconnectDelay(attempt: Int) -> Int64 {
        let doublings = min(attempt, 32)
        return min(reconnectDelayMillisecondsMax, reconnectDelayMillisecondsMin << Int64(doublings))
    }

    // MARK: Connections

    private func initialize(_ channel: any Channel, role: PeerChannelHandler.Role) -> EventLoopFuture<Void> {
        let tracked = state.withLock { state in
            guard state.phase == .running || state.phase == .starting else { return false }
            state.openChannels[ObjectIdentifier(channel)] = channel
            return true
        }
        guard tracked else {
            return channel.eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel)
        }
        channel.closeFuture.whenComplete { [self] _ in
            _ = state.withLock { $0.openChannels.removeValue(forKey: ObjectIdentifier(channel)) }
        }
        return channel.eventLoop.makeCompletedFuture {
            try addSecurityHandlers(to: channel, role: role)
            try channel.pipeline.syncOperations.addHandler(PeerChannelHandler(transport: self, role: role))
        }
    }

    /// The `Hello` this region sends.
    var hello: Hello { Hello(clusterID: clusterID, region: local) }

    /// Why a peer's `Hello` is refused, or `nil` when it is acceptable.
    func refusal(of hello: Hello, role: PeerChannelHandler.Role) -> String? {
        guard hello.clusterID == clusterID else {
            return "peer belongs to cluster '\(hello.clusterID.prefix(64))', not '\(clusterID)'"
        }
        guard hello.region != local, peerAddresses[hello.region] != nil else {
            return "'\(hello.region)' is not a peer of \(local)"
        }
        if case .dialer(let expected) = role, hello.region != expected {
            return "dialed \(expected) but the peer says it is \(hello.region)"
        }
        return nil
    }

    /// Records a connection whose handshake completed; `nil` when it is not kept (an
    /// existing connection to the same peer is preferred, or the transport is stopping).
    func register(_ channel: any Channel, peer: RegionID, role: PeerChannelHandler.Role) -> PeerConnection? {
        let dialedByLocal = if case .dialer = role { true } else { false }
        let connection = PeerConnection(peer: peer, channel: channel, dialedByLower: dialedByLocal == (local < peer),
                                        oneWayDelay: oneWayDelays[peer] ?? .zero)
        let (kept, replaced) = state.withLock { state in state.register(connection) }
        if let replaced {
            logger.info("replacing a second connection to a peer", metadata: ["peer": "\(peer)"])
            replaced.channel.close(promise: nil)
        }
        guard kept else { return nil }
        logger.info("peer connected", metadata: ["peer": "\(peer)", "role": "\(role)"])
        deliverEvents()
        return connection
    }

    /// Forgets a connection that closed, if it was the peer's current one.
    func connectionClosed(_ connection: PeerConnection) {
        let wasCurrent = state.withLock { state in state.remove(connection) }
        if wasCurrent {
            logger.info("peer disconnected", metadata: ["peer": "\(connection.peer)"])
            deliverEvents()
        }
    }

    /// Hands a received message to the delegate unless the connection was replaced or
    /// the inbound link is cut.
    func received(_ message: PeerMessage, on connection: PeerConnection) {
        let queued = state.withLock { state in state.receive(message, on: connection) }
        if queued { deliverEvents() }
    }

    /// Delivers queued events to the delegate from one thread at a time, in queue order:
    /// a thread that finds another delivering leaves its events to that one.
    private func deliverEvents() {
        guard state.withLock({ state in state.beginDelivering() }) else { return }
        while let (events, delegate) = state.withLock({ state in state.takeEventsToDeliver() }) {
            for event in events {
                switch event {
                case .connected(let peer): delegate.peerConnected(peer)
                case .disconnected(let peer): delegate.peerDisconnected(peer)
                case .received(let message, let peer): delegate.received(message, from: peer)
                }
            }
        }
    }
}
