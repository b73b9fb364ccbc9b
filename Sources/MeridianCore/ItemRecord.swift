/// A version vector: for each region, how many writes that region made to one item.
///
/// A region's own count for an item is also the counter of its latest write there, so
/// `(region, count)` names one write (a `Dot`).
public struct VersionVector: Hashable, Sendable, Codable {
    /// Writes per region; regions with no writes are absent (never stored as zero).
    public private(set) var counts: [RegionID: UInt64]

    public init(_ counts: [RegionID: UInt64] = [:]) {
        self.counts = counts.filter { $0.value > 0 }
    }
}

/// One write: the region that made it and that region's count for the item after it.
public struct Dot: Hashable, Sendable, Codable {
    public var region: RegionID
    public var counter: UInt64

    public init(region: RegionID, counter: UInt64) {
        self.region = region
        self.counter = counter
    }
}

/// How two version vectors relate.
public enum CausalOrder: Sendable, Equatable {
    case equal
    /// The left vector has seen everything the right one has, and more.
    case dominates
    /// The right vector has seen everything the left one has, and more.
    case dominatedBy
    /// Each has seen a write the other has not.
    case concurrent
}

/// One top-level field of a JSON object under the `merge` policy.
public struct FieldEntry: Hashable, Sendable, Codable {
    /// The field's value; `nil` when a write dropped the field (a field tombstone).
    public var value: JSONValue?
    /// The write that last set or dropped the field.
    public var version: ItemVersion

    public init(value: JSONValue?, version: ItemVersion) {
        self.value = value
        self.version = version
    }
}

/// One concurrent version kept under the `siblings` policy.
public struct Sibling: Hashable, Sendable, Codable {
    /// The value; `nil` for a delete.
    public var value: JSONValue?
    public var version: ItemVersion
    /// The write that made this version.
    public var dot: Dot

    public init(value: JSONValue?, version: ItemVersion, dot: Dot) {
        self.value = value
        self.version = version
        self.dot = dot
    }
}

/// The replicated state of one item of a multi-primary table.
///
/// Regions ship records, not operations: a region that receives a record merges it into
/// its own with `ConflictResolution.merge`, a join (commutative, associative,
/// idempotent), so every region reaches the same record whatever the order, duplication
/// or relay path of delivery.
///
/// Invariants:
/// - `vector` counts every write merged into the record.
/// - `version` is the greatest version among the writes merged in (the LWW winner).
/// - `lww`: `root` is the winner's value (`nil`: deleted); `fields` and `siblings` are empty.
/// - `merge`: `root` is the winner's whole-item register: the value for a scalar or array,
///   `.object([:])` as a marker when the item is an object (its content is in `fields`),
///   `nil` when deleted. `fields` holds every top-level field ever written, each with the
///   version that last set or dropped it. `siblings` is empty.
/// - `siblings`: `siblings` holds every version no other version has seen, sorted by
///   version, never empty; `root` is the value of the greatest sibling; `fields` is empty.
public struct ItemRecord: Hashable, Sendable, Codable {
    public var vector: VersionVector
    public var version: ItemVersion
    public var root: JSONValue?
    public var fields: [String: FieldEntry]
    public var siblings: [Sibling]

    public init(vector: VersionVector, version: ItemVersion, root: JSONValue?, fields: [String: FieldEntry] = [:], siblings: [Sibling] = []) {
        self.vector = vector
        self.version = version
        self.root = root
        self.fields = fields
        self.siblings = siblings
    }
}

/// A value that a concurrent write overwrote: what goes into the conflict ledger.
public struct OverwrittenValue: Hashable, Sendable, Codable {
    /// The value that lost (`nil`: a delete lost).
    public var value: JSONValue?
    /// The version of the write that lost.
    public var version: ItemVersion
    /// For the `merge` policy: the top-level field that lost; `nil` for the whole item.
    public var field: String?
    /// The version that won over it.
    public var winner: ItemVersion

    public init(value: JSONValue?, version: ItemVersion, field: String? = nil, winner: ItemVersion) {
        self.value = value
        self.version = version
        self.field = field
        self.winner = winner
    }
}

/// One row of a table's conflict ledger: a value a concurrent write overwrote.
public struct ConflictEntry: Hashable, Sendable, Codable {
    /// The ledger's own order in the region that recorded it (assigned by storage).
    public var id: Int64
    public var key: Key
    public var overwritten: OverwrittenValue
    /// The region that detected the conflict and recorded the row.
    public var detectedBy: RegionID

    public init(id: Int64 = 0, key: Key, overwritten: OverwrittenValue, detectedBy: RegionID) {
        self.id = id
        self.key = key
        self.overwritten = overwritten
        self.detectedBy = detectedBy
    }
}

/// A write that a `primary` table with `commit: "local"` acknowledged, and that a later
/// leader's log replaced: it is not in the table any more, and this row is its record.
public struct DivergenceEntry: Hashable, Sendable, Codable {
    /// The ledger's own order in the region that recorded it (assigned by storage).
    public var id: Int64
    public var key: Key
    /// The value the acknowledged write stored; `nil` for an acknowledged delete.
    public var value: JSONValue?
    /// The version the write was acknowledged with.
    public var version: ItemVersion
    /// Where the write stood in the table's Raft log, and the term of the leader that took it.
    public var index: UInt64
    public var term: UInt64
    /// The term of the leader whose log replaced it.
    public var replacedInTerm: UInt64
    /// The region that found the write missing from the new leader's log and recorded the row.
    public var detectedBy: RegionID

    public init(id: Int64 = 0, key: Key, value: JSONValue?, version: ItemVersion, index: UInt64, term: UInt64, replacedInTerm: UInt64, detectedBy: RegionID) {
        self.id = id
        self.key = key
        self.value = value
        self.version = version
        self.index = index
        self.term = term
        self.replacedInTerm = replacedInTerm
        self.detectedBy = detectedBy
    }
}
