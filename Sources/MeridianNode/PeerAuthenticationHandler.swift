import Logging
import NIOCore

/// Runs `PeerAuthentication` on a new peer connection, in front of the peer protocol's
/// handler: until the peer has proved the cluster's secret, the handler behind it sees
/// neither the connection become active nor a byte the peer sent; afterwards bytes pass
/// straight through.
final class PeerAuthenticationHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var exchange: PeerAuthentication
    private var isPassingThrough = false
    private var isClosed = false
    private var timeout: Scheduled<Void>? = nil
    private let logger: Logger
    private let timeoutMilliseconds: Int64

    init(exchange: PeerAuthentication, logger: Logger, timeoutMilliseconds: Int64) {
        self.exchange = exchange
        self.logger = logger
        self.timeoutMilliseconds = timeoutMilliseconds
    }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: exchange.challenge)), promise: nil)
        let channel = context.channel
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
        guard !isClosed else { return }
        let buffer = unwrapInboundIn(data)
        for action in exchange.receive(buffer.readableBytesView) {
            switch action {
            case .send(let bytes):
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: bytes)), promise: nil)
            case .authenticated(let leftover):
                timeout?.cancel()
                isPassingThrough = true
                context.fireChannelActive()
                if !leftover.isEmpty { context.fireChannelRead(wrapInboundOut(ByteBuffer(bytes: leftover))) }
            case .refuse(let reason):
                timeout?.cancel()
                isClosed = true
                logger.warning("peer connection refused: authentication failed", metadata: [
                    "remote": "\(context.channel.remoteAddress.map { "\($0)" } ?? "?")", "reason": "\(reason)"])
                context.close(promise: nil)
                return
            }
        }
    }
}
