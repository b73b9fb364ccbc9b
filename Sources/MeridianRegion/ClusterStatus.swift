import MeridianCore
import MeridianReplication

/// One region's view of the cluster, for `GET /v1/cluster`.
public struct ClusterStatus: Sendable, Equatable {
    /// This region's applied positions.
    public var applied: Positions
    public var peers: [PeerStatus]
    public var counters: RegionCounters
    /// Each `primary` and `strong` table's Raft group as this region sees it.
    public var raftGroups: [TableName: RaftTableStatus] = [:]
    public var raftCounters = RaftCounters()
}

/// What one region knows about a peer and about the peer's origin log.
public struct PeerStatus: Sendable, Equatable {
    public var region: RegionID
    /// Whether a connection to the peer is up.
    public var connected: Bool
    /// Milliseconds since the peer's last heartbeat arrived (`nil`: none yet).
    public var heartbeatAgeMilliseconds: UInt64?
    /// The peer's own log end as of its last heartbeat.
    public var originLatestSequence: UInt64
    /// How far this region has applied the peer's origin log.
    public var originApplied: UInt64
    /// Replication lag from the peer's origin to this region, in milliseconds: zero when
    /// this region has applied everything the peer's last heartbeat announced, else the
    /// time since the announced newest write was accepted.
    public var lagMilliseconds: UInt64
    /// Recent delays from acceptance at the peer to application here, in milliseconds.
    public var applyDelayMilliseconds: DelaySummary?
    /// What the peer acknowledged of this region's own log.
    public var acknowledgedOwn: UInt64
}

/// Percentiles of recent delays.
public struct DelaySummary: Sendable, Equatable {
    public var samples: Int
    public var p50: UInt64
    public var p99: UInt64
    public var max: UInt64

    init?(_ values: [UInt64]) {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        samples = sorted.count
        p50 = sorted[sorted.count / 2]
        p99 = sorted[min(sorted.count - 1, sorted.count * 99 / 100)]
        max = sorted[sorted.count - 1]
    }
}

extension Step {
    func clusterStatus() -> ClusterStatus {
        let replication = state.replication
        let peers = replication.peers.sorted { $0.key < $1.key }.map { peer, progress -> PeerStatus in
            let heartbeat = progress.heartbeat
            let latest = heartbeat?.latestSequence ?? 0
            let applied = replication.applied[peer]
            let lag: UInt64
            if applied >= latest || heartbeat == nil {
                lag = 0
            } else {
                let newest = heartbeat?.latestTimestamp.physicalMilliseconds ?? wallMilliseconds
                lag = wallMilliseconds > newest ? wallMilliseconds - newest : 0
            }
            return PeerStatus(
                region: peer, connected: progress.connected,
                heartbeatAgeMilliseconds: heartbeat == nil ? nil : wallMilliseconds - min(wallMilliseconds, progress.heartbeatReceivedAtMilliseconds),
                originLatestSequence: latest, originApplied: applied, lagMilliseconds: lag,
                applyDelayMilliseconds: DelaySummary(state.applyDelays[peer]?.values ?? []),
                acknowledgedOwn: progress.acknowledged[local])
        }
        return ClusterStatus(applied: replication.applied, peers: peers, counters: state.counters,
                             raftGroups: state.consensus.groups.mapValues(RaftTableStatus.init), raftCounters: state.consensus.counters)
    }
}
