import AsyncHTTPClient
import Foundation
import MeridianAPIModel
import NIOCore
import NIOHTTP1

/// Every process the benchmark started (and the daemons they started, such as a
/// PostgreSQL postmaster), so that all of them stop when the benchmark ends, fails or is
/// interrupted. Only these process ids are ever signalled.
final class BenchChildren: @unchecked Sendable {
    /// The process registry of this run.
    static let shared = BenchChildren()
    /// How long a stopped process may take to exit after SIGTERM before it gets SIGKILL, in milliseconds.
    static let terminateGraceMilliseconds = 3000
    /// How often a stopping process is checked, in milliseconds.
    static let exitPollMilliseconds = 20

    private let lock = NSLock()
    /// Guarded by `lock`.
    private var pids: Set<pid_t> = []

    /// Remembers a process id to stop at the end.
    func register(_ pid: pid_t) { lock.withLock { _ = pids.insert(pid) } }

    /// Forgets a process id (it exited or was stopped).
    func forget(_ pid: pid_t) { lock.withLock { _ = pids.remove(pid) } }

    /// Sends SIGTERM to every registered process, waits up to the grace period, then SIGKILL.
    func stopAll() {
        let running = lock.withLock { pids }
        for pid in running { kill(pid, SIGTERM) }
        let deadline = Date().addingTimeInterval(Double(Self.terminateGraceMilliseconds) / 1000)
        while Date() < deadline, running.contains(where: { Self.isAlive($0) }) {
            usleep(useconds_t(Self.exitPollMilliseconds * 1000))
        }
        for pid in running where Self.isAlive(pid) { kill(pid, SIGKILL) }
        lock.withLock { pids.subtract(running) }
    }

    /// Whether a process id still names a live process (reaping it if it is our zombie child).
    static func isAlive(_ pid: pid_t) -> Bool {
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid { return false }
        return kill(pid, 0) == 0
    }

    /// Stops every child on SIGINT or SIGTERM, then exits with 128 + the signal.
    func stopOnSignals() -> [DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [self] in
                FileHandle.standardError.write(Data("meridian bench: interrupted; stopping every process it started\n".utf8))
                stopAll()
                exit(128 + number)
            }
            source.resume()
            return source
        }
    }
}

/// Starting helper programs with their output in a log file.
enum BenchProcess {
    /// Starts `executable` with `arguments`, standard output and error appended to `log`,
    /// registered with `BenchChildren`.
    static func start(_ executable: String, _ arguments: [String], log: URL, environment: [String: String]? = nil) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        if !FileManager.default.fileExists(atPath: log.path) { FileManager.default.createFile(atPath: log.path, contents: nil) }
        let handle = try FileHandle(forWritingTo: log)
        handle.seekToEndOfFile()
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        BenchChildren.shared.register(process.processIdentifier)
        return process
    }

    /// Runs a helper program to completion; throws with its output when it exits non-zero.
    @discardableResult
    static func runToEnd(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        BenchChildren.shared.register(process.processIdentifier)
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        BenchChildren.shared.forget(process.processIdentifier)
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw BenchError("\(executable) \(arguments.joined(separator: " ")) exited with status \(process.terminationStatus): \(text.suffix(2000))")
        }
        return text
    }

    /// A new empty folder for one benchmark run.
    static func temporaryFolder(_ name: String) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-bench-\(name)-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }
}

/// An error of the benchmark's own making (an option out of range, a peer that did not
/// start, an answer it did not expect), with a message that says what went wrong.
public struct BenchError: Error, CustomStringConvertible {
    public var description: String

    public init(_ description: String) { self.description = description }
}

/// The benchmark's HTTP client: one AsyncHTTPClient with a connection pool as large as
/// the largest client count, so that N clients really hold N connections. Meridian and
/// etcd are measured through this same client, so its overhead is the same on both
/// sides of every ratio (and `GET /v1/health` measures it, see local-writes).
final class BenchHTTP: Sendable {
    /// How long one request may take, in seconds.
    static let requestTimeoutSeconds: Int64 = 30
    /// The largest answer read, in bytes.
    static let responseBytesMax = 16 << 20

    let client: HTTPClient

    init(connectionsMax: Int) {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = connectionsMax
        configuration.connectionPool.retryConnectionEstablishment = false
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// One exchange; returns the status and the body.
    func send(_ method: HTTPMethod, _ url: String, body: [UInt8]? = nil) async throws -> (status: Int, body: [UInt8]) {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let body {
            request.body = .bytes(ByteBuffer(bytes: body))
            request.headers.add(name: "Content-Type", value: "application/json")
        }
        let response = try await client.execute(request, timeout: .seconds(Self.requestTimeoutSeconds))
        let bytes = try await response.body.collect(upTo: Self.responseBytesMax)
        return (Int(response.status.code), Array(bytes.readableBytesView))
    }

    /// One exchange that must answer one of `statuses`; returns the body's bytes.
    @discardableResult
    func expect(_ method: HTTPMethod, _ url: String, body: String? = nil, statuses: Set<Int> = [200]) async throws -> [UInt8] {
        let answer = try await send(method, url, body: body.map { Array($0.utf8) })
        guard statuses.contains(answer.status) else {
            throw BenchError("\(method) \(url) answered \(answer.status): \(String(decoding: answer.body.prefix(300), as: UTF8.self))")
        }
        return answer.body
    }

    /// One exchange that must answer one of `statuses`; returns the body as a JSON object
    /// (etcd's answers, which have no type here).
    func expectObject(_ method: HTTPMethod, _ url: String, body: String? = nil, statuses: Set<Int> = [200]) async throws -> [String: Any] {
        let bytes = try await expect(method, url, body: body, statuses: statuses)
        return (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] ?? [:]
    }

    /// One exchange with Meridian's API that must answer 200; returns the body as the API model's `Body`.
    func expect<Body: Decodable>(_ type: Body.Type, _ method: HTTPMethod, _ url: String) async throws -> Body {
        try APIJSON.decode(Body.self, from: try await expect(method, url))
    }

    func shutdown() async {
        try? await client.shutdown()
    }
}
