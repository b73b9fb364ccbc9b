import Foundation
import Logging
import MeridianCore
import MeridianRegion
import MeridianSQLite
import MeridianStorage

/// What one `meridian serve` process needs beyond the cluster file.
public struct NodeOptions: Sendable {
    /// The region this node serves.
    public var region: RegionID
    /// Where its data lives.
    public var dataDirectory: String
    /// When SQLite syncs; see docs/durability.md.
    public var syncPolicy: SyncPolicy
    /// The largest item value a client may send, in bytes.
    public var valueBytesMax: Int

    public init(region: RegionID, dataDirectory: String, syncPolicy: SyncPolicy = .full, valueBytesMax: Int = Limits.valueBytesMaxDefault) {
        self.region = region
        self.dataDirectory = dataDirectory
        self.syncPolicy = syncPolicy
        self.valueBytesMax = valueBytesMax
    }
}

/// One region's running node: its storage, its region logic and the executor that runs it.
public final class Node: Sendable {
    /// The cluster this node belongs to.
    public let cluster: ClusterConfiguration
    /// This node's region.
    public let region: RegionID
    /// The largest item value a client may send, in bytes.
    public let valueBytesMax: Int
    private let executor: RegionExecutor
    private let dataDirectory: DataDirectory?

    /// Opens a node over SQLite in its data directory.
    public convenience init(cluster: ClusterConfiguration, options: NodeOptions) throws {
        try Self.checkSupported(cluster: cluster, region: options.region)
        let directory = try DataDirectory(path: options.dataDirectory)
        let storage = try SQLiteStorage(path: directory.databasePath, syncPolicy: options.syncPolicy)
        try self.init(cluster: cluster, region: options.region, storage: storage, valueBytesMax: options.valueBytesMax, dataDirectory: directory)
    }

    /// Opens a node over any storage (tests use `InMemoryStorage`).
    public init(cluster: ClusterConfiguration, region: RegionID, storage: any RegionStorage,
                valueBytesMax: Int = Limits.valueBytesMaxDefault, dataDirectory: DataDirectory? = nil,
                wallMilliseconds: @escaping @Sendable () -> UInt64 = Node.systemWallMilliseconds) throws {
        try Self.checkSupported(cluster: cluster, region: region)
        let configuration = RegionConfiguration(id: region, clusterRegions: cluster.regionIDs)
        self.cluster = cluster
        self.region = region
        self.valueBytesMax = valueBytesMax
        self.dataDirectory = dataDirectory
        executor = RegionExecutor(region: try Region(configuration: configuration, storage: storage), wallMilliseconds: wallMilliseconds)
    }

    /// Runs one client request in this region.
    public func perform(_ request: RegionRequest) async -> Result<RegionReply, MeridianError> {
        await executor.perform(request)
    }

    /// Finishes queued requests and stops; later requests get 503.
    public func shutdown() {
        executor.shutdown()
    }

    /// Milliseconds since the Unix epoch, from the system clock.
    @Sendable public static func systemWallMilliseconds() -> UInt64 {
        UInt64(max(0, Date().timeIntervalSince1970 * 1000))
    }

    /// This build serves single-region clusters: replication between regions is not built yet.
    static func checkSupported(cluster: ClusterConfiguration, region: RegionID) throws(MeridianError) {
        guard cluster.endpoint(of: region) != nil else {
            throw .invalid("unknown_region", "region '\(region)' is not in the cluster file; it names \(cluster.regionIDs.map(\.name).joined(separator: ", "))")
        }
        guard cluster.regions.count == 1 else {
            throw .invalid("replication_unavailable",
                "the cluster file names \(cluster.regions.count) regions, but this build does not replicate between regions yet; use a cluster file with one region")
        }
    }
}
