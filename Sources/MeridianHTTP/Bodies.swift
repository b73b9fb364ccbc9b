import Foundation
import MeridianCore
import MeridianStorage

/// JSON encoding of response bodies.
enum JSONBodies {
    static func encode(_ body: some Encodable) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(body)
        data.append(UInt8(ascii: "\n"))
        return data
    }
}

/// A table definition as the API shows it.
struct TableBody: Encodable {
    var name: String
    var mode: String
    var conflict: String?
    var primary: String?
    var commit: String?
    var regions: [String]
    var status: TableStatusBody?

    init(_ definition: TableDefinition) {
        name = definition.name.name
        mode = definition.mode.rawValue
        conflict = definition.conflict?.rawValue
        primary = definition.primary?.name
        commit = definition.commit?.rawValue
        regions = definition.regions.map(\.name)
    }
}

/// What the serving region holds of a table.
struct TableStatusBody: Encodable {
    var region: String
    var items: Int
    var bytes: Int
    /// `primary` and `strong` tables: the Raft group as the answering region sees it.
    var leader: String?
    var role: String?
    var term: UInt64?
    var commitIndex: UInt64?
    var appliedIndex: UInt64?

    enum CodingKeys: String, CodingKey {
        case region, items, bytes, leader, role, term
        case commitIndex = "commit_index"
        case appliedIndex = "applied_index"
    }
}

/// The divergence ledger of a table, gathered from each of its regions.
struct DivergencePageBody: Encodable {
    var table: String
    var rows: [DivergenceRowBody]
    /// Regions that did not answer: their rows are missing from this page.
    var unreachable: [String]
}

/// A region's own divergence rows, as it answers another region gathering them.
struct DivergenceLocalBody: Codable {
    var rows: [DivergenceRowBody]
}

/// One row of a table's divergence ledger: an acknowledged write that a new leader's
/// log replaced (`value` absent for an acknowledged delete), where it stood in the old
/// leader's log, and the region that found it.
struct DivergenceRowBody: Codable {
    var id: Int64
    var key: String
    var value: JSONValue?
    var version: String
    var index: UInt64
    var term: UInt64
    var replaced_in_term: UInt64
    var detected_by: String
}

struct TableListBody: Encodable {
    var tables: [TableBody]
}

/// The answer to a put or a delete.
struct WriteBody: Encodable {
    var key: String
    var version: String
    var region: String
    var deleted: Bool?
    /// The item's version context after the write.
    var context: String?

    init(key: String, version: String, region: String, deleted: Bool? = nil, context: String? = nil) {
        self.key = key
        self.version = version
        self.region = region
        self.deleted = deleted
        self.context = context
    }
}

/// One item as the API shows it.
struct ItemBody: Encodable {
    var key: String
    var value: JSONValue
    var version: String
    var origin: String
    /// The write's hybrid-logical-clock timestamp as `milliseconds.logical`.
    var timestamp: String
    var consistency: String?
    var region: String?
    /// Siblings tables: every concurrent version kept.
    var siblings: [SiblingBody]?
    /// The version context to send back as `Meridian-Context` to resolve siblings.
    var context: String?

    init(_ item: StoredItem) {
        guard let value = item.value else { preconditionFailure("a tombstone is never shown as an item") }
        key = item.key.string
        self.value = value
        version = item.version.token
        origin = item.version.origin.name
        timestamp = item.version.timestamp.description
        if let record = item.record {
            context = record.vector.token
            if !record.siblings.isEmpty {
                siblings = record.siblings.map { SiblingBody(value: $0.value, deleted: $0.value == nil, version: $0.version.token, origin: $0.version.origin.name) }
            }
        }
    }
}

struct SiblingBody: Encodable {
    var value: JSONValue?
    var deleted: Bool
    var version: String
    var origin: String
}

/// One row of a conflict ledger.
struct ConflictBody: Encodable {
    var id: Int64
    var key: String
    /// The value that lost (absent when a delete lost).
    var value: JSONValue?
    var version: String
    var origin: String
    var field: String?
    var winner: String
    var detectedBy: String

    enum CodingKeys: String, CodingKey {
        case id, key, value, version, origin, field, winner
        case detectedBy = "detected_by"
    }

