import Foundation
import Logging
import MeridianCore
import MeridianRegion
import MeridianReplication
import MeridianSQLite
import MeridianStorage
import NIOCore
import NIOPosix
import NIOConcurrencyHelpers

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
    /// Whether the fault switch (cutting links) may be used through the API: `meridian dev` and tests only.
    public var allowFaultInjection: Bool
    /// Whether to inject the cluster file's one-way delays into the peer transport.
    public var injectLatency: Bool
    /// How long a session read waits for this region to catch up, in milliseconds.
    public var sessionWaitMilliseconds: UInt64 = Node.sessionWaitMillisecondsDefault

    public init(region: RegionID, dataDirectory: String, syncPolicy: SyncPolicy = .full, valueBytesMax: Int = Limits.valueBytesMaxDefault,
                allowFaultInjection: Bool = false, injectLatency: Bool = true) {
        self.region = region
        self.dataDirectory = dataDirectory
        self.syncPolicy = syncPolicy
        self.valueBytesMax = valueBytesMax
        self.allowFaultInjection = allowFaultInjection
        self.injectLatency = injectLatency
    }

    /// Checks the options against the node's policy for `cluster`; `Node` refuses options
    /// that fail it, and the command line reports the error as it is.
    ///
    /// - Throws: `invalid_node_options` when the value limit is out of range, the session
    ///   wait is longer than `Node.sessionWaitMillisecondsMax`, or the sync policy is
    ///   `normal` in a cluster of several regions.
    public func validate(for cluster: ClusterConfiguration) throws(MeridianError) {
        guard (1...Limits.valueBytesMaxMax).contains(valueBytesMax) else {
            throw .invalid("invalid_node_options", "the value limit must be 1 to \(Limits.valueBytesMaxMax) bytes (an item's record must fit one peer frame)")
        }
        guard sessionWaitMilliseconds <= Node.sessionWaitMillisecondsMax else {
            throw .invalid("invalid_node_options", "the session wait must be at most \(Node.sessionWaitMillisecondsMax) ms")
        }
        if syncPolicy == .normal && cluster.regions.count > 1 {
            // Under NORMAL a power loss can take back commits whose entries were already
            // shipped; the region would then reuse their sequence numbers (docs/durability.md).
            throw .invalid("invalid_node_options", "sync 'normal' is refused in a cluster of several regions: a power loss could make this region reuse log positions it already shipped; use sync 'full'")
        }
    }
}

/// One region's running node: its storage, its region logic, the executor that runs it,
/// and (in a cluster of several regions) the peer transport and the tick timer.
public final class Node: Sendable {
    /// The default bound on a session read's wait, in milliseconds.
    public static let sessionWaitMillisecondsDefault: UInt64 = 300
    /// The largest bound a node accepts on a session read's wait, in milliseconds.
    public static let sessionWaitMillisecondsMax: UInt64 = 10_000
    /// How often the region ticks (heartbeats, retransmission, truncation), in milliseconds.
    public static let tickIntervalMilliseconds: Int64 = 10

    /// The cluster this node belongs to.
    public let cluster: ClusterConfiguration
    /// This node's region.
    public let region: RegionID
    /// The largest item value a client may send, in bytes.
    public let valueBytesMax: Int
    /// Whether the API may cut and heal links.
    public let allowFaultInjection: Bool
    /// How long a session read waits for this region to catch up before it forwards, in milliseconds.
    public let sessionWaitMilliseconds: UInt64
    /// The injected one-way delay to each region, in milliseconds (empty when latency
    /// injection is off): forwarded client requests pay it too.
    public let oneWayDelaysMilliseconds: [RegionID: Double]
    let executor: RegionExecutor
    let dataDirectory: DataDirectory?
    let transport: PeerTransport?
    private let ticker: NIOLockedValueBox<RepeatedTask?> = NIOLockedValueBox(nil)
    /// The storage, for the integrity check `start` runs beside the executor.
    private let storage: StorageBox

