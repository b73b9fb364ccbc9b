import AsyncHTTPClient
import NIOConcurrencyHelpers
import NIOSSL
import NIOCore
import NIOHTTP1

/// One HTTP request to one region.
struct TransportRequest: Sendable, Equatable {
    var method: String
    /// The absolute URL: the region's base URL, the path and the query.
    var url: String
    /// Header names as sent; at most one value each.
    var headers: [String: String]
    var body: [UInt8]?
}

/// One HTTP answer.
struct TransportResponse: Sendable, Equatable {
    var status: Int
    /// Header names in lower case, the first value of each.
    var headers: [String: String]
    var body: [UInt8]
}

/// What the client needs from HTTP: one exchange, bounded in time.
///
/// It throws `MeridianClientError` for answers that retrying elsewhere cannot fix (such as
/// a body over the limit); any other error means the region did not answer (connection
/// failure or timeout), and the client moves on to the next region.
protocol HTTPTransport: Sendable {
    func execute(_ request: TransportRequest, timeoutMilliseconds: Int) async throws -> TransportResponse
}

/// The HTTP client every `MeridianClient` of the process shares: pooled connections, never
/// shut down (like `HTTPClient.shared`, it lives as long as the process).
///
/// Unlike `HTTPClient.shared`, it does not retry a failed connection attempt until the
/// request's deadline: a refused connection must fail at once, so that the client moves on
/// to the next region instead of waiting out the timeout on a dead one.
private let failFastHTTPClient: HTTPClient = {
    HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: failFastConfiguration())
}()

/// The longest a pooled connection stays idle, in milliseconds: below the 30 seconds after
/// which a region closes a connection that sends no request (docs/operations.md).
private let idleConnectionMilliseconds: Int64 = 20_000

/// No retried connection attempts, and idle connections dropped before the region drops them.
private func failFastConfiguration() -> HTTPClient.Configuration {
    var configuration = HTTPClient.Configuration.singletonConfiguration
    configuration.connectionPool.retryConnectionEstablishment = false
    configuration.connectionPool.idleTimeout = .milliseconds(idleConnectionMilliseconds)
    return configuration
}

/// Fail-fast clients that trust only one CA file (a cluster's own), by file path, made on
/// first use and kept for the process's life.
private let trustingHTTPClients = NIOLockedValueBox<[String: HTTPClient]>([:])

private func failFastHTTPClient(trusting caFile: String?) -> HTTPClient {
    guard let caFile else { return failFastHTTPClient }
    return trustingHTTPClients.withLockedValue { clients in
        if let client = clients[caFile] { return client }
        var configuration = failFastConfiguration()
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(caFile)
        // Regions are addressed by IP in cluster files; the cluster's own CA is the trust anchor.
        tls.certificateVerification = .noHostnameVerification
        configuration.tlsConfiguration = tls
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        clients[caFile] = client
        return client
    }
}

/// The production transport: one shared AsyncHTTPClient, pooled connections.
struct AsyncHTTPTransport: HTTPTransport {
    /// The largest answer read, in bytes.
    let responseBytesMax: Int
    /// The only CA trusted for `https` (PEM file); `nil`: the system's roots.
    var trustedCAFile: String? = nil

    func execute(_ request: TransportRequest, timeoutMilliseconds: Int) async throws -> TransportResponse {
        var outbound = HTTPClientRequest(url: request.url)
        outbound.method = HTTPMethod(rawValue: request.method)
        for (name, value) in request.headers { outbound.headers.add(name: name, value: value) }
        if let body = request.body { outbound.body = .bytes(ByteBuffer(bytes: body)) }
        // One deadline covers connecting, sending and reading the whole answer.
        let deadline = NIODeadline.now() + .milliseconds(Int64(timeoutMilliseconds))
        let answer = try await failFastHTTPClient(trusting: trustedCAFile).execute(outbound, deadline: deadline)
        let body: ByteBuffer
        do {
            body = try await answer.body.collect(upTo: responseBytesMax)
        } catch is NIOTooManyBytesError {
            throw MeridianClientError.responseTooLarge.with(message: "the answer to \(request.method) \(request.url) is larger than \(responseBytesMax) bytes", status: Int(answer.status.code))
        }
        var headers: [String: String] = [:]
        for header in answer.headers where headers[header.name.lowercased()] == nil {
            headers[header.name.lowercased()] = header.value
        }
        return TransportResponse(status: Int(answer.status.code), headers: headers, body: Array(body.readableBytesView))
    }
}
