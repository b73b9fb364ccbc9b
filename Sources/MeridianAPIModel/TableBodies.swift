import MeridianCore

/// A table definition as the API shows it (`PUT`, `GET /v1/tables/{table}`, and each
/// entry of `GET /v1/tables`).
public struct TableBody: Codable, Sendable, Equatable {
    public var name: String
    public var mode: String
    public var conflict: String?
    public var primary: String?
    public var commit: String?
    public var regions: [String]
    /// What the answering region holds (`GET /v1/tables/{table}` only).
    public var status: TableStatusBody?

    /// A definition as the API shows it, without status.
    public init(_ definition: TableDefinition) {
        name = definition.name.name
        mode = definition.mode.rawValue
        conflict = definition.conflict?.rawValue
        primary = definition.primary?.name
        commit = definition.commit?.rawValue
        regions = definition.regions.map(\.name)
    }
}

/// What the serving region holds of a table.
public struct TableStatusBody: Codable, Sendable, Equatable {
    public var region: String
    public var items: Int
    public var bytes: Int
    /// `primary` and `strong` tables: the Raft group as the answering region sees it.
    public var leader: String?
    public var role: String?
    public var term: UInt64?
    public var commitIndex: UInt64?
    public var appliedIndex: UInt64?

    enum CodingKeys: String, CodingKey {
        case region, items, bytes, leader, role, term
        case commitIndex = "commit_index"
        case appliedIndex = "applied_index"
    }

    public init(region: String, items: Int, bytes: Int, leader: String? = nil, role: String? = nil, term: UInt64? = nil,
                commitIndex: UInt64? = nil, appliedIndex: UInt64? = nil) {
        self.region = region
        self.items = items
        self.bytes = bytes
        self.leader = leader
        self.role = role
        self.term = term
        self.commitIndex = commitIndex
        self.appliedIndex = appliedIndex
    }
}

/// `GET /v1/tables`.
public struct TableListBody: Codable, Sendable, Equatable {
    public var tables: [TableBody]

    public init(tables: [TableBody]) {
        self.tables = tables
    }
}

/// The answer to `POST /v1/tables/{table}/failover`: the region leadership goes to.
/// The answer to `POST /v1/tables/{table}/repair`: what the region removed and where it
/// asked for a copy.
public struct RepairBody: Codable, Sendable, Equatable {
    public var table: String
    /// The region repaired (the one that answered).
    public var region: String
    /// Damaged rows removed (items) or withheld (changes).
    public var removedRows: Int
    /// The region asked for a copy; absent when none holding the table is connected yet.
    public var copyFrom: String?

    enum CodingKeys: String, CodingKey {
        case table, region
        case removedRows = "removed_rows"
        case copyFrom = "copy_from"
    }

    public init(table: String, region: String, removedRows: Int, copyFrom: String?) {
        self.table = table
        self.region = region
        self.removedRows = removedRows
        self.copyFrom = copyFrom
    }
}

public struct FailoverBody: Codable, Sendable, Equatable {
    public var table: String
    /// `planned` or `forced`.
    public var mode: String
    public var target: String

    public init(table: String, mode: String, target: String) {
        self.table = table
        self.mode = mode
        self.target = target
    }
}
