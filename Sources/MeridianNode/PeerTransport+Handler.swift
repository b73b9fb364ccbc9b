import Logging
import MeridianCore
import MeridianRegion
import MeridianReplication
import MeridianWire
import NIOCore

/// Drives one peer connection on its event loop: the handshake, then frames in both ways.
///
/// States: `awaitingHello` (the dialer has sent its `Hello`; the acceptor sends its own
/// once the dialer's is valid) → `established` (messages flow) → `closed`. Any malformed
/// frame, any frame out of place, or a handshake slower than
/// `PeerTransport.handshakeTimeoutMilliseconds` closes the connection with a warning.
final class PeerChannelHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Which side of the connection this region is.
    enum Role: Sendable, CustomStringConvertible {
        /// This region dialed the peer named.
        case dialer(RegionID)
        /// The peer dialed this region.
        case acceptor

        var description: String {
            switch self {
            case .dialer: "dialer"
            case .acceptor: "acceptor"
            }
        }
    }

    private enum State {
        case awaitingHello
        case established(PeerConnection)
        case closed
    }

    private let transport: PeerTransport
    private let role: Role
    private var state = State.awaitingHello
    private var decoder = FrameDecoder()
    private var handshakeTimeout: Scheduled<Void>? = nil
    /// The region the peer proved it is in the secret's challenge-response (`nil` without
    /// a peer secret); its `Hello` must name the same one.
    private var authenticatedRegion: RegionID? = nil

    init(transport: PeerTransport, role: Role) {
        self.transport = transport
        self.role = role
    }

    func channelActive(context: ChannelHandlerContext) {
        if case .dialer = role {
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: encode(.hello(transport.hello)))), promise: nil)
        }
        let channel = context.channel
        let logger = transport.logger
        handshakeTimeout = context.eventLoop.scheduleTask(in: .milliseconds(PeerTransport.handshakeTimeoutMilliseconds)) {
            logger.warning("peer connection closed: no handshake in time", metadata: ["remote": "\(channel.remoteAddress.map { "\($0)" } ?? "?")"])
            channel.close(promise: nil)
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        handshakeTimeout?.cancel()
        if case .established(let connection) = state {
            connection.discardQueued()
            transport.connectionClosed(connection)
        }
        state = .closed
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        decoder.append(buffer.readableBytesView)
        do {
            while case .awaitingHello = state, let frame = try decoder.nextFrame() {
                try handshake(frame, context: context)
            }
            while case .established(let connection) = state, let frame = try decoder.nextFrame() {
                guard case .message(let message) = frame else {
                    throw PeerProtocolViolation("a second Hello after the handshake")
                }
                transport.received(message, on: connection)
            }
        } catch {
            refuse(context: context, reason: "\(error)")
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let authenticated = event as? PeerAuthenticated {
            authenticatedRegion = authenticated.region
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        transport.logger.warning("peer connection failed", metadata: ["remote": "\(remote(context))", "error": "\(error)"])
        state = .closed
        context.close(promise: nil)
    }

    private func handshake(_ frame: WireFrame, context: ChannelHandlerContext) throws {
        guard case .hello(let hello) = frame else {
            throw PeerProtocolViolation("a message before the handshake")
        }
        if let refusal = transport.refusal(of: hello, role: role) {
            throw PeerProtocolViolation(refusal)
        }
        if let authenticatedRegion, hello.region != authenticatedRegion {
            throw PeerProtocolViolation("the peer proved it is \(authenticatedRegion) but its Hello says \(hello.region)")
        }
        if case .acceptor = role {
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: encode(.hello(transport.hello)))), promise: nil)
        }
        handshakeTimeout?.cancel()
        guard let connection = transport.register(context.channel, peer: hello.region, role: role) else {
            state = .closed
            context.close(promise: nil)
            return
        }
        state = .established(connection)
    }

    private func refuse(context: ChannelHandlerContext, reason: String) {
        if case .closed = state { return }
        transport.logger.warning("peer connection refused", metadata: ["remote": "\(remote(context))", "reason": "\(reason)"])
        state = .closed
        context.close(promise: nil)
    }

    private func remote(_ context: ChannelHandlerContext) -> String {
        context.channel.remoteAddress.map { "\($0)" } ?? "?"
    }
}

/// A peer broke the handshake or framing rules.
struct PeerProtocolViolation: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) { self.description = description }
}
