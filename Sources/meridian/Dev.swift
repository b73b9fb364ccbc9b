import ArgumentParser
import Foundation
import MeridianCore
import MeridianNode
import UnixSignals

/// `meridian dev`: a whole multi-region cluster on this machine, one `meridian serve`
/// process per region, with the latency matrix injected between them.
struct Dev: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a local multi-region cluster with realistic inter-region latency.",
        discussion: """
            Starts one `meridian serve` per region and prints the exact command for each. A region \
            that dies is not restarted (that is how you stage an outage); run its printed command to \
            bring it back. Ctrl-C stops them all; data persists under --data.
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
        let dataURL = URL(fileURLWithPath: data).standardizedFileURL
        try FileManager.default.createDirectory(at: dataURL, withIntermediateDirectories: true)
        var cluster = Geography.localCluster(regions: regionIDs, basePort: basePort)
        let clusterFile = dataURL.appendingPathComponent("cluster.json")
        let previous = try? ClusterConfiguration.load(path: clusterFile.path)
        let token = try Self.prepareSecurity(&cluster, previous: previous, dataURL: dataURL)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(cluster).write(to: clusterFile)

        let executable = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0])
        print("meridian dev: \(regionIDs.count) regions, cluster file \(clusterFile.path), latency \(noLatency ? "off" : "injected")")
        var processes: [(RegionID, Process)] = []
        for region in regionIDs {
            var arguments = ["serve", "--cluster", clusterFile.path, "--region", region.name,
                             "--data", dataURL.appendingPathComponent(region.name).path, "--allow-fault-injection"]
            if noLatency { arguments.append("--no-latency") }
            let process = Process()
            process.executableURL = executable
            process.arguments = arguments
            try process.run()
            processes.append((region, process))
            let api = cluster.endpoint(of: region)?.api ?? "?"
            print("  \(region.name): API http://\(api)   command: \(executable.path) \(arguments.joined(separator: " "))")
        }
        if !noLatency {
            for source in regionIDs {
                let row = regionIDs.filter { $0 != source }.map { "\($0.name) \(Geography.oneWay(from: source.name, to: $0.name)) ms" }
                print("  one-way from \(source.name): \(row.joined(separator: ", "))")
            }
        }
        print("  admin token: \(token)   (also in \(dataURL.appendingPathComponent("token").path); send 'Authorization: Bearer <token>', or --token / MERIDIAN_TOKEN)")
        print("Try: meridian tables create notes --cluster \(clusterFile.path) --from \(regionIDs[0].name)   (Ctrl-C stops every region)")
        await Self.superviseUntilSignal(processes)
    }

    /// Waits until SIGINT or SIGTERM (then stops every region and waits for them) or until
    /// every region has exited. A region that exits is reported, never restarted.
    static func superviseUntilSignal(_ processes: [(RegionID, Process)]) async {
        let signals = await UnixSignalsSequence(trapping: .sigint, .sigterm)
        let watcher = Task {
            var reported: Set<RegionID> = []
            while reported.count < processes.count {
                for (region, process) in processes where !process.isRunning && !reported.contains(region) {
                    reported.insert(region)
                    print("meridian dev: region \(region) exited with status \(process.terminationStatus); it stays down until you run its command")
                }
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        var iterator = signals.makeAsyncIterator()
        _ = await iterator.next()
        watcher.cancel()
        print("meridian dev: stopping every region")
        for (_, process) in processes where process.isRunning { kill(process.processIdentifier, SIGTERM) }
        for (_, process) in processes { process.waitUntilExit() }
    }
}
