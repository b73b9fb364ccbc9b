import Foundation
import Hummingbird
import HummingbirdTesting
import MeridianCore
import MeridianHTTP
import MeridianNode
import MeridianStorage
import Testing

/// A live server with the API's connection configuration, fed bytes that are not HTTP and
/// clients that never finish (issue 15, item 5): every refusal is the JSON error object,
/// and no connection stays open without sending a request.
@Suite(.serialized)
struct HostileEdgeTests {
    /// Short time limits, so that the slow clients below are dropped quickly.
    static let limits = HTTPConnectionLimits(headMillisecondsMax: 300, bodyMillisecondsMax: 300)

    /// Runs `body` with the port of a live API over in-memory storage.
    func withLiveAPI(_ body: @Sendable (Int) async throws -> Void) async throws {
        let node = try Node(cluster: APITests.cluster, region: APITests.region, storage: InMemoryStorage())
        let app = Application(router: MeridianAPI(node: node).router(),
                              server: .http1(configuration: MeridianAPI.http1Configuration(region: APITests.region, limits: Self.limits)))
        try await app.test(.live) { client in
            _ = try await client.put("/v1/tables/t", "{}")
            try await body(try #require(client.port))
        }
        await node.shutdown()
    }

    @Test func aChunkSizeOutOfRangeIs400WithTheJSONError() async throws {
        try await withLiveAPI { port in
            let answer = try RawConnection(port: port).exchange(Array("PUT /v1/tables/t/items/c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFF\r\nabc\r\n0\r\n\r\n".utf8))
            #expect(answer.text.hasPrefix("HTTP/1.1 400"), "\(answer.text)")
            #expect(answer.text.contains(#"{"error":{"code":"invalid_http""#), "\(answer.text)")
            #expect(answer.text.contains("Meridian-Region: us-east"))
            #expect(answer.closed, "the parser cannot go on: the connection closes after the answer")
            let absent = try RawConnection(port: port).exchange(Array("GET /v1/tables/t/items/c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
            #expect(absent.text.hasPrefix("HTTP/1.1 404"), "nothing was stored: \(absent.text)")
        }
    }

    @Test(arguments: [
        "X-Big: " + String(repeating: "a", count: 90 * 1024) + "\r\n",
        (0..<2000).map { "X-Header-\($0): v\r\n" }.joined(),
    ])
    func oversizedHeadersAre431WithTheJSONError(headers: String) async throws {
        try await withLiveAPI { port in
            let answer = try RawConnection(port: port).exchange(Array("GET /v1/health HTTP/1.1\r\nHost: x\r\n\(headers)\r\n".utf8))
            #expect(answer.text.hasPrefix("HTTP/1.1 431"), "\(answer.text.prefix(300))")
            #expect(answer.text.contains(#"{"error":{"code":"headers_too_large""#), "\(answer.text.prefix(300))")
            #expect(answer.closed)
        }
    }

    @Test func garbageAfterAGoodRequestGetsTheFirstAnswerThenTheJSONError() async throws {
        try await withLiveAPI { port in
            let answer = try RawConnection(port: port).exchange(Array("GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n\u{0}NOT HTTP\r\n\r\n".utf8))
            let statusLines = answer.text.components(separatedBy: "\n").filter { $0.hasPrefix("HTTP/1.1 ") }
            #expect(statusLines.map { $0.prefix(12) } == ["HTTP/1.1 200", "HTTP/1.1 400"], "\(answer.text)")
            #expect(answer.text.hasSuffix(#"{"error":{"code":"invalid_http","message":"the request is not valid HTTP/1.1 (invalid HTTP method); the connection is closed"}}\#n"#), "\(answer.text)")
            #expect(answer.closed)
        }
    }

    @Test func aClientThatNeverFinishesItsHeadersIsDisconnected() async throws {
        try await withLiveAPI { port in
            let connection = try RawConnection(port: port)
            try connection.write(Array("GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: a".utf8))
            let answer = try connection.readUntilClosed()
            #expect(answer.closed, "the head limit closes the connection")
            #expect(answer.text.isEmpty, "no request was read, so none is answered: \(answer.text)")
        }
    }

    @Test func anIdleKeepAliveConnectionIsClosedAfterItsAnswer() async throws {
        try await withLiveAPI { port in
            let connection = try RawConnection(port: port)
            try connection.write(Array("GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
            let answer = try connection.readUntilClosed()
            #expect(answer.text.hasPrefix("HTTP/1.1 200"))
            #expect(answer.closed, "no next request within the head limit: closed")
        }
    }

    @Test func aBodyThatNeverEndsIs408WithTheJSONError() async throws {
        try await withLiveAPI { port in
            let connection = try RawConnection(port: port)
            try connection.write(Array("PUT /v1/tables/t/items/slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"a\":".utf8))
            let answer = try connection.readUntilClosed()
            #expect(answer.text.hasPrefix("HTTP/1.1 408"), "\(answer.text)")
            #expect(answer.text.contains(#"{"error":{"code":"request_timeout""#))
            #expect(answer.closed)
            let absent = try RawConnection(port: port).exchange(Array("GET /v1/tables/t/items/slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
            #expect(absent.text.hasPrefix("HTTP/1.1 404"), "nothing was stored: \(absent.text)")
        }
    }
}

/// A blocking TCP connection to 127.0.0.1 whose reads give up after ten seconds (far
/// beyond the limits under test: reaching it means the server kept the connection open).
struct RawConnection {
    let descriptor: Int32

    init(port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw MeridianError.invalid("test", "cannot connect to port \(port)") }
    }

    /// Writes what it can of `bytes` (the server may close early on an oversized request).
    func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written <= 0 { return }
            offset += written
        }
    }

    /// Everything the server sent until it closed the connection (`closed`), or until the
    /// read timeout (`closed` false).
    func readUntilClosed() throws -> (text: String, closed: Bool) {
        defer { Glibc.close(descriptor) }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count == 0 { return (String(decoding: answer, as: UTF8.self), true) }
            if count < 0 {
                // A reset (the server closed with bytes of ours unread) is a close too.
                return (String(decoding: answer, as: UTF8.self), errno == ECONNRESET)
            }
            answer += buffer[0..<count]
        }
    }

    /// Writes `bytes`, then reads until the server closes.
    func exchange(_ bytes: [UInt8]) throws -> (text: String, closed: Bool) {
        try write(bytes)
        return try readUntilClosed()
    }
}
