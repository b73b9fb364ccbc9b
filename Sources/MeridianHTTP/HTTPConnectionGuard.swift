import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import MeridianAPIModel
import MeridianCore
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// How long a client connection may take over each part of a request, in milliseconds.
public struct HTTPConnectionLimits: Sendable, Equatable {
    /// From the connection's start, or the end of its previous response, to a complete
    /// request head (request line and headers): what bounds a slowloris connection that
    /// sends its headers a byte at a time, and an idle keep-alive connection.
    public var headMillisecondsMax: Int64
    /// From a request's head to the end of its body: what bounds a body sent a byte at a time.
    public var bodyMillisecondsMax: Int64

    /// The defaults: 30 seconds for a head (or idle between requests), 60 for a body (1 MiB
    /// at 17 KB/s).
    public static let standard = HTTPConnectionLimits(headMillisecondsMax: 30_000, bodyMillisecondsMax: 60_000)

    /// Limits in milliseconds, both positive.
    public init(headMillisecondsMax: Int64, bodyMillisecondsMax: Int64) {
        precondition(headMillisecondsMax > 0 && bodyMillisecondsMax > 0, "connection limits are positive")
        self.headMillisecondsMax = headMillisecondsMax
        self.bodyMillisecondsMax = bodyMillisecondsMax
    }
}

extension MeridianAPI {
    /// The most bytes of one header line, and of all header lines of a request together.
    public static let headerBytesMax = 64 * 1024
    /// The most header lines in one request.
    public static let headerCountMax = 200

    /// The HTTP/1.1 server configuration every Meridian API runs with: bounded headers,
    /// and `HTTPConnectionGuard` on every connection (time limits, and the JSON error
    /// object for requests that are not valid HTTP).
    public static func http1Configuration(region: RegionID, limits: HTTPConnectionLimits = .standard) -> HTTP1Channel.Configuration {
        HTTP1Channel.Configuration(
            additionalChannelHandlers: [HTTPConnectionGuard(region: region.name, limits: limits)],
            httpDecoderConfiguration: .init(maxHeaderFieldSize: headerBytesMax, maxHeaderListSize: headerBytesMax, maxHeaderFieldCount: headerCountMax))
    }
}

