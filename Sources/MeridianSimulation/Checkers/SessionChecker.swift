import MeridianCore
import MeridianStorage

/// Sessions' guarantees across regions: a session reads its own writes (read-your-writes)
/// and never reads an item older than one it read before (monotonic reads), whichever
/// region serves it.
///
/// Multi-primary tables: a read's version vector must have seen everything the session
/// wrote or read of that item (dominate or equal the pointwise maximum of those vectors).
/// `primary` and `strong` tables: the read's version must stand at or after, in the table's
/// committed Raft log, every version the session wrote or read of that item (versions are
/// placed in the log from the committed entries the simulator observes).
/// A read that finds no item (a tombstone) is not checked: it carries no version.
public struct SessionChecker {
    /// One session's view of one item.
    public struct Address: Hashable, Sendable {
        public var session: Int
        public var table: TableName
        public var key: Key

        public init(session: Int, table: TableName, key: Key) {
            self.session = session
            self.table = table
            self.key = key
        }
    }

    /// What raised a floor: the session's own write, or an earlier read.
    public enum Source: Sendable {
        case write, read

        var property: Property { self == .write ? .readYourWrites : .monotonicReads }
    }

    /// Multi-primary items: the pointwise maximum of the vectors the session saw, and what
    /// last raised it.
    private var vectorFloors: [Address: (vector: VersionVector, source: Source, version: ItemVersion)] = [:]
    /// Consensus items: versions the session saw, each with what it came from.
    private var versionFloors: [Address: [(version: ItemVersion, source: Source)]] = [:]
    /// Where each committed version of a consensus table stands in its log.
    private var logIndexes: [TableName: [ItemVersion: UInt64]] = [:]
    /// The most unplaced versions kept per item (placed ones are folded into their maximum).
    static let versionsPerItemMax = 16

    public init() {}

    /// A session's write to a multi-primary item was acknowledged with this vector.
    public mutating func wrote(_ address: Address, vector: VersionVector, version: ItemVersion) {
        raise(address, vector: vector, source: .write, version: version)
    }

    /// A session's write to a consensus item was acknowledged with this version.
    public mutating func wrote(_ address: Address, version: ItemVersion) {
        versionFloors[address, default: []].append((version, .write))
        fold(address)
    }

    /// A committed entry of a consensus table wrote this version at this index.
    public mutating func committed(table: TableName, version: ItemVersion, index: UInt64) {
        logIndexes[table, default: [:]][version] = index
    }

    /// A session read of a multi-primary item returned this record; checks it and raises the floor.
    public mutating func read(_ address: Address, record: ItemRecord, servedBy region: RegionID) -> Violation? {
        if let floor = vectorFloors[address] {
            switch record.vector.compare(floor.vector) {
            case .equal, .dominates:
                break
            case .dominatedBy, .concurrent:
                return Violation(floor.source.property,
                    "session \(address.session) read \(address.table)/\(address.key) in \(region) at \(record.version.token) (vector \(record.vector.token)), which has not seen \(floor.version.token) (vector \(floor.vector.token)) that the session \(floor.source == .write ? "wrote" : "read") before")
            }
        }
        raise(address, vector: record.vector, source: .read, version: record.version)
        return nil
    }

    /// A session read of a consensus item returned this version; checks it and raises the floor.
    public mutating func read(_ address: Address, version: ItemVersion, servedBy region: RegionID) -> Violation? {
        if let readIndex = logIndexes[address.table]?[version] {
            for seen in versionFloors[address] ?? [] {
                guard let seenIndex = logIndexes[address.table]?[seen.version], seenIndex > readIndex else { continue }
                return Violation(seen.source.property,
                    "session \(address.session) read \(address.table)/\(address.key) in \(region) at \(version.token) (log index \(readIndex)), older than \(seen.version.token) (index \(seenIndex)) that the session \(seen.source == .write ? "wrote" : "read") before")
            }
        }
        versionFloors[address, default: []].append((version, .read))
        fold(address)
        return nil
    }

