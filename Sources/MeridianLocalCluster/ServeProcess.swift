import Foundation

/// One region's `meridian serve` command line.
public struct ServeCommand: Sendable, Equatable {
    /// The `meridian` executable.
    public var executable: URL
    public var clusterFile: URL
    public var region: String
    public var dataDirectory: URL
    /// `--allow-fault-injection`: the API may cut and heal links (`meridian dev`, tests).
    public var allowFaultInjection = false
    /// `--dev-control HOST:PORT`: the control endpoint of the `meridian dev` that runs it.
    public var devControl: String?
    /// Without it, `--no-latency`: the cluster file's delays are not injected.
    public var injectLatency = true
    /// Any further arguments, last.
    public var extraArguments: [String] = []

    public init(executable: URL, clusterFile: URL, region: String, dataDirectory: URL) {
        self.executable = executable
        self.clusterFile = clusterFile
        self.region = region
        self.dataDirectory = dataDirectory
    }

    /// The arguments after the executable, in the order `meridian dev` prints them.
    public var arguments: [String] {
        var arguments = ["serve", "--cluster", clusterFile.path, "--region", region, "--data", dataDirectory.path]
        if allowFaultInjection { arguments.append("--allow-fault-injection") }
        if let devControl { arguments += ["--dev-control", devControl] }
        if !injectLatency { arguments.append("--no-latency") }
        return arguments + extraArguments
    }

    /// The whole command as one line, as a user would type it to bring the region back.
    public var commandLine: String {
        ([executable.path] + arguments).joined(separator: " ")
    }
}

/// A running `meridian serve` process.
///
/// Its standard output and error go to a log file (appended to, so a restarted region
/// keeps one log), or are the caller's own when there is no log. A process with a log
/// is known to serve once the log shows the line `meridian serve` prints when its API
/// listens: `... serving API on http://127.0.0.1:7001 ...`.
public final class ServeProcess: @unchecked Sendable {
    /// How often a starting process's log is read, in milliseconds.
    public static let pollMilliseconds = 20
    /// The most bytes of a log read while waiting for the process to serve.
    public static let logBytesReadMax = 1 << 20

    public let command: ServeCommand
    /// Where its output goes; nil when it shares the caller's.
    public let log: URL?
    private let process = Process()
    /// The log's length when the process started: its own lines come after it.
    private let logOffset: UInt64

    /// Starts the process.
    public init(starting command: ServeCommand, log: URL?) throws {
        self.command = command
        self.log = log
        process.executableURL = command.executable
        process.arguments = command.arguments
        var offset: UInt64 = 0
        var handle: FileHandle?
        if let log {
            if !FileManager.default.fileExists(atPath: log.path) { FileManager.default.createFile(atPath: log.path, contents: nil) }
            let opened = try FileHandle(forWritingTo: log)
            offset = try opened.seekToEnd()
            process.standardOutput = opened
            process.standardError = opened
            process.standardInput = FileHandle.nullDevice
            handle = opened
        }
        logOffset = offset
        // The child holds its own descriptor of the log; ours is not needed once it runs.
        defer { try? handle?.close() }
        try process.run()
    }

    /// The process id (signal only this one).
    public var processIdentifier: pid_t { process.processIdentifier }

    public var isRunning: Bool { process.isRunning }

    /// The exit status; meaningful once the process is no longer running.
    public var terminationStatus: Int32 { process.terminationStatus }

    /// The API's base URL once the log announces it (`http://127.0.0.1:7001`), else nil.
    public func announcedURL() -> String? {
        guard let text = logSinceStart() else { return nil }
        guard let range = text.range(of: #"serving API on https?://\S+:[0-9]+"#, options: .regularExpression) else { return nil }
        return String(text[range].dropFirst("serving API on ".count))
    }

    /// Waits, blocking the thread, until the process serves; returns its API's base URL.
    ///
    /// - Throws: `LocalClusterError` when it exits first or does not serve within `timeoutMilliseconds`.
    public func waitUntilServing(timeoutMilliseconds: Int) throws -> String {
        let deadline = ContinuousClock.now + .milliseconds(timeoutMilliseconds)
        while true {
            if let url = try servingURL(deadline: deadline) { return url }
            usleep(useconds_t(Self.pollMilliseconds * 1000))
        }
    }

    /// Waits, suspending, until the process serves; returns its API's base URL.
    ///
    /// - Throws: `LocalClusterError` when it exits first or does not serve within `timeoutMilliseconds`.
    public func waitUntilServing(timeoutMilliseconds: Int) async throws -> String {
        let deadline = ContinuousClock.now + .milliseconds(timeoutMilliseconds)
        while true {
            if let url = try servingURL(deadline: deadline) { return url }
            try await Task.sleep(for: .milliseconds(Self.pollMilliseconds))
        }
    }

    /// The announced URL, nil to wait on, or an error once waiting is pointless.
    private func servingURL(deadline: ContinuousClock.Instant) throws -> String? {
        precondition(log != nil, "only a process with a log can be watched for its announcement")
        if let url = announcedURL() { return url }
        if !process.isRunning {
            throw LocalClusterError("meridian serve for \(command.region) exited with status \(process.terminationStatus) before serving; its output: \(logSinceStart()?.suffix(4000) ?? "")")
        }
        if ContinuousClock.now >= deadline {
            throw LocalClusterError("meridian serve for \(command.region) did not serve in time; its output: \(logSinceStart()?.suffix(4000) ?? "")")
        }
        return nil
    }

    /// What the process wrote to its log, up to `logBytesReadMax` bytes.
    private func logSinceStart() -> String? {
        guard let log, let handle = try? FileHandle(forReadingFrom: log) else { return nil }
        defer { try? handle.close() }
        guard (try? handle.seek(toOffset: logOffset)) != nil, let data = try? handle.read(upToCount: Self.logBytesReadMax) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    /// Sends `signal` while the process runs (never to a pid that may have been reused).
    public func send(_ signal: Int32) {
        if process.isRunning { kill(process.processIdentifier, signal) }
    }

    /// Waits until the process exits; past `killAfterMilliseconds` (when given) it gets
    /// SIGKILL. Returns its exit status.
    @discardableResult
    public func waitForExit(killAfterMilliseconds: Int? = nil) -> Int32 {
        if let killAfterMilliseconds {
            let deadline = ContinuousClock.now + .milliseconds(killAfterMilliseconds)
            while process.isRunning && ContinuousClock.now < deadline { usleep(useconds_t(Self.pollMilliseconds * 1000)) }
            send(SIGKILL)
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Ends the process with SIGKILL (a crash: nothing is flushed or closed) and waits.
    public func kill9() {
        send(SIGKILL)
        waitForExit()
    }

    /// Asks the process to stop with SIGTERM and waits; returns its exit status.
    @discardableResult
    public func terminate(killAfterMilliseconds: Int? = nil) -> Int32 {
        send(SIGTERM)
        return waitForExit(killAfterMilliseconds: killAfterMilliseconds)
    }
}
