import ArgumentParser
import Foundation
import Hummingbird
import Logging
import MeridianCore
import MeridianStorage
import MeridianHTTP
import MeridianNode
import MeridianSQLite
import ServiceLifecycle

/// `meridian serve`: one region's node, until SIGINT or SIGTERM.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run one region's node.")

    @Option(help: "The cluster file (cluster.json).")
    var cluster: String

    @Option(help: "The region this node serves; must be named in the cluster file.")
    var region: String

    @Option(help: "The region's data directory (created if missing).")
    var data: String

    @Option(help: "When SQLite syncs: 'full' (every commit reaches the disk: survives power loss) or 'normal' (survives a process crash; power loss may lose the latest commits). See docs/durability.md.")
    var sync: String = SyncPolicy.full.rawValue

    @Option(help: "The largest item value accepted, in bytes.")
    var valueBytesMax: Int = Limits.valueBytesMaxDefault

    @Flag(help: "Let the API cut and heal links between regions (PUT /v1/debug/links/{region}); for meridian dev and tests.")
    var allowFaultInjection = false

    @Flag(help: "Do not inject the cluster file's latency_ms delays into the peer transport.")
    var noLatency = false

    @Option(help: "How long a consistency=session read waits for this region to catch up before it is forwarded, in milliseconds.")
    var sessionWaitMs: UInt64 = Node.sessionWaitMillisecondsDefault

    @Option(help: "The control endpoint of the meridian dev that started this node (host:port): lets the dashboard stop and start regions. Set by meridian dev only.")
    var devControl: String?

    func run() async throws {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        var logger = Logger(label: "meridian")
        logger.logLevel = .info

        guard let syncPolicy = SyncPolicy(rawValue: sync) else {
            throw ValidationError("--sync must be one of \(SyncPolicy.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let cluster = try ClusterConfiguration.load(path: self.cluster).resolvingPaths(clusterFilePath: self.cluster)
        let regionID = try RegionID(region)
        guard let endpoint = cluster.endpoint(of: regionID), let address = HostAndPort(endpoint.api) else {
            throw ValidationError("region '\(region)' is not in \(self.cluster)")
        }
        var options = NodeOptions(region: regionID, dataDirectory: data, syncPolicy: syncPolicy, valueBytesMax: valueBytesMax,
                                  allowFaultInjection: allowFaultInjection, injectLatency: !noLatency)
        options.sessionWaitMilliseconds = sessionWaitMs
        do { try options.validate(for: cluster) } catch { throw ValidationError(error.message) }
        let operations = try Self.operationsOptions(cluster: cluster, data: data, devControl: devControl)
        let node = try Node(cluster: cluster, options: options, logger: logger)
        try await node.start()
        node.checkIntegrity()

        let app = Application(
            router: MeridianAPI(node: node, operations: operations).router(),
            server: try Self.httpServer(cluster: cluster, region: regionID),
            configuration: .init(address: .hostname(address.host, port: address.port), serverName: "meridian"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? address.port
                let line = "meridian: region \(regionID) serving API on \(cluster.apiScheme)://\(address.host):\(port) (data \(data), sync \(syncPolicy.rawValue))\n"
                FileHandle.standardOutput.write(Data(line.utf8))
            },
            logger: logger)
        let services = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await services.run()
        await node.shutdown()
        logger.info("region \(regionID) stopped cleanly")
    }
}