    /// Opens a node over SQLite in its data directory, once `options` pass `validate(for:)`.
    public convenience init(cluster: ClusterConfiguration, options: NodeOptions, logger: Logger = Logger(label: "meridian")) throws {
        guard cluster.endpoint(of: options.region) != nil else { throw Self.unknownRegion(options.region, cluster) }
        try options.validate(for: cluster)
        let directory = try DataDirectory(path: options.dataDirectory)
        let storage = try SQLiteStorage(path: directory.databasePath, syncPolicy: options.syncPolicy)
        try self.init(cluster: cluster, region: options.region, storage: storage, valueBytesMax: options.valueBytesMax,
                      dataDirectory: directory, allowFaultInjection: options.allowFaultInjection, injectLatency: options.injectLatency,
                      sessionWaitMilliseconds: options.sessionWaitMilliseconds, logger: logger)
    }

    /// Opens a node over any storage (tests use `InMemoryStorage`).
    public init(cluster: ClusterConfiguration, region: RegionID, storage: any RegionStorage,
                valueBytesMax: Int = Limits.valueBytesMaxDefault, dataDirectory: DataDirectory? = nil,
                allowFaultInjection: Bool = false, injectLatency: Bool = true,
                sessionWaitMilliseconds: UInt64 = Node.sessionWaitMillisecondsDefault, logger: Logger = Logger(label: "meridian"),
                wallMilliseconds: @escaping @Sendable () -> UInt64 = Node.systemWallMilliseconds) throws {
        guard cluster.endpoint(of: region) != nil else { throw Self.unknownRegion(region, cluster) }
        self.cluster = cluster
        self.region = region
        self.valueBytesMax = valueBytesMax
        self.dataDirectory = dataDirectory
        self.allowFaultInjection = allowFaultInjection
        self.sessionWaitMilliseconds = min(sessionWaitMilliseconds, Self.sessionWaitMillisecondsMax)
        oneWayDelaysMilliseconds = injectLatency ? cluster.oneWayDelaysMilliseconds(from: region) : [:]
        var regionConfiguration = RegionConfiguration(id: region, clusterRegions: cluster.regionIDs)
        // Election timeouts are drawn from a seeded generator inside each Raft group; the
        // seed comes from the system's generator, here in the shell.
        regionConfiguration.raft.randomSeed = UInt64.random(in: 0...UInt64.max)
        if injectLatency {
            let oneWayMax = cluster.regionIDs.flatMap { cluster.oneWayDelaysMilliseconds(from: $0).values }.max() ?? 0
            regionConfiguration.raft.electionTicks = regionConfiguration.raft.electionTicks(forRoundTripMilliseconds: 2 * oneWayMax)
        }
        let regionLogic = try Region(configuration: regionConfiguration, storage: storage)

        let relay = ExecutorRelay()
        if cluster.regions.count > 1 {
            let peers = Dictionary(uniqueKeysWithValues: cluster.regions.filter { $0.name != region }.compactMap { endpoint in
                HostAndPort(endpoint.peer).map { (endpoint.name, $0) }
            })
            let delays = injectLatency ? cluster.oneWayDelaysMilliseconds(from: region) : [:]
            guard let listen = cluster.endpoint(of: region).flatMap({ HostAndPort($0.peer) }) else { throw Self.unknownRegion(region, cluster) }
            transport = PeerTransport(local: region, listen: listen, peers: peers, clusterID: cluster.clusterID,
                                      oneWayDelayMilliseconds: delays, delegate: relay,
                                      group: MultiThreadedEventLoopGroup.singleton, logger: logger,
                                      security: try PeerSecurity(cluster: cluster))
        } else {
            transport = nil
        }
        let transport = self.transport
        self.storage = StorageBox(storage: storage)
        executor = RegionExecutor(region: regionLogic, wallMilliseconds: wallMilliseconds) { messages in
            guard let transport else { return }
            for (peer, message) in messages { transport.send(message, to: peer) }
        }
        relay.executor = executor
        let region = self.region
        executor.observeCorruption { problem in
            logger.error("stored data is damaged", metadata: ["region": "\(region)", "problem": "\(problem)"])
        }
    }

    /// The most damaged rows the startup integrity check describes.
    public static let integrityProblemsMax = 100

