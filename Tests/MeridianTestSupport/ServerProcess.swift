import Foundation
import MeridianCore

/// The `meridian` executable built next to the running test bundle (found through
/// `/proc/self/exe`), or the path in the `MERIDIAN_BINARY` environment variable.
public let meridianBinary: URL = {
    if let path = ProcessInfo.processInfo.environment["MERIDIAN_BINARY"] { return URL(fileURLWithPath: path) }
    let testBinary = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0])
    return testBinary.deletingLastPathComponent().appendingPathComponent("meridian")
}()

/// A real `meridian serve` process on loopback, on a port the system chose (or the one
/// the cluster file names).
public final class ServerProcess {
    /// The most lines read from the server's standard output while waiting for it to listen.
    public static let startupLinesMax = 100

    /// The running `meridian serve` process.
    public let process = Process()
    /// The API's base URL, such as `http://127.0.0.1:8080`.
    public let baseURL: String
    /// The API's port on 127.0.0.1.
    public let port: Int

    /// Starts `meridian serve` for `region` (by default a one-region cluster over
    /// `directory`) and waits until it listens.
    ///
    /// - Parameters:
    ///   - directory: Where the data directory, the log and (by default) the cluster file go.
    ///   - clusterFile: The cluster file; `nil` for `directory/cluster.json`, written as a
    ///     one-region `us-east` cluster when it does not exist.
    ///   - region: The region this process serves.
    ///   - extraArguments: More arguments for `meridian serve`.
    public init(directory: URL, clusterFile: URL? = nil, region: String = "us-east", extraArguments: [String] = []) throws {
        let clusterFile = clusterFile ?? directory.appendingPathComponent("cluster.json")
        if !FileManager.default.fileExists(atPath: clusterFile.path) {
            try Data(#"{"regions": [{"name": "us-east", "api": "127.0.0.1:0", "peer": "127.0.0.1:0"}]}"#.utf8).write(to: clusterFile)
        }
        process.executableURL = meridianBinary
        process.arguments = ["serve", "--cluster", clusterFile.path, "--region", region,
                             "--data", directory.appendingPathComponent("data-\(region)").path] + extraArguments
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
            if let range = buffered.range(of: #"serving API on https?://127\.0\.0\.1:(\d+)"#, options: .regularExpression) {
                let match = buffered[range]
                port = Int(match[match.index(after: match.lastIndex(of: ":")!)...])!
                baseURL = (match.contains("https://") ? "https" : "http") + "://127.0.0.1:\(port)"
                return
            }
        }
        process.terminate()
        let log = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
        throw MeridianError.invalid("test", "meridian serve did not start; output: \(buffered) log: \(log)")
    }

    /// Ends the process with SIGKILL: no chance to flush or clean up.
    public func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Asks the process to stop with SIGTERM and waits; returns its exit status.
    public func terminate() -> Int32 {
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { kill9() }
    }
}
