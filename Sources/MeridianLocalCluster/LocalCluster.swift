// MeridianLocalCluster owns running a Meridian cluster on this machine, for `meridian
// dev`, `meridian bench` and the multi-process tests alike: the loopback cluster file
// (ports chosen consecutively or by the system, the latency matrix of `Geography`), the
// `meridian serve` command of each region, and its process (started, killed with SIGKILL,
// stopped with SIGTERM, watched until it serves).
//
// It starts only `meridian serve` processes, and signals only the processes it started.
// What a caller adds around them (dev's control endpoint and tokens, the bench's load and
// its other servers, a test's assertions) stays with the caller.

import Foundation
import MeridianNode

/// A cluster of `meridian serve` processes on this machine: its cluster file, and one
/// process per region that is started, killed and stopped on demand.
///
/// ```swift
/// let configuration = try ClusterConfiguration.loopback(regions: ["us-east", "eu-west"], ports: try LocalPorts.free(4),
///                                                       latencyMilliseconds: Geography.latencyMilliseconds(between: ["us-east", "eu-west"]))
/// try configuration.write(to: clusterFile)
/// let cluster = LocalCluster(configuration: configuration, clusterFile: clusterFile, executable: meridian, folder: folder)
/// try cluster.startAll()
/// try await cluster.waitUntilServing("us-east")
/// cluster.kill9("us-east")     // an outage
/// cluster.stopAll()
/// ```
///
/// Rules: a region has at most one process; `start` of a running region does nothing; a
/// process that exits on its own is reported once by `newlyExited`, one ended through this
/// object never is.
public final class LocalCluster: @unchecked Sendable {
    /// How long a started region may take to serve, in milliseconds.
    public static let startupMillisecondsMax = 60_000
    /// How long `stopAll` lets a region finish after SIGTERM before SIGKILL, in milliseconds.
    public static let terminateGraceMilliseconds = 3000

    public let configuration: ClusterConfiguration
    public let clusterFile: URL
    /// Each region's command, in cluster-file order.
    public let commands: [ServeCommand]
    /// Where each region's log goes (`serve-<region>.log`); nil when the processes share
    /// the caller's standard output and error.
    public let logFolder: URL?

    private struct Member {
        var process: ServeProcess
        /// The base URL its log announced.
        var url: String?
        /// Whether its exit was caused here or already reported.
        var exitAccounted = false
    }

    private let lock = NSLock()
    /// Guarded by `lock`.
    private var members: [String: Member] = [:]

    /// A cluster of the given commands (one per region of `configuration`).
    public init(configuration: ClusterConfiguration, clusterFile: URL, commands: [ServeCommand], logFolder: URL?) {
        precondition(commands.map(\.region) == configuration.regions.map(\.name.name), "one command per region, in cluster-file order")
        self.configuration = configuration
        self.clusterFile = clusterFile
        self.commands = commands
        self.logFolder = logFolder
    }

    /// A cluster whose regions keep their data in `folder/<region>` and their logs in
    /// `folder/serve-<region>.log` (none with `logs: false`); `adjust` sets each
    /// command's options.
    public convenience init(configuration: ClusterConfiguration, clusterFile: URL, executable: URL, folder: URL, logs: Bool = true,
                            adjust: (inout ServeCommand) -> Void = { _ in }) {
        let commands = configuration.regions.map { endpoint in
            var command = ServeCommand(executable: executable, clusterFile: clusterFile, region: endpoint.name.name,
                                       dataDirectory: folder.appendingPathComponent(endpoint.name.name))
            adjust(&command)
            return command
        }
        self.init(configuration: configuration, clusterFile: clusterFile, commands: commands, logFolder: logs ? folder : nil)
    }

    /// The region names, in cluster-file order.
    public var regions: [String] { commands.map(\.region) }

    /// A region's command.
    public func command(of region: String) -> ServeCommand {
        guard let command = commands.first(where: { $0.region == region }) else { preconditionFailure("\(region) is not a region of this cluster") }
        return command
    }

