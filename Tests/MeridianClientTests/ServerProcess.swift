import Foundation
import MeridianCore

// Copied and trimmed from Tests/IntegrationTests/ServerProcess.swift: this target must not
// import that one.

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
        url = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-client-\(getpid())-\(UInt64.random(in: 0...UInt64.max))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

/// A real `meridian serve` process on loopback.
final class ServerProcess {
    /// The most chunks read from the server's standard output while waiting for it to listen.
    static let startupChunksMax = 100

    let process = Process()
    let baseURL: String

    /// Starts `meridian serve` for `region` of the cluster file and waits until it listens.
    init(directory: URL, clusterFile: URL, region: String) throws {
        process.executableURL = meridianBinary
        process.arguments = ["serve", "--cluster", clusterFile.path, "--region", region, "--data", directory.appendingPathComponent("data-\(region)").path]
        let output = Pipe()
        process.standardOutput = output
        let logFile = directory.appendingPathComponent("serve-\(region).log")
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: logFile)
        try process.run()

        var buffered = ""
        for _ in 0..<Self.startupChunksMax {
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else { break }
            buffered += String(decoding: chunk, as: UTF8.self)
            if let range = buffered.range(of: #"serving API on http://127\.0\.0\.1:\d+"#, options: .regularExpression) {
                baseURL = String(buffered[range].dropFirst("serving API on ".count))
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

    deinit {
        if process.isRunning { kill9() }
    }
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

/// A socket on 127.0.0.1 that accepts connections (the kernel completes them) but never
/// answers: a region that hangs. Returns the descriptor (close it when done) and the port.
func silentListener() throws -> (descriptor: Int32, port: Int) {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let listening = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
            guard bind(descriptor, pointer, length) == 0, listen(descriptor, 16) == 0 else { return -1 }
            return getsockname(descriptor, pointer, &length)
        }
    }
    guard listening == 0 else {
        close(descriptor)
        throw MeridianError.invalid("test", "could not listen on a free port")
    }
    return (descriptor, Int(UInt16(bigEndian: address.sin_port)))
}
