import Logging
import MeridianCore
import NIOCore

/// Runs `PeerAuthentication` on a new peer connection, in front of the peer protocol's
/// handler: until the peer has proved the cluster's secret, the handler behind it sees
/// neither the connection become active nor a byte the peer sent; afterwards bytes pass
/// straight through. The exchange starts once the connection is up, when both of its
/// addresses are known; the handler behind learns the region the peer proved it is
/// (`PeerAuthenticated`) before the connection becomes active for it.
final class PeerAuthenticationHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Starts the exchange for a connection whose two ends are these (`nil` when the
    /// channel does not know them); `nil` when it cannot start.
    typealias ExchangeFactory = (PeerAuthentication.ConnectionAddresses?) -> PeerAuthentication?

    private let makeExchange: ExchangeFactory
    private let role: PeerAuthentication.Role
    private var exchange: PeerAuthentication? = nil
    private var isPassingThrough = false
    private var isClosed = false
    private var timeout: Scheduled<Void>? = nil
    private let logger: Logger
    private let timeoutMilliseconds: Int64

    init(role: PeerAuthentication.Role, logger: Logger, timeoutMilliseconds: Int64, makeExchange: @escaping ExchangeFactory) {
        self.role = role
        self.makeExchange = makeExchange
        self.logger = logger
        self.timeoutMilliseconds = timeoutMilliseconds
    }

    func channelActive(context: ChannelHandlerContext) {
        let channel = context.channel
        guard let exchange = makeExchange(Self.addresses(of: channel, role: role)) else {
            refuse(context: context, reason: "the connection's addresses are unknown, and the proof must be bound to them")
            return
        }
        self.exchange = exchange
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: exchange.challenge)), promise: nil)
        let logger = self.logger
        timeout = context.eventLoop.scheduleTask(in: .milliseconds(timeoutMilliseconds)) {
            logger.warning("peer connection closed: no authentication in time", metadata: ["remote": "\(channel.remoteAddress.map { "\($0)" } ?? "?")"])
            channel.close(promise: nil)
        }
        // The peer-protocol handler becomes active only once the peer is authenticated.
    }

    func channelInactive(context: ChannelHandlerContext) {
        timeout?.cancel()
        isClosed = true
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if isPassingThrough {
            context.fireChannelRead(data)
            return
        }
        guard !isClosed, var exchange else { return }
        let buffer = unwrapInboundIn(data)
        let actions = exchange.receive(buffer.readableBytesView)
        self.exchange = exchange
        for action in actions {
            switch action {
            case .send(let bytes):
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: bytes)), promise: nil)
            case .authenticated(let leftover):
                timeout?.cancel()
                isPassingThrough = true
                if let peer = exchange.authenticatedPeer { context.fireUserInboundEventTriggered(PeerAuthenticated(region: peer)) }
                context.fireChannelActive()
                if !leftover.isEmpty { context.fireChannelRead(wrapInboundOut(ByteBuffer(bytes: leftover))) }
            case .refuse(let reason):
                refuse(context: context, reason: reason)
                return
            }
        }
    }

    private func refuse(context: ChannelHandlerContext, reason: String) {
        timeout?.cancel()
        isClosed = true
        logger.warning("peer connection refused: authentication failed", metadata: [
            "remote": "\(context.channel.remoteAddress.map { "\($0)" } ?? "?")", "reason": "\(reason)"])
        context.close(promise: nil)
    }

    /// The connection's ends as this side sees them: the dialer's local address and the
    /// acceptor's remote one are the dialer's, and the other way round.
    static func addresses(of channel: any Channel, role: PeerAuthentication.Role) -> PeerAuthentication.ConnectionAddresses? {
        guard let local = channel.localAddress.flatMap(text), let remote = channel.remoteAddress.flatMap(text) else { return nil }
        return role == .dialer ? .init(dialer: local, acceptor: remote) : .init(dialer: remote, acceptor: local)
    }

    /// `ip:port`, or `[ip]:port` for IPv6; an IPv4-mapped IPv6 address is written as the
    /// IPv4 address it maps, so that a dual-stack listener and an IPv4 dialer agree.
    static func text(_ address: SocketAddress) -> String? {
        guard var ip = address.ipAddress, let port = address.port else { return nil }
        if ip.lowercased().hasPrefix("::ffff:"), ip.dropFirst(7).contains(".") { ip = String(ip.dropFirst(7)) }
        return ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }
}

/// The event a peer connection's authentication sends down the pipeline once the peer
/// has proved the secret: the region its challenge named, which its `Hello` must name too.
struct PeerAuthenticated: Sendable {
    let region: RegionID
}
