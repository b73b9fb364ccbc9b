import Foundation
import MeridianCore
import MeridianTestSupport
import Testing

/// A real node on loopback: bad bytes on its port, graceful shutdown, and the CLI.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct ProcessTests {
    @Test func garbageAndOversizedStreamsGetAnErrorAndTheNodeStaysUp() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let server = try ServerProcess(directory: directory.url, extraArguments: ["--value-bytes-max", "65536"])
        _ = try await send("PUT", "\(server.baseURL)/v1/tables/t", body: "{}")

        var generator = SplitMix64(seed: 42)
        for round in 0..<20 {
            let garbage = (0..<(64 + round * 97)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            _ = try rawExchange(port: server.port, bytes: garbage)
        }
        // A chunked body with no Content-Length, far over the limit: refused while reading.
        var chunked = Array("PUT /v1/tables/t/items/big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
        let chunk = Array(repeating: UInt8(ascii: "1"), count: 16 * 1024)
        for _ in 0..<64 { chunked += Array("4000\r\n".utf8) + chunk + Array("\r\n".utf8) }
        chunked += Array("0\r\n\r\n".utf8)
        let answer = try rawExchange(port: server.port, bytes: chunked)
        #expect(answer.hasPrefix("HTTP/1.1 413"), "answer: \(answer.prefix(200))")
        #expect(answer.contains("value_too_large"))

        let health = try await send("GET", "\(server.baseURL)/v1/health")
        #expect(health.status == 200)
        #expect(health.headers["meridian-region"] == "us-east")
        #expect(try await send("GET", "\(server.baseURL)/v1/tables/t/items/big").status == 404)
        #expect(server.terminate() == 0)
    }

    /// Issue 15, item 5, on a real node with its default configuration: a chunk size out of
    /// range was a 500, a 90 KB header or 2,000 headers a 400 with an empty body.
    @Test func requestsThatAreNotHTTPGetTheJSONErrorFromARealNode() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let server = try ServerProcess(directory: directory.url)
        _ = try await send("PUT", "\(server.baseURL)/v1/tables/t", body: "{}")
        let chunk = try rawExchange(port: server.port, bytes: Array("PUT /v1/tables/t/items/c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFF\r\nabc\r\n0\r\n\r\n".utf8))
        #expect(chunk.hasPrefix("HTTP/1.1 400") && chunk.contains(#"{"error":{"code":"invalid_http""#), "\(chunk)")
        for headers in ["X-Big: " + String(repeating: "a", count: 90 * 1024) + "\r\n", (0..<2000).map { "X-Header-\($0): v\r\n" }.joined()] {
            let answer = try rawExchange(port: server.port, bytes: Array("GET /v1/health HTTP/1.1\r\nHost: x\r\n\(headers)\r\n".utf8))
            #expect(answer.hasPrefix("HTTP/1.1 431") && answer.contains(#"{"error":{"code":"headers_too_large""#), "\(answer.prefix(300))")
        }
        #expect(try await send("GET", "\(server.baseURL)/v1/health").status == 200)
        #expect(server.terminate() == 0)
    }

    @Test func sigtermStopsTheNodeCleanly() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let server = try ServerProcess(directory: directory.url)
        _ = try await send("PUT", "\(server.baseURL)/v1/tables/t", body: "{}")
        #expect(server.terminate() == 0)
        // The data directory's lock was released: a new node opens it.
        let again = try ServerProcess(directory: directory.url)
        #expect(try await send("GET", "\(again.baseURL)/v1/tables/t").status == 200)
        #expect(again.terminate() == 0)
    }

    @Test func theDataCommandsTalkToANodeAndPrintJSON() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let server = try ServerProcess(directory: directory.url)
        let endpoint = ["--endpoint", server.baseURL]

        let created = try runCLI(["tables", "create", "users", "--mode", "multi-primary", "--conflict", "lww"] + endpoint)
        #expect(created.status == 0, "\(created.error)")
        #expect(try parse(created.output)["name"] == .string("users"))

        let put = try runCLI(["put", "users", "alex/profile", #"{"city": "Mumbai"}"#] + endpoint)
        #expect(put.status == 0, "\(put.error)")
        guard case .string(let version)? = try parse(put.output)["version"] else { Issue.record("no version: \(put.output)"); return }

        let got = try runCLI(["get", "users", "alex/profile"] + endpoint)
        #expect(try parse(got.output)["value"] == .object(["city": .string("Mumbai")]))

        let stale = try runCLI(["put", "users", "alex/profile", "2", "--if-match", "0000000000000001-us-east"] + endpoint)
        #expect(stale.status != 0)
        #expect(stale.error.contains("precondition_failed"))
        #expect(try runCLI(["put", "users", "alex/profile", "3", "--if-match", version] + endpoint).status == 0)

        for index in 0..<25 { _ = try runCLI(["put", "users", "bulk-\(index)", "\(index)"] + endpoint) }
        let scanned = try runCLI(["scan", "users", "--prefix", "bulk-", "--limit", "4", "--all"] + endpoint)
        guard case .array(let items)? = try parse(scanned.output)["items"] else { Issue.record("no items: \(scanned.output)"); return }
        #expect(items.count == 25)

        #expect(try runCLI(["delete", "users", "alex/profile"] + endpoint).status == 0)
        let gone = try runCLI(["get", "users", "alex/profile"] + endpoint)
        #expect(gone.status != 0)
        #expect(gone.error.contains("item_not_found"))

        let listed = try runCLI(["tables", "list"] + endpoint)
        guard case .array(let tables)? = try parse(listed.output)["tables"] else { Issue.record("no tables"); return }
        #expect(tables.count == 1)
        let shown = try runCLI(["tables", "show", "users"] + endpoint)
        guard case .object(let status)? = try parse(shown.output)["status"] else { Issue.record("no status"); return }
        #expect(status["items"] == .integer(25))
        #expect(try runCLI(["tables", "delete", "users"] + endpoint).status == 0)
        #expect(try runCLI(["tables", "show", "users"] + endpoint).status != 0)
        #expect(server.terminate() == 0)
    }

    func parse(_ text: String) throws -> [String: JSONValue] {
        guard case .object(let fields) = try JSONValue.parse(Array(text.utf8), bytesMax: .max) else {
            throw MeridianError.invalid("test", "not an object: \(text)")
        }
        return fields
    }
}

/// Sends raw bytes over TCP to loopback and returns what the node answered (up to
/// `answerBytesMax`) before it closed the connection or went quiet for a second.
func rawExchange(port: Int, bytes: [UInt8]) throws -> String {
    let answerBytesMax = 64 * 1024
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { throw MeridianError.invalid("test", "socket failed") }
    defer { close(descriptor) }
    var timeout = timeval(tv_sec: 1, tv_usec: 0)
    setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { throw MeridianError.invalid("test", "connect failed") }
    var offset = 0
    while offset < bytes.count {
        let written = bytes[offset...].withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if written <= 0 { break }  // the node may close early on garbage or an oversized body
        offset += written
    }
    var answer: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while answer.count < answerBytesMax {
        let count = recv(descriptor, &buffer, buffer.count, 0)
        if count <= 0 { break }
        answer += buffer[0..<count]
    }
    return String(decoding: answer, as: UTF8.self)
}
