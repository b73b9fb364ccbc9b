import Foundation
import MeridianLocalCluster
import MeridianNode

/// The `meridian` executable built next to the running test bundle (found through
/// `/proc/self/exe`), or the path in the `MERIDIAN_BINARY` environment variable.
public let meridianBinary: URL = {
    if let path = ProcessInfo.processInfo.environment["MERIDIAN_BINARY"] { return URL(fileURLWithPath: path) }
    let testBinary = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0])
    return testBinary.deletingLastPathComponent().appendingPathComponent("meridian")
}()

/// One real `meridian serve` process on loopback, on a port the system chose (or the one
/// the cluster file names), with its data in `directory/data-<region>` and its output in
/// `directory/serve-<region>.log`.
public final class ServerProcess {
    /// The running process.
    public let process: ServeProcess
    /// The API's base URL, such as `http://127.0.0.1:8080`.
    public let baseURL: String
    /// The API's port on 127.0.0.1.
    public let port: Int

    /// Starts `meridian serve` for `region` (by default a one-region cluster over
    /// `directory`) and waits until it serves.
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
            try ClusterConfiguration.loopback(regions: ["us-east"], ports: [0, 0], latencyMilliseconds: nil).write(to: clusterFile)
        }
        var command = ServeCommand(executable: meridianBinary, clusterFile: clusterFile, region: region,
                                   dataDirectory: directory.appendingPathComponent("data-\(region)"))
        command.extraArguments = extraArguments
        process = try ServeProcess(starting: command, log: directory.appendingPathComponent("serve-\(region).log"))
        do {
            baseURL = try process.waitUntilServing(timeoutMilliseconds: LocalCluster.startupMillisecondsMax)
        } catch {
            process.kill9()
            throw error
        }
        port = Int(baseURL[baseURL.index(after: baseURL.lastIndex(of: ":")!)...])!
    }

    /// Ends the process with SIGKILL: no chance to flush or clean up.
    public func kill9() {
        process.kill9()
    }

    /// Asks the process to stop with SIGTERM and waits; returns its exit status.
    public func terminate() -> Int32 {
        process.terminate()
    }

    deinit {
        if process.isRunning { process.kill9() }
    }
}

/// Real `meridian serve` processes on loopback, one per region, in a temporary
/// directory: the `LocalCluster` of the multi-process tests, run from the test build's
/// `meridian`. Each region keeps its data in `<directory>/<region>` and its output in
/// `<directory>/serve-<region>.log`.
public final class TestCluster: @unchecked Sendable {
    public let directory: TemporaryDirectory
    public let processes: LocalCluster

    /// Writes a cluster file for `regions` on free ports with these one-way delays (and
    /// whatever `configure` adds, given the directory), starts every region and waits
    /// until each serves.
    public init(regions: [String], latencyMilliseconds: [String: [String: Double]], allowFaultInjection: Bool = false,
                configure: (inout ClusterConfiguration, URL) throws -> Void = { _, _ in }) throws {
        directory = try TemporaryDirectory()
        var configuration = try ClusterConfiguration.loopback(regions: regions, ports: try LocalPorts.free(2 * regions.count),
                                                              latencyMilliseconds: latencyMilliseconds)
        try configure(&configuration, directory.url)
        let clusterFile = directory.url.appendingPathComponent("cluster.json")
        try configuration.write(to: clusterFile)
        processes = LocalCluster(configuration: configuration, clusterFile: clusterFile, executable: meridianBinary, folder: directory.url) {
            $0.allowFaultInjection = allowFaultInjection
        }
        do {
            try processes.startAll()
            for region in regions { try processes.waitUntilServing(region) }
        } catch {
            stop()
            throw error
        }
    }

    /// The base URL of a region's API.
    public func url(_ region: String) -> String { processes.url(region) }

    /// Starts a region (again) and waits until it serves.
    public func start(_ region: String) throws {
        try processes.start(region)
        try processes.waitUntilServing(region)
    }

    /// Kills a region with SIGKILL.
    public func kill9(_ region: String) { processes.kill9(region) }

    /// Stops every region and removes the directory.
    public func stop() {
        processes.stopAll()
        directory.remove()
    }

    deinit {
        for region in processes.regions { processes.kill9(region) }
    }
}