    private mutating func raise(_ address: Address, vector: VersionVector, source: Source, version: ItemVersion) {
        guard let floor = vectorFloors[address] else {
            vectorFloors[address] = (vector, source, version)
            return
        }
        let merged = floor.vector.merged(with: vector)
        // The floor names the write or read that brought it forward last.
        vectorFloors[address] = merged == floor.vector ? floor : (merged, source, version)
    }

    /// Keeps one placed version (the latest in the log) and the unplaced ones, at most
    /// `versionsPerItemMax` (the oldest unplaced go first).
    private mutating func fold(_ address: Address) {
        guard let seen = versionFloors[address], seen.count > 1 else { return }
        let indexes = logIndexes[address.table] ?? [:]
        let placed = seen.filter { indexes[$0.version] != nil }
        var kept = seen.filter { indexes[$0.version] == nil }.suffix(Self.versionsPerItemMax - 1).map { $0 }
        if let latest = placed.max(by: { indexes[$0.version]! < indexes[$1.version]! }) { kept.insert(latest, at: 0) }
        versionFloors[address] = kept
    }
}

/// Bounded-staleness reads of multi-primary tables: a read served with a bound of B ms
/// reflects every write acknowledged more than B ms (plus the clocks' allowed offsets)
/// before it was served.
///
/// The region proves staleness from its peers' heartbeats, timed by their wall clocks and
/// its own, so the bound holds up to the clocks' disagreement: the check allows
/// `slackMilliseconds` (twice the clocks' offset bound and a step) and is skipped while a
/// clock is outside its bound (an excursion fault) or soon after.
public struct BoundedStalenessChecker {
    struct Address: Hashable {
        var table: TableName
        var key: Key
        var origin: RegionID
    }

    /// Per item and origin region, acknowledged writes: when, and their vectors, oldest first.
    private var writes: [Address: [(acknowledgedAt: UInt64, vector: VersionVector, version: ItemVersion)]] = [:]
    public let slackMilliseconds: UInt64
    /// The most writes kept per item and origin (a region's later write to an item has seen
    /// its earlier ones, so only the latest old enough matters).
    static let writesPerAddressMax = 32

    public init(clockOffsetMillisecondsMax: Int64) {
        slackMilliseconds = UInt64(2 * max(0, clockOffsetMillisecondsMax)) + 10
    }

    public mutating func acknowledged(table: TableName, key: Key, origin: RegionID, vector: VersionVector, version: ItemVersion, at time: UInt64) {
        let address = Address(table: table, key: key, origin: origin)
        writes[address, default: []].append((time, vector, version))
        if writes[address]!.count > Self.writesPerAddressMax { writes[address]!.removeFirst() }
    }

    /// Checks a bounded read of `key` served at virtual time `servedAt` with bound `bound`.
    public func check(table: TableName, key: Key, record: ItemRecord, bound: UInt64, servedAt: UInt64, servedBy region: RegionID,
               origins: [RegionID]) -> Violation? {
        guard servedAt > bound + slackMilliseconds else { return nil }
        let threshold = servedAt - bound - slackMilliseconds
        for origin in origins {
            guard let latest = writes[Address(table: table, key: key, origin: origin)]?.last(where: { $0.acknowledgedAt <= threshold }) else { continue }
            switch record.vector.compare(latest.vector) {
            case .equal, .dominates:
                continue
            case .dominatedBy, .concurrent:
                return Violation(.boundedStaleness,
                    "a read of \(table)/\(key) in \(region) with max_staleness_ms=\(bound) returned \(record.version.token) (vector \(record.vector.token)), missing \(latest.version.token) (vector \(latest.vector.token)) acknowledged by \(origin) \(servedAt - latest.acknowledgedAt) ms before")
            }
        }
        return nil
    }
}