    init(_ entry: ConflictEntry) {
        id = entry.id
        key = entry.key.string
        value = entry.overwritten.value
        version = entry.overwritten.version.token
        origin = entry.overwritten.version.origin.name
        field = entry.overwritten.field
        winner = entry.overwritten.winner.token
        detectedBy = entry.detectedBy.name
    }
}

struct ConflictPageBody: Encodable {
    var conflicts: [ConflictBody]
    var next: String?
}

struct PageBody: Encodable {
    var items: [ItemBody]
    /// Pass as `start_after` to read the next page; absent on the last page.
    var next: String?
}

struct DelayBody: Encodable {
    var samples: Int
    var p50: UInt64
    var p99: UInt64
    var max: UInt64
}

struct ClusterRegionBody: Encodable {
    var name: String
    var api: String
    var reachable: Bool
    var self_: Bool
    /// How far the serving region has applied this region's origin log.
    var applied: UInt64
    /// This region's origin-log end, from its last heartbeat.
    var originLatest: UInt64?
    /// Replication lag from this region to the serving one.
    var lagMilliseconds: UInt64?
    var heartbeatAgeMilliseconds: UInt64?
    /// Recent delays from acceptance here to application in the serving region.
    var applyDelayMilliseconds: DelayBody?
    /// How far this region acknowledged the serving region's own log.
    var acknowledgedOurs: UInt64?

    enum CodingKeys: String, CodingKey {
        case name, api, reachable, applied
        case self_ = "self"
        case originLatest = "origin_latest"
        case lagMilliseconds = "lag_ms"
        case heartbeatAgeMilliseconds = "heartbeat_age_ms"
        case applyDelayMilliseconds = "apply_delay_ms"
        case acknowledgedOurs = "acknowledged_ours"
    }
}

struct CountersBody: Encodable {
    var entriesApplied: Int
    var conflictsRecorded: Int
    var clockSkewRejections: Int
    var residencyRefusals: Int
    var snapshotsInstalled: Int

    enum CodingKeys: String, CodingKey {
        case entriesApplied = "entries_applied"
        case conflictsRecorded = "conflicts_recorded"
        case clockSkewRejections = "clock_skew_rejections"
        case residencyRefusals = "residency_refusals"
        case snapshotsInstalled = "snapshots_installed"
    }
}

struct ClusterBody: Encodable {
    var region: String
    var regions: [ClusterRegionBody]
    /// The cluster file's one-way delays (source, destination, milliseconds), for clients
    /// that simulate where they sit.
    var latencyMilliseconds: [String: [String: Double]]?
    var counters: CountersBody

    enum CodingKeys: String, CodingKey {
        case region, regions, counters
        case latencyMilliseconds = "latency_ms"
    }
}

/// What one region holds of a table, as that region checked in its own storage.
struct PlacementBody: Codable {
    var region: String
    /// Whether the table's definition lists the region.
    var listed: Bool?
    /// Whether any byte of the table is stored there.
    var holdsData: Bool?
    var items: Int?
    var bytes: Int?
    var logEntries: Int?
    var conflicts: Int?
    /// Whether the region answered for itself.
    var verified: Bool
    var statement: String

    enum CodingKeys: String, CodingKey {
        case region, listed, items, bytes, conflicts, verified, statement
        case holdsData = "holds_data"
        case logEntries = "log_entries"
    }

    init(region: String, residue: TableResidue, listed: Bool) {
        self.region = region
        self.listed = listed
        holdsData = !residue.isEmpty
        items = residue.items
        bytes = residue.bytes
        logEntries = residue.logEntries
        conflicts = residue.conflicts
        verified = true
        if residue.isEmpty {
            statement = "\(region) holds no item, origin-log entry or ledger row of this table (checked in its own storage)"
        } else if residue.items == 0 && residue.logEntries == 0 && residue.conflicts == 0 {
            statement = "\(region) has deleted every row of this table; their bytes remain in its write-ahead log until the checkpoint that erases them succeeds (retried every step)"
        } else {
            statement = "\(region) holds \(residue.items) items (\(residue.bytes) bytes), \(residue.logEntries) log entries and \(residue.conflicts) ledger rows of this table"
        }
    }

    init(unreachable region: String) {
        self.region = region
        verified = false
        statement = "\(region) did not answer: its storage could not be checked"
    }
}

struct PlacementPageBody: Encodable {
    var table: String
    var regions: [PlacementBody]
}
