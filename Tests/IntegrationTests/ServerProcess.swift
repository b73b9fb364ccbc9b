import Foundation
import MeridianCore
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The `meridian` executable built next to this test bundle.
let meridianBinary: URL = {
    if let path = ProcessInfo.processInfo.environment["MERIDIAN_BINARY"] { return URL(fileURLWithPath: path) }
    let testBinary = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0])
    return testBinary.deletingLastPathComponent().appendingPathComponent("meridian")
}()

/// A temporary directory that the test removes when it is done.
struct TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-it-\(getpid())-\(UInt64.random(in: 0...UInt64.max))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

/// A real `meridian serve` process on loopback, on a port the system chose.
final class ServerProcess {
    /// The most lines read from the server's standard output while waiting for it to listen.
    static let startupLinesMax = 100

    let process = Process()
    let baseURL: String
    let port: Int

    /// Starts `meridian serve` for `region` (by default a one-region cluster over
    /// `directory`) and waits until it listens.
    init(directory: URL, clusterFile: URL? = nil, region: String = "us-east", extraArguments: [String] = []) throws {
        let clusterFile = clusterFile ?? directory.appendingPathComponent("cluster.json")
        if !FileManager.default.fileExists(atPath: clusterFile.path) {
            try Data(#"{"regions": [{"name": "us-east", "api": "127.0.0.1:0", "peer": "127.0.0.1:0"}]}"#.utf8).write(to: clusterFile)
        }
        process.executableURL = meridianBinary
        process.arguments = ["serve", "--cluster", clusterFile.path, "--region", region,
                             "--data", directory.appendingPathComponent(clusterFile.lastPathComponent == "cluster.json" && region == "us-east" ? "data" : "data-\(region)").path] + extraArguments
        let output = Pipe()
        process.standardOutput = output
        let logFile = directory.appendingPathComponent("serve-\(region)-\(UInt32.random(in: 0...UInt32.max)).log")
        FileManager.default.createFile(atPath: logFile.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: logFile)
        try process.run()

        var buffered = ""
        for _ in 0..<Self.startupLinesMax {
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else { break }
            buffered += String(decoding: chunk, as: UTF8.self)
            if let range = buffered.range(of: #"serving API on http://127\.0\.0\.1:(\d+)"#, options: .regularExpression) {
                let match = buffered[range]
                port = Int(match[match.index(after: match.lastIndex(of: ":")!)...])!
                baseURL = "http://127.0.0.1:\(port)"
                return
            }
        }
        process.terminate()
        let log = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
        throw MeridianError.invalid("test", "meridian serve did not start; output: \(buffered) log: \(log)")
    }

    /// Ends the process with SIGKILL: no chance to flush or clean up.
    func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Asks the process to stop with SIGTERM and waits; returns its exit status.
    func terminate() -> Int32 {
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { kill9() }
    }
}

/// One HTTP exchange with a node.
struct HTTPExchange {
    var status: Int
    var body: Data
    var headers: [String: String]

    func json() throws -> [String: JSONValue] {
        guard case .object(let fields) = try JSONValue.parse(Array(body), bytesMax: .max) else {
            throw MeridianError.invalid("test", "not a JSON object: \(String(decoding: body, as: UTF8.self))")
        }
        return fields
    }
}

/// Sends one request with URLSession.
func send(_ method: String, _ url: String, body: String? = nil, headers: [String: String] = [:]) async throws -> HTTPExchange {
    var request = URLRequest(url: URL(string: url)!)
    request.httpMethod = method
    request.httpBody = body.map { Data($0.utf8) }
    for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
    let (data, response) = try await URLSession.shared.data(for: request)
    let http = response as! HTTPURLResponse
    var fields: [String: String] = [:]
    for (name, value) in http.allHeaderFields { fields["\(name)".lowercased()] = "\(value)" }
    return HTTPExchange(status: http.statusCode, body: data, headers: fields)
}

/// Runs the `meridian` executable with arguments; returns its exit status and standard output.
func runCLI(_ arguments: [String]) throws -> (status: Int32, output: String, error: String) {
    let process = Process()
    process.executableURL = meridianBinary
    process.arguments = arguments
    let output = Pipe()
    let error = Pipe()
    process.standardOutput = output
    process.standardError = error
    try process.run()
    let outputData = output.fileHandleForReading.readDataToEndOfFile()
    let errorData = error.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: outputData, as: UTF8.self), String(decoding: errorData, as: UTF8.self))
}

/// Ports that were free a moment ago on 127.0.0.1 (the system picked them).
func freePorts(_ count: Int) throws -> [Int] {
    var descriptors: [Int32] = []
    defer { descriptors.forEach { close($0) } }
    var ports: [Int] = []
    for _ in 0..<count {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        descriptors.append(descriptor)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                guard bind(descriptor, pointer, length) == 0 else { return -1 }
                return getsockname(descriptor, pointer, &length)
            }
        }
        guard bound == 0 else { throw MeridianError.invalid("test", "no free port") }
        ports.append(Int(UInt16(bigEndian: address.sin_port)))
    }
    return ports
}