/// Guards one client connection, between the HTTP/1.1 codec and Hummingbird's request
/// handling.
///
/// - Bytes that are not HTTP (a malformed request line, too many or too large headers, a
///   bad chunk size) get the JSON error object, never an empty body or a 500. An error in
///   a request's body reaches the handler reading it, whose answer
///   `ErrorAndRegionMiddleware` renders; an error between requests is answered here (400
///   `invalid_http`, or 431 `headers_too_large`) once the answers already owed on the
///   connection are written. Either way the connection then closes (the parser cannot go
///   on after an error) and nothing is written after that last answer.
/// - A request head must be complete within `headMillisecondsMax` of the connection's
///   start or of its previous answer, else the connection closes; a body must end within
///   `bodyMillisecondsMax` of its head, else the handler reading it gets
///   `RequestReadTimeout` (408 `request_timeout`) and the connection closes.
///
/// Invariant: `answersOwed` counts the request heads passed on whose answers have not
/// ended; a timer runs for the head while none is owed and no request is being read, and
/// for the body while one is being read.
final class HTTPConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let region: String
    private let limits: HTTPConnectionLimits
    /// A request's head has arrived and its body has not ended.
    private var isReadingRequest = false
    /// Request heads passed on whose answers have not ended.
    private var answersOwed = 0
    /// The connection closes once no answer is owed.
    private var closesWhenAnswered = false
    /// The answer to an error between requests, written once no other answer is owed.
    private var pendingAnswer: APIError? = nil
    private var isClosed = false
    private var timer: Scheduled<Void>? = nil

    init(region: String, limits: HTTPConnectionLimits) {
        self.region = region
        self.limits = limits
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { waitForHead(context: context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
    }

    func channelActive(context: ChannelHandlerContext) {
        waitForHead(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        isClosed = true
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            isReadingRequest = true
            answersOwed += 1
            schedule(context: context, milliseconds: limits.bodyMillisecondsMax) { guardian, context in guardian.bodyTimedOut(context: context) }
        case .body:
            break
        case .end:
            isReadingRequest = false
            timer?.cancel()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard !isClosed else {
            // The connection closed after its last answer; nothing may follow it.
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        guard case .end = unwrapOutboundIn(data) else {
            context.write(data, promise: promise)
            return
        }
        answersOwed = max(0, answersOwed - 1)
        guard answersOwed == 0 else {
            context.write(data, promise: promise)
            return
        }
        if let pendingAnswer {
            context.write(data, promise: promise)
            answer(context: context, pendingAnswer)
        } else if closesWhenAnswered {
            context.writeAndFlush(data, promise: promise)
            close(context: context)
        } else {
            context.write(data, promise: promise)
            if !isReadingRequest { waitForHead(context: context) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parseError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        closesWhenAnswered = true
        if isReadingRequest {
            // The request being read is broken: its handler gets the error and answers it.
            context.fireErrorCaught(error)
        } else if answersOwed == 0 {
            answer(context: context, APIError.forInvalidHTTP(parseError))
        } else {
            pendingAnswer = APIError.forInvalidHTTP(parseError)
        }
    }

    private func waitForHead(context: ChannelHandlerContext) {
        schedule(context: context, milliseconds: limits.headMillisecondsMax) { guardian, context in
            // A client that sends no complete head in time is dropped.
            if guardian.answersOwed == 0 && !guardian.isReadingRequest { guardian.close(context: context) }
        }
    }

    private func bodyTimedOut(context: ChannelHandlerContext) {
        guard isReadingRequest else { return }
        guard answersOwed > 0 else {
            close(context: context)
            return
        }
        closesWhenAnswered = true
        context.fireErrorCaught(RequestReadTimeout(milliseconds: limits.bodyMillisecondsMax))
    }

    private func schedule(context: ChannelHandlerContext, milliseconds: Int64, _ fire: @escaping (HTTPConnectionGuard, ChannelHandlerContext) -> Void) {
        timer?.cancel()
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: .milliseconds(milliseconds)) {
            let (guardian, context) = loopBound.value
            guardian.timer = nil
            fire(guardian, context)
        }
    }

    /// Writes `error` as an answer of its own and closes the connection.
    private func answer(context: ChannelHandlerContext, _ error: APIError) {
        guard !isClosed else { return }
        let body = ByteBuffer(bytes: (try? APIJSON.encode(ErrorBody(code: error.error.code, message: error.error.message))) ?? Data())
        var fields: HTTPFields = [.contentType: "application/json", .contentLength: String(body.readableBytes), .connection: "close"]
        fields[.meridianRegion] = region
        context.write(wrapOutboundOut(.head(HTTPResponse(status: error.status, headerFields: fields))), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        close(context: context)
    }

    private func close(context: ChannelHandlerContext) {
        guard !isClosed else { return }
        isClosed = true
        timer?.cancel()
        context.close(promise: nil)
    }
}

/// A request body that did not end within `HTTPConnectionLimits.bodyMillisecondsMax`.
struct RequestReadTimeout: Error {
    let milliseconds: Int64
}

extension APIError {
    /// The answer to bytes that are not a valid HTTP/1.1 request.
    static func forInvalidHTTP(_ error: HTTPParserError) -> APIError {
        if case .headerOverflow = error {
            return APIError(MeridianError(.tooLarge, code: "headers_too_large",
                "the request's headers pass the limit (\(MeridianAPI.headerCountMax) lines, \(MeridianAPI.headerBytesMax) bytes)"),
                headers: [.connection: "close"], status: .init(code: 431, reasonPhrase: "Request Header Fields Too Large"))
        }
        return APIError(.invalid("invalid_http", "the request is not valid HTTP/1.1 (\(error)); the connection is closed"), headers: [.connection: "close"])
    }
}
