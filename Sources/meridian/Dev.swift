import ArgumentParser
import Foundation
import MeridianCore
import MeridianLocalCluster
import MeridianNode
import UnixSignals

/// `meridian dev`: a whole multi-region cluster on this machine, one `meridian serve`
/// process per region, with the latency matrix injected between them.
struct Dev: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a local multi-region cluster with realistic inter-region latency.",
        discussion: """
            Starts one `meridian serve` per region and prints the exact command for each, an admin token \
            (also written to <data>/token) and the dashboard address. A region \
            that dies is not restarted (that is how you stage an outage); run its printed command to \
            bring it back (or use the dashboard's start button). Ctrl-C stops them all; data persists under --data.
            """)

    @Option(help: "Comma-separated regions (known: \(Geography.oneWayMilliseconds.keys.sorted().joined(separator: ", "))).")
    var regions: String = Geography.defaultRegions.joined(separator: ",")

    @Option(help: "The data folder: cluster.json and one folder per region.")
    var data: String = "./meridian-data"

    @Option(help: "The first API port; regions take consecutive ports, peer ports start 100 higher.")
    var basePort: Int = 7001

    @Flag(help: "Do not inject inter-region latency.")
    var noLatency = false

    func run() async throws {
        let regionIDs = try regions.split(separator: ",").map { try RegionID(String($0)) }
        guard !regionIDs.isEmpty, Set(regionIDs).count == regionIDs.count else { throw ValidationError("--regions must name distinct regions") }
        guard (1...65000).contains(basePort) else { throw ValidationError("--base-port must be 1 to 65000") }
        let names = regionIDs.map(\.name)
        let dataURL = URL(fileURLWithPath: data).standardizedFileURL
        try FileManager.default.createDirectory(at: dataURL, withIntermediateDirectories: true)
        var configuration = try ClusterConfiguration.loopback(regions: names, ports: LocalPorts.consecutive(base: basePort, count: names.count),
                                                              latencyMilliseconds: Geography.latencyMilliseconds(between: names))
        let clusterFile = dataURL.appendingPathComponent("cluster.json")
        let previous = try? ClusterConfiguration.load(path: clusterFile.path)
        let token = try Self.prepareSecurity(&configuration, previous: previous, dataURL: dataURL)
        try configuration.write(to: clusterFile)

        let controlPort = basePort + Self.controlPortOffset
        print("meridian dev: \(names.count) regions, cluster file \(clusterFile.path), latency \(noLatency ? "off" : "injected")")
        // No logs: the regions write to this terminal.
        let cluster = LocalCluster(configuration: configuration, clusterFile: clusterFile, executable: Meridian.executable, folder: dataURL, logs: false) { command in
            command.allowFaultInjection = true
            command.devControl = "127.0.0.1:\(controlPort)"
            command.injectLatency = !noLatency
        }
        for region in names {
            try cluster.start(region)
            print("  \(region): API \(cluster.url(region))   command: \(cluster.command(of: region).commandLine)")
        }
        if !noLatency {
            for source in names {
                let row = names.filter { $0 != source }.map { "\($0) \(Geography.oneWay(from: source, to: $0)) ms" }
                print("  one-way from \(source): \(row.joined(separator: ", "))")
            }
        }
        print("  admin token: \(token)   (also in \(dataURL.appendingPathComponent("token").path); send 'Authorization: Bearer <token>', or --token / MERIDIAN_TOKEN)")
        print("  dashboard: http://\(configuration.regions[0].api)/dashboard#token=\(token)")
        print("  DynamoDB API: POST / on every region's API port (aws dynamodb --endpoint-url http://\(configuration.regions[0].api) --region \(names[0])); access key id \(Self.devAdmin), secret in \(dataURL.appendingPathComponent("aws-credentials").path) (AWS_SHARED_CREDENTIALS_FILE=<that file>)")
        print("Try: meridian tables create notes --cluster \(clusterFile.path) --from \(names[0])   (Ctrl-C stops every region)")
        fflush(nil)
        let supervisor = DevSupervisor(cluster: cluster)
        let control = Task { try await supervisor.controlApplication(port: controlPort, token: token).runService() }
        await Self.superviseUntilSignal(supervisor)
        control.cancel()
    }

    /// The dev control endpoint listens on the base port plus this, on loopback.
    static let controlPortOffset = 99

    /// Waits until SIGINT or SIGTERM, then stops every region and waits for them. A region
    /// that exits is reported, never restarted (the dashboard's start button, or its
    /// printed command, brings it back).
    static func superviseUntilSignal(_ supervisor: DevSupervisor) async {
        let signals = await UnixSignalsSequence(trapping: .sigint, .sigterm)
        let watcher = Task {
            while !Task.isCancelled {
                for (region, status) in supervisor.cluster.newlyExited() {
                    print("meridian dev: region \(region) exited with status \(status); it stays down until you run its command or start it from the dashboard")
                    fflush(nil)
                }
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        var iterator = signals.makeAsyncIterator()
        _ = await iterator.next()
        watcher.cancel()
        print("meridian dev: stopping every region")
        supervisor.cluster.stopAll(killAfterMilliseconds: nil)
    }
}
