import CoreMetrics
import Foundation
import MeridianCore
import MeridianNode
import MeridianRegion
import NIOConcurrencyHelpers
import Prometheus

/// One node's metrics, in Prometheus text format at `GET /metrics`.
///
/// Requests are recorded as they happen (swift-metrics, backed by a registry of this
/// node's own, so several nodes in one test process never mix). Everything the region
/// knows (lag, counters, ledgers) is read when scraped, from the same status the region
/// serves at `GET /v1/cluster`: the region itself stays free of metrics code.
///
/// Names follow Prometheus conventions: `meridian_` prefix, base units (seconds, bytes),
/// `_total` for counters. Every name is always used with the same label names.
public final class NodeMetrics: Sendable {
    /// The registry every metric of this node lives in.
    public let registry = PrometheusCollectorRegistry()
    let factory: PrometheusMetricsFactory
    /// The last cumulative value seen of each counter read from the region, by name and
    /// labels: a scrape adds only what grew since.
    private let seenTotals = NIOLockedValueBox<[String: Int64]>([:])

    /// Request latency buckets, in seconds.
    static let latencyBucketsSeconds: [Duration] = [
        .milliseconds(1), .microseconds(2500), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
    ]

    public init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = Self.latencyBucketsSeconds
        self.factory = factory
    }

    // MARK: Requests

    /// Records one answered client request.
    ///
    /// - Parameters:
    ///   - route: the route template (`/v1/tables/{table}/items/{key}`), never the raw path.
    ///   - consistency: the read's consistency level, `none` for other requests.
    ///   - forwardedTo: the region that served a request this node forwarded, if any.
    func recordRequest(method: String, route: String, status: Int, consistency: String, duration: Duration, forwardedTo: String?) {
        let labels = [("method", method), ("route", route), ("status", String(status)), ("consistency", consistency)]
        CoreMetrics.Counter(label: "meridian_http_requests_total", dimensions: labels, factory: factory).increment()
        CoreMetrics.Timer(label: "meridian_http_request_duration_seconds", dimensions: labels, factory: factory).record(duration: duration)
        if let forwardedTo {
            CoreMetrics.Counter(label: "meridian_forwarded_requests_total", dimensions: [("to", forwardedTo)], factory: factory).increment()
        }
    }

    // MARK: What the region knows, read at scrape time

    /// Sets everything read from the region's cluster status and tables.
    func update(region: RegionID, status: ClusterStatus, tables: [TableReading], sendQueueBytes: [RegionID: Int]) {
        for peer in status.peers {
            let pair = [("origin", peer.region.name), ("receiver", region.name)]
            // How far behind the origin this region is: the age of announced writes not yet
            // applied when there are some, else how old recent writes were when applied.
            let lagMilliseconds = max(peer.lagMilliseconds, peer.applyDelayMilliseconds?.p50 ?? 0)
            gauge("meridian_replication_lag_seconds", pair, Double(lagMilliseconds) / 1000)
            gauge("meridian_replication_unapplied_age_seconds", pair, Double(peer.lagMilliseconds) / 1000)
            gauge("meridian_replication_origin_applied", pair, Double(peer.originApplied))
            gauge("meridian_replication_origin_latest", pair, Double(peer.originLatestSequence))
            if let delay = peer.applyDelayMilliseconds {
                for (quantile, milliseconds) in [("0.5", delay.p50), ("0.99", delay.p99), ("1", delay.max)] {
                    gauge("meridian_replication_apply_delay_seconds", pair + [("quantile", quantile)], Double(milliseconds) / 1000)
                }
            }
            gauge("meridian_peer_up", [("peer", peer.region.name)], peer.connected ? 1 : 0)
            gauge("meridian_peer_send_queue_bytes", [("peer", peer.region.name)], Double(sendQueueBytes[peer.region] ?? 0))
        }
        let counters = status.counters
        let scope = [("region", region.name)]
        total("meridian_conflicts_recorded_total", scope, counters.conflictsRecorded)
        total("meridian_clock_skew_rejections_total", scope, counters.clockSkewRejections)
        total("meridian_residency_refusals_total", scope, counters.residencyRefusals)
        total("meridian_entries_applied_total", scope, counters.entriesApplied)
        total("meridian_snapshots_installed_total", scope, counters.snapshotsInstalled)
        total("meridian_invalid_records_total", scope, counters.invalidRecords)
        for table in tables {
            let labels = [("table", table.name), ("policy", table.policy)]
            gauge("meridian_conflict_ledger_entries", labels, Double(table.conflictLedgerEntries))
            // The ledger only grows while the table exists: its growth is the table's conflicts.
            total("meridian_conflicts_total", labels, table.conflictLedgerEntries)
            gauge("meridian_table_items", [("table", table.name)], Double(table.items))
            gauge("meridian_table_bytes", [("table", table.name)], Double(table.bytes))
            gauge("meridian_origin_log_entries", [("table", table.name)], Double(table.logEntries))
        }
    }

    /// Sets `meridian_corruption_detected_total`: damaged stored rows or pages this region
    /// found (on a read, or by the integrity check it runs at start).
    func updateStorage(region: RegionID, corruptionDetected: Int) {
        total("meridian_corruption_detected_total", [("region", region.name)], corruptionDetected)
    }

    /// What a scrape reads of one table in this region.
    struct TableReading {
        var name: String
        /// The conflict policy (`lww`, `merge`, `siblings`), or the mode for tables without one.
        var policy: String
        var items: Int
        var bytes: Int
        var logEntries: Int
        var conflictLedgerEntries: Int
    }

    // MARK: Raft (filled in by the Raft work)

    /// What one Raft group reports for metrics; cumulative counts since the node started.
    public struct RaftGroupReading: Sendable {
        /// The group: a table name, or `catalog`.
        public var group: String
        public var term: UInt64
        public var isLeader: Bool
        /// Elections this node started for the group.
        public var electionsStarted: Int
        /// Times the group's leader changed, as this node saw it.
        public var leaderChanges: Int

        public init(group: String, term: UInt64, isLeader: Bool, electionsStarted: Int, leaderChanges: Int) {
            self.group = group
            self.term = term
            self.isLeader = isLeader
            self.electionsStarted = electionsStarted
            self.leaderChanges = leaderChanges
        }
    }

    /// The hook for Raft metrics: call it with every group's reading at scrape time (or
    /// whenever they change). Sets `meridian_raft_term`, `meridian_raft_is_leader`,
    /// `meridian_raft_elections_total` and `meridian_raft_leader_changes_total`, each
    /// labelled by `group`.
    public func updateRaft(_ groups: [RaftGroupReading]) {
        for group in groups {
            let labels = [("group", group.group)]
            gauge("meridian_raft_term", labels, Double(group.term))
            gauge("meridian_raft_is_leader", labels, group.isLeader ? 1 : 0)
            total("meridian_raft_elections_total", labels, group.electionsStarted)
            total("meridian_raft_leader_changes_total", labels, group.leaderChanges)
        }
    }

    // MARK: Rendering

    /// The Prometheus text exposition of every metric.
    public func render() -> [UInt8] { registry.emitToBuffer() }

    private func gauge(_ name: String, _ labels: [(String, String)], _ value: Double) {
        CoreMetrics.Gauge(label: name, dimensions: labels, factory: factory).record(value)
    }

    /// Brings a counter up to the cumulative `value` read from the region.
    private func total(_ name: String, _ labels: [(String, String)], _ value: Int) {
        let key = name + "{" + labels.map { "\($0.0)=\($0.1)" }.joined(separator: ",") + "}"
        let increase: Int64 = seenTotals.withLockedValue { seen in
            let previous = seen[key] ?? 0
            seen[key] = Int64(value)
            // A smaller value means the source restarted counting (a table deleted and made again).
            return Int64(value) >= previous ? Int64(value) - previous : Int64(value)
        }
        let counter = CoreMetrics.Counter(label: name, dimensions: labels, factory: factory)
        if increase > 0 { counter.increment(by: increase) } else { counter.increment(by: 0) }
    }
}
