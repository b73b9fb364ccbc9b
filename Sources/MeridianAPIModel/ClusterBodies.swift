/// `GET /v1/cluster`: every region as the serving region sees it, its counters, and the
/// latency matrix clients use to simulate where they sit.
public struct ClusterBody: Codable, Sendable, Equatable {
    /// The serving region.
    public var region: String
    public var regions: [ClusterRegionBody]
    /// The cluster file's one-way delays (source, destination, milliseconds), for clients
    /// that simulate where they sit.
    public var latencyMilliseconds: [String: [String: Double]]?
    public var counters: CountersBody

    enum CodingKeys: String, CodingKey {
        case region, regions, counters
        case latencyMilliseconds = "latency_ms"
    }

    public init(region: String, regions: [ClusterRegionBody], latencyMilliseconds: [String: [String: Double]]?, counters: CountersBody) {
        self.region = region
        self.regions = regions
        self.latencyMilliseconds = latencyMilliseconds
        self.counters = counters
    }
}

/// One region of the cluster as the serving region sees it.
public struct ClusterRegionBody: Codable, Sendable, Equatable {
    public var name: String
    /// `host:port` of its client API.
    public var api: String
    public var reachable: Bool
    /// Whether this is the serving region.
    public var isServing: Bool
    /// How far the serving region has applied this region's origin log.
    public var applied: UInt64
    /// This region's origin-log end, from its last heartbeat.
    public var originLatest: UInt64?
    /// Replication lag from this region to the serving one.
    public var lagMilliseconds: UInt64?
    public var heartbeatAgeMilliseconds: UInt64?
    /// Recent delays from acceptance here to application in the serving region.
    public var applyDelayMilliseconds: DelayBody?
    /// How far this region acknowledged the serving region's own log.
    public var acknowledgedOurs: UInt64?

    enum CodingKeys: String, CodingKey {
        case name, api, reachable, applied
        case isServing = "self"
        case originLatest = "origin_latest"
        case lagMilliseconds = "lag_ms"
        case heartbeatAgeMilliseconds = "heartbeat_age_ms"
        case applyDelayMilliseconds = "apply_delay_ms"
        case acknowledgedOurs = "acknowledged_ours"
    }

    public init(name: String, api: String, reachable: Bool, isServing: Bool, applied: UInt64, originLatest: UInt64? = nil,
                lagMilliseconds: UInt64? = nil, heartbeatAgeMilliseconds: UInt64? = nil, applyDelayMilliseconds: DelayBody? = nil,
                acknowledgedOurs: UInt64? = nil) {
        self.name = name
        self.api = api
        self.reachable = reachable
        self.isServing = isServing
        self.applied = applied
        self.originLatest = originLatest
        self.lagMilliseconds = lagMilliseconds
        self.heartbeatAgeMilliseconds = heartbeatAgeMilliseconds
        self.applyDelayMilliseconds = applyDelayMilliseconds
        self.acknowledgedOurs = acknowledgedOurs
    }
}

/// Recent delays in milliseconds: how many samples, their median, 99th percentile and maximum.
public struct DelayBody: Codable, Sendable, Equatable {
    public var samples: Int
    public var p50: UInt64
    public var p99: UInt64
    public var max: UInt64

    public init(samples: Int, p50: UInt64, p99: UInt64, max: UInt64) {
        self.samples = samples
        self.p50 = p50
        self.p99 = p99
        self.max = max
    }
}

/// The serving region's counters since it started.
public struct CountersBody: Codable, Sendable, Equatable {
    public var entriesApplied: Int
    public var conflictsRecorded: Int
    public var clockSkewRejections: Int
    public var residencyRefusals: Int
    public var snapshotsInstalled: Int

    enum CodingKeys: String, CodingKey {
        case entriesApplied = "entries_applied"
        case conflictsRecorded = "conflicts_recorded"
        case clockSkewRejections = "clock_skew_rejections"
        case residencyRefusals = "residency_refusals"
        case snapshotsInstalled = "snapshots_installed"
    }

    public init(entriesApplied: Int, conflictsRecorded: Int, clockSkewRejections: Int, residencyRefusals: Int, snapshotsInstalled: Int) {
        self.entriesApplied = entriesApplied
        self.conflictsRecorded = conflictsRecorded
        self.clockSkewRejections = clockSkewRejections
        self.residencyRefusals = residencyRefusals
        self.snapshotsInstalled = snapshotsInstalled
    }
}

/// What one region holds of a table, as that region checked in its own storage (an
/// entry of `GET /v1/tables/{table}/placement`, and the whole answer with `?scope=local`).
public struct PlacementBody: Codable, Sendable, Equatable {
    public var region: String
    /// Whether the table's definition lists the region.
    public var listed: Bool?
    /// Whether any byte of the table is stored there.
    public var holdsData: Bool?
    public var items: Int?
    public var bytes: Int?
    public var logEntries: Int?
    public var conflicts: Int?
    /// Whether the region answered for itself.
    public var verified: Bool
    /// The region's statement, in a sentence.
    public var statement: String

    enum CodingKeys: String, CodingKey {
        case region, listed, items, bytes, conflicts, verified, statement
        case holdsData = "holds_data"
        case logEntries = "log_entries"
    }

    public init(region: String, listed: Bool?, holdsData: Bool?, items: Int?, bytes: Int?, logEntries: Int?, conflicts: Int?,
                verified: Bool, statement: String) {
        self.region = region
        self.listed = listed
        self.holdsData = holdsData
        self.items = items
        self.bytes = bytes
        self.logEntries = logEntries
        self.conflicts = conflicts
        self.verified = verified
        self.statement = statement
    }
}

/// `GET /v1/tables/{table}/placement`: every region's own check.
public struct PlacementPageBody: Codable, Sendable, Equatable {
    public var table: String
    public var regions: [PlacementBody]

    public init(table: String, regions: [PlacementBody]) {
        self.table = table
        self.regions = regions
    }
}
