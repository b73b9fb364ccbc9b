import MeridianCore

/// One row of a conflict ledger: a value that a concurrent write overwrote.
public struct ConflictBody: Codable, Sendable, Equatable {
    /// The ledger row's id (pages continue after it).
    public var id: Int64
    /// The item's key.
    public var key: String
    /// The value that lost; absent when a delete lost.
    public var value: JSONValue?
    /// The version that lost.
    public var version: String
    /// The region that accepted the losing write.
    public var origin: String
    /// Under `merge`: the field the losing write set.
    public var field: String?
    /// The version that won.
    public var winner: String
    /// The region that recorded the conflict.
    public var detectedBy: String

    enum CodingKeys: String, CodingKey {
        case id, key, value, version, origin, field, winner
        case detectedBy = "detected_by"
    }

    /// A ledger entry as the API shows it.
    public init(_ entry: ConflictEntry) {
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

/// `GET /v1/tables/{table}/conflicts`.
public struct ConflictPageBody: Codable, Sendable, Equatable {
    public var conflicts: [ConflictBody]
    /// Pass as `start_after` for the next page; absent on the last page.
    public var next: String?

    public init(conflicts: [ConflictBody], next: String?) {
        self.conflicts = conflicts
        self.next = next
    }
}

/// One row of a table's divergence ledger: an acknowledged write that a new leader's
/// log replaced (`value` absent for an acknowledged delete), where it stood in the old
/// leader's log, and the region that found it.
public struct DivergenceRowBody: Codable, Sendable, Equatable {
    public var id: Int64
    public var key: String
    public var value: JSONValue?
    public var version: String
    public var index: UInt64
    public var term: UInt64
    public var replacedInTerm: UInt64
    public var detectedBy: String

    enum CodingKeys: String, CodingKey {
        case id, key, value, version, index, term
        case replacedInTerm = "replaced_in_term"
        case detectedBy = "detected_by"
    }

    public init(_ entry: DivergenceEntry) {
        id = entry.id
        key = entry.key.string
        value = entry.value
        version = entry.version.token
        index = entry.index
        term = entry.term
        replacedInTerm = entry.replacedInTerm
        detectedBy = entry.detectedBy.name
    }
}

/// A region's own divergence rows (`?scope=local`), as it answers another region
/// gathering them.
public struct DivergenceLocalBody: Codable, Sendable, Equatable {
    public var rows: [DivergenceRowBody]

    public init(rows: [DivergenceRowBody]) {
        self.rows = rows
    }
}

/// `GET /v1/tables/{table}/divergence`: the ledger gathered from each of the table's regions.
public struct DivergencePageBody: Codable, Sendable, Equatable {
    public var table: String
    public var rows: [DivergenceRowBody]
    /// Regions that did not answer: their rows are missing from this page.
    public var unreachable: [String]

    public init(table: String, rows: [DivergenceRowBody], unreachable: [String]) {
        self.table = table
        self.rows = rows
        self.unreachable = unreachable
    }
}
