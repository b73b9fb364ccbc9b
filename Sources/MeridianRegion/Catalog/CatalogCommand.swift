import MeridianCodec
import MeridianCore
import MeridianStorage

/// The catalog group: one Raft group over every region of the cluster that orders every
/// change of the catalog (table created, deleted, changed). Its state machine is the
/// catalog each region keeps: a committed command merges its record into it, so every
/// region applies the same changes in the same order, and concurrent creates of one table
/// with different definitions are decided by the log, not by clocks.
enum CatalogGroup {
    /// The group's name in storage and in Raft envelopes. User tables may not take names
    /// in the `meridian_` namespace (`TableDefinition.isReserved`).
    static let name: TableName = {
        guard let name = try? TableName("meridian_catalog") else { preconditionFailure("the catalog group's name is a valid table name") }
        return name
    }()

    /// The incarnation of the catalog group's messages (it is never deleted or re-created).
    static let incarnation = HLCTimestamp.zero

    /// The synthetic definition the group runs under: a `strong` group over `regions`.
    static func definition(regions: [RegionID]) -> TableDefinition {
        TableDefinition(name: name, mode: .strong, regions: regions.sorted())
    }

    static var record: CatalogRecord {
        CatalogRecord(name: name, definition: nil, version: ItemVersion(timestamp: .zero, origin: placeholderOrigin), deletedBefore: incarnation)
    }

    private static let placeholderOrigin: RegionID = {
        guard let region = try? RegionID("meridian") else { preconditionFailure("a valid region name") }
        return region
    }()
}

extension TableName {
    /// Whether the name belongs to Meridian's own namespace (`meridian_...`), which tables
    /// may not take.
    public var isReserved: Bool { name.hasPrefix("meridian_") }
}

/// One change of the catalog, as the catalog group's log carries it: the record to merge,
/// the condition it needs, and who proposed it (so that the request waiting for it in the
/// proposing region is answered when the region applies it).
struct CatalogCommand: Sendable, Equatable {
    enum Precondition: Sendable, Equatable {
        /// Creating: the table has no live definition, or exactly this one (then nothing changes).
        case absentOrIdentical
        /// Changing or deleting: the table is live at this version.
        case liveAt(ItemVersion)
    }

    /// The table's record after the change; its version is the proposer's clock, past the
    /// version it replaces (a record never replaces a newer one).
    var record: CatalogRecord
    var precondition: Precondition
    var proposer: RegionID

    /// The proposal's identity at its proposer: the record's timestamp (unique per region,
    /// since the clock only moves forward, across restarts too).
    var proposal: UInt64 { record.version.timestamp.rawValue }

    /// The entry data: a `StoredRecord` of format 1: record, precondition tag `u8` (0 absent
    /// or identical; 1 live at the version that follows), proposer.
    var bytes: [UInt8] {
        StoredRecord.encode(format: 1) { writer in
            writer.write(record)
            switch precondition {
            case .absentOrIdentical: writer.writeUInt8(0)
            case .liveAt(let version):
                writer.writeUInt8(1)
                writer.write(version)
            }
            writer.write(proposer)
        }
    }

    init(record: CatalogRecord, precondition: Precondition, proposer: RegionID) {
        self.record = record
        self.precondition = precondition
        self.proposer = proposer
    }

    /// Decodes a command; `nil` for bytes that are not one (never trapped on).
    init?(bytes: [UInt8]) {
        guard var (format, reader) = try? StoredRecord.verified(bytes), format == 1,
              let record = try? reader.read(CatalogRecord.self), let tag = try? reader.readUInt8() else { return nil }
        let precondition: Precondition
        switch tag {
        case 0: precondition = .absentOrIdentical
        case 1:
            guard let version = try? reader.read(ItemVersion.self) else { return nil }
            precondition = .liveAt(version)
        default: return nil
        }
        guard let proposer = try? reader.read(RegionID.self), (try? reader.expectEnd()) != nil else { return nil }
        self.init(record: record, precondition: precondition, proposer: proposer)
    }
}

/// The catalog as a catalog-group snapshot carries it: every record.
enum CatalogSnapshot {
    static func encode(_ records: [CatalogRecord]) -> [UInt8] {
        StoredRecord.encode(format: 1, capacity: 256) { writer in writer.writeArray(records) }
    }

    static func decode(_ bytes: [UInt8]) -> [CatalogRecord]? {
        guard var (format, reader) = try? StoredRecord.verified(bytes), format == 1,
              let records = try? reader.readArray(of: CatalogRecord.self, elementBytesMin: 12), (try? reader.expectEnd()) != nil else { return nil }
        return records
    }
}