    /// A region's log file, when the cluster keeps logs.
    public func log(of region: String) -> URL? {
        logFolder?.appendingPathComponent("serve-\(region).log")
    }

    /// The base URL of a region's API: the one its log announced, else the cluster file's.
    public func url(_ region: String) -> String {
        if let announced = lock.withLock({ members[region]?.url }) { return announced }
        let scheme = configuration.tls?.clientAPI == true ? "https://" : "http://"
        return scheme + (configuration.regions.first { $0.name.name == region }?.api ?? "unknown-region")
    }

    /// The running process of a region, if any.
    public func process(of region: String) -> ServeProcess? {
        lock.withLock { members[region]?.process }.flatMap { $0.isRunning ? $0 : nil }
    }

    /// Starts the region's process unless it runs; whether it was started.
    @discardableResult
    public func start(_ region: String) throws -> Bool {
        try lock.withLock {
            if members[region]?.process.isRunning == true { return false }
            let process = try ServeProcess(starting: command(of: region), log: log(of: region))
            members[region] = Member(process: process)
            return true
        }
    }

    /// Starts every region that is not running.
    public func startAll() throws {
        for region in regions { try start(region) }
    }

    /// Waits, blocking the thread, until the region's process serves.
    public func waitUntilServing(_ region: String) throws {
        let url = try startedProcess(region).waitUntilServing(timeoutMilliseconds: Self.startupMillisecondsMax)
        lock.withLock { members[region]?.url = url }
    }

    /// Waits, suspending, until the region's process serves.
    public func waitUntilServing(_ region: String) async throws {
        let url = try await startedProcess(region).waitUntilServing(timeoutMilliseconds: Self.startupMillisecondsMax)
        lock.withLock { members[region]?.url = url }
    }

    private func startedProcess(_ region: String) throws -> ServeProcess {
        guard let process = lock.withLock({ members[region]?.process }) else { throw LocalClusterError("region \(region) was never started") }
        return process
    }

    /// Kills the region's process with SIGKILL (an outage: nothing is flushed) and waits;
    /// whether it was running.
    @discardableResult
    public func kill9(_ region: String) -> Bool {
        guard let process = endedHere(region) else { return false }
        process.kill9()
        return true
    }

    /// Stops the region's process with SIGTERM and waits; its exit status, nil when it was not running.
    @discardableResult
    public func terminate(_ region: String) -> Int32? {
        endedHere(region)?.terminate()
    }

    /// Marks a running region's process as ended by this object, and returns it.
    private func endedHere(_ region: String) -> ServeProcess? {
        lock.withLock {
            guard let process = members[region]?.process, process.isRunning else { return nil }
            members[region]?.exitAccounted = true
            return process
        }
    }

    /// Regions whose process exited on its own since the last call, with their exit status.
    public func newlyExited() -> [(region: String, status: Int32)] {
        lock.withLock {
            var exited: [(region: String, status: Int32)] = []
            for region in regions {
                guard let member = members[region], !member.exitAccounted, !member.process.isRunning else { continue }
                members[region]?.exitAccounted = true
                exited.append((region, member.process.terminationStatus))
            }
            return exited
        }
    }

    /// Sends SIGTERM to every running region, then waits for each; past
    /// `killAfterMilliseconds` (when given) the ones still running get SIGKILL.
    public func stopAll(killAfterMilliseconds: Int? = LocalCluster.terminateGraceMilliseconds) {
        let running = regions.compactMap(endedHere)
        for process in running { process.send(SIGTERM) }
        let deadline = killAfterMilliseconds.map { ContinuousClock.now + .milliseconds($0) }
        for process in running {
            let remaining = deadline.map { max(0, Int(($0 - ContinuousClock.now) / .milliseconds(1))) }
            process.waitForExit(killAfterMilliseconds: remaining)
        }
    }
}
