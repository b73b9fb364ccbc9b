import MeridianCore
import MeridianStorage

/// A write a region acknowledged to a client: what the checkers hold the cluster to.
public struct AcknowledgedWrite: Sendable, Equatable {
    /// The region that accepted the write.
    public var region: RegionID
    public var table: TableName
    public var policy: ConflictPolicy
    public var key: Key
    /// The value written; `nil` for a delete.
    public var value: JSONValue?
    /// The version the region returned.
    public var version: ItemVersion
    /// The item's version vector right after the write (what `RegionReply.written` returns
    /// as `context`; read from storage for a delete).
    public var vector: VersionVector
    /// The version of the record this write replaced in its region (`nil`: the key was
    /// never written there). Replacing it was a causal overwrite, not a conflict.
    public var replaced: ItemVersion?
    /// Whether a power loss took the write back before it was synced: under
    /// `SyncPolicy.normal` that loss is allowed, so the checkers do not hold it to survive.
    public var lostToPowerLoss: Bool

    public init(region: RegionID, table: TableName, policy: ConflictPolicy, key: Key, value: JSONValue?, version: ItemVersion,
                vector: VersionVector, replaced: ItemVersion?, lostToPowerLoss: Bool = false) {
        self.region = region
        self.table = table
        self.policy = policy
        self.key = key
        self.value = value
        self.version = version
        self.vector = vector
        self.replaced = replaced
        self.lostToPowerLoss = lostToPowerLoss
    }
}

/// Everything one region's storage holds that the checkers compare, read in one snapshot.
public struct RegionImage: Sendable, Equatable {
    public var region: RegionID
    /// Every catalog record, by name.
    public var catalog: [CatalogRecord]
    /// Per table, every item including tombstones, in key order.
    public var items: [TableName: [StoredItem]]
    /// Per table, the conflict ledger in id order.
    public var conflicts: [TableName: [ConflictEntry]]
    /// Per origin, the log entries the region keeps.
    public var logs: [RegionID: [LogEntry]]
    public var applied: Positions

    public init(region: RegionID, catalog: [CatalogRecord], items: [TableName: [StoredItem]], conflicts: [TableName: [ConflictEntry]] = [:],
                logs: [RegionID: [LogEntry]] = [:], applied: Positions = Positions()) {
        self.region = region
        self.catalog = catalog
        self.items = items
        self.conflicts = conflicts
        self.logs = logs
        self.applied = applied
    }

    /// The most items, ledger rows or log entries read per table or origin: far more than a
    /// bounded run writes.
    static let rowsMax = 1_000_000

    /// Reads a region's image: every table in `tables`, every origin in `origins`.
    public static func read(region: RegionID, from storage: any RegionStorage, tables: [TableName], origins: [RegionID]) throws -> RegionImage {
        try storage.read { reader in
            var items: [TableName: [StoredItem]] = [:]
            var conflicts: [TableName: [ConflictEntry]] = [:]
            for table in tables {
                items[table] = try reader.scan(table: table, range: ScanRange(limit: rowsMax, includeTombstones: true))
                conflicts[table] = try reader.conflicts(table: table, afterID: 0, limit: rowsMax)
            }
            var logs: [RegionID: [LogEntry]] = [:]
            for origin in origins { logs[origin] = try reader.logEntries(origin: origin, after: 0, limit: rowsMax) }
            return RegionImage(region: region, catalog: try reader.catalog(), items: items, conflicts: conflicts, logs: logs,
                               applied: try reader.appliedPositions())
        }
    }
}