    /// Checks every stored row against its checksum on a thread of its own, beside the
    /// region's work (a read transaction: it never blocks writes); each damage found is
    /// logged, counted and reported by `/v1/health` until a repair.
    public func checkIntegrity() {
        let executor = self.executor
        let storage = self.storage
        let thread = Thread {
            do {
                for problem in try storage.storage.checkIntegrity(problemsMax: Self.integrityProblemsMax) { executor.noteCorruption(problem) }
            } catch let error as MeridianError {
                executor.noteCorruption(error.message)
            } catch {
                executor.noteCorruption("the integrity check could not read the database: \(error)")
            }
        }
        thread.name = "meridian-integrity"
        thread.start()
    }

    /// Starts the peer transport and the tick timer (nothing to start for one region).
    public func start() async throws {
        guard let transport else { return }
        try await transport.start()
        let executor = self.executor
        let task = MultiThreadedEventLoopGroup.singleton.next().scheduleRepeatedTask(
            initialDelay: .milliseconds(Self.tickIntervalMilliseconds), delay: .milliseconds(Self.tickIntervalMilliseconds)) { _ in
            executor.submit(.tick)
        }
        ticker.withLockedValue { $0 = task }
    }

    /// Runs one client request in this region.
    public func perform(_ request: RegionRequest) async -> Result<RegionReply, MeridianError> {
        await executor.perform(request).0
    }

    /// Runs one client request; also returns what the region had applied when it answered
    /// (for session tokens).
    public func performWithSessionMarks(_ request: RegionRequest) async -> (Result<RegionReply, MeridianError>, SessionMarks) {
        await executor.perform(request)
    }

    /// Wakes change-feed subscribers when the region's feed grows, and counts their streams.
    public var changes: ChangeNotifier { executor.changes }

    /// Cuts or heals the link to a peer (fault injection for `meridian dev` and tests).
    public func setLinkCut(to peer: RegionID, direction: LinkDirection, cut: Bool) throws(MeridianError) {
        guard allowFaultInjection else {
            throw MeridianError(.methodNotAllowed, code: "fault_injection_disabled", "this node was not started with --allow-fault-injection")
        }
        guard let transport, cluster.endpoint(of: peer) != nil, peer != region else {
            throw MeridianError(.notFound, code: "unknown_region", "'\(peer)' is not a peer of \(region)")
        }
        transport.setLinkCut(to: peer, direction: direction, cut: cut)
    }

    /// Stops the timer and the transport, finishes queued requests and stops; later requests get 503.
    public func shutdown() async {
        ticker.withLockedValue { $0?.cancel(); $0 = nil }
        await transport?.shutdown()
        executor.shutdown()
    }

    /// Milliseconds since the Unix epoch, from the system clock.
    @Sendable public static func systemWallMilliseconds() -> UInt64 {
        UInt64(max(0, Date().timeIntervalSince1970 * 1000))
    }

    static func unknownRegion(_ region: RegionID, _ cluster: ClusterConfiguration) -> MeridianError {
        .invalid("unknown_region", "region '\(region)' is not in the cluster file; it names \(cluster.regionIDs.map(\.name).joined(separator: ", "))")
    }
}

/// Hands the transport's events to the executor (set once, right after both exist).
final class ExecutorRelay: PeerTransportDelegate, @unchecked Sendable {
    private let box = NIOLockedValueBox<RegionExecutor?>(nil)

    var executor: RegionExecutor? {
        get { box.withLockedValue { $0 } }
        set { box.withLockedValue { $0 = newValue } }
    }

    func peerConnected(_ peer: RegionID) { executor?.submit(.peerConnected(peer)) }
    func peerDisconnected(_ peer: RegionID) { executor?.submit(.peerDisconnected(peer)) }
    func received(_ message: PeerMessage, from peer: RegionID) { executor?.submit(.message(from: peer, message)) }
}

/// Carries the storage to the integrity check's thread: SQLite's pool serves a read beside
/// the executor's transactions, and storage held in memory has nothing to check.
final class StorageBox: @unchecked Sendable {
    let storage: any RegionStorage
    init(storage: any RegionStorage) { self.storage = storage }
}
