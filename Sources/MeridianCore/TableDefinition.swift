/// How a table replicates between its regions.
public enum TableMode: String, Sendable, Codable, CaseIterable {
    /// Active-active: every region writes; conflicts resolved by the table's policy.
    case multiPrimary = "multi-primary"
    /// Active-passive: one region writes, the others follow, automatic failover.
    case primary
    /// Consensus across regions: linearizable reads and writes.
    case strong
}

/// How concurrent writes to one item of a multi-primary table are resolved.
public enum ConflictPolicy: String, Sendable, Codable, CaseIterable {
    /// Whole item: the highest timestamp wins, the region id breaks ties.
    case lww
    /// JSON objects merge field by field, each field last-writer-wins.
    case merge
    /// Every concurrent version is kept until a client writes a resolution.
    case siblings
}

/// When a `primary` table acknowledges a write.
public enum CommitRule: String, Sendable, Codable, CaseIterable {
    /// After the leader's own durable write; standbys follow (RPO = replication lag).
    case local
    /// After a majority of the table's regions hold the write (RPO 0).
    case quorum
}

/// A table's definition: cluster metadata, present in every region.
///
/// Invariants (established by `resolve`): `regions` is non-empty, sorted and unique and
/// names only cluster regions; `conflict` is set exactly for multi-primary tables;
/// `primary` and `commit` are set exactly for primary tables, and `primary` is in `regions`;
/// `witness`, only for primary and strong tables, is a region outside `regions`.
public struct TableDefinition: Sendable, Hashable, Codable {
    public var name: TableName
    public var mode: TableMode
    public var conflict: ConflictPolicy?
    public var primary: RegionID?
    public var commit: CommitRule?
    /// The regions that store the table's items.
    public var regions: [RegionID]
    /// For a primary or strong table: a region that votes in the table's Raft group but
    /// stores none of its items and serves none of its requests, so that a table over two
    /// data regions can still elect a leader when one of them is lost.
    public var witness: RegionID?

    /// The DynamoDB name and key schema of a table created through the DynamoDB API
    /// (docs/dynamodb.md); `nil` for tables created through the native API.
    public var dynamo: DynamoSchema?

    /// Makes a definition from already-validated parts; prefer `resolve`.
    public init(name: TableName, mode: TableMode, conflict: ConflictPolicy? = nil, primary: RegionID? = nil, commit: CommitRule? = nil,
                regions: [RegionID], witness: RegionID? = nil, dynamo: DynamoSchema? = nil) {
        self.name = name
        self.mode = mode
        self.conflict = conflict
        self.primary = primary
        self.commit = commit
        self.regions = regions
        self.witness = witness
        self.dynamo = dynamo
    }

    /// The regions that vote in a primary or strong table's Raft group: its regions and its
    /// witness, sorted.
    public var votingRegions: [RegionID] { (regions + (witness.map { [$0] } ?? [])).sorted() }

    /// The fields a client may send in a definition body.
    public static let fieldNames: Set<String> = ["mode", "conflict", "primary", "commit", "regions", "witness", "dynamodb"]

    /// Validates a client's definition body against the cluster's regions and fills in defaults:
    /// `conflict: lww` for multi-primary tables; `commit: quorum` and the first region of the
    /// body's `regions` list (or of the cluster file when absent) as `primary` for primary
    /// tables; every cluster region when `regions` is absent. `regions` is stored sorted.
    public static func resolve(name: TableName, body: JSONValue, clusterRegions: [RegionID]) throws(MeridianError) -> TableDefinition {
        guard case .object(let fields) = body else {
            throw .invalid("invalid_definition", "a table definition must be a JSON object such as {\"mode\": \"multi-primary\"}")
        }
        if let unknown = fields.keys.sorted().first(where: { !fieldNames.contains($0) }) {
            throw .invalid("invalid_definition", "unknown field '\(unknown.prefix(64))' in table definition; known fields: \(fieldNames.sorted().joined(separator: ", "))")
        }
        let mode: TableMode = try enumField(fields, "mode") ?? .multiPrimary
        let conflict: ConflictPolicy? = try enumField(fields, "conflict")
        let commit: CommitRule? = try enumField(fields, "commit")
        let listed = try regionList(fields["regions"], clusterRegions: clusterRegions)
        let regions = listed.sorted()
        // The default primary is the first region as the client listed them (or as the
        // cluster file lists them), not the first in sorted order.
        let firstListed = listed[0]
        let dynamo = try fields["dynamodb"].map { value throws(MeridianError) in try DynamoSchema(json: value) }
        var primary: RegionID? = nil
        if let value = fields["primary"] {
            guard case .string(let name) = value else { throw .invalid("invalid_definition", "'primary' must be a region name") }
            let region = try RegionID(name)
            guard regions.contains(region) else {
                throw .invalid("invalid_definition", "primary region '\(region)' is not among the table's regions \(regions.map(\.name))")
            }
            primary = region
        }

        var witness: RegionID? = nil
        if let value = fields["witness"] {
            guard case .string(let name) = value else { throw .invalid("invalid_definition", "'witness' must be a region name") }
            let region = try RegionID(name)
            guard clusterRegions.contains(region) else {
                throw MeridianError(.invalidArgument, code: "unknown_region", "witness region '\(region)' is not in this cluster; cluster regions: \(clusterRegions.map(\.name).joined(separator: ", "))")
            }
            guard !regions.contains(region) else {
                throw .invalid("invalid_definition", "witness region '\(region)' is also among the table's regions; a witness stores no items, so it is listed apart")
            }
            witness = region
        }

        switch mode {
        case .multiPrimary:
            guard primary == nil, commit == nil, witness == nil else {
                throw .invalid("invalid_definition", "'primary', 'commit' and 'witness' apply only to tables with mode \"primary\" or \"strong\"")
            }
            return TableDefinition(name: name, mode: mode, conflict: conflict ?? .lww, regions: regions, dynamo: dynamo)
        case .primary, .strong:
            guard conflict == nil else {
                throw .invalid("invalid_definition", "'conflict' applies only to multi-primary tables; \(mode.rawValue) tables have a single writer")
            }
            guard regions.count + (witness == nil ? 0 : 1) != 2 else {
                throw .invalid("needs_third_region", "a \(mode.rawValue) table over two regions cannot fail over automatically (two voters cannot elect without a third); list one region, at least three, or two and a \"witness\"")
            }
            if mode == .strong {
                guard primary == nil, commit == nil else {
                    throw .invalid("invalid_definition", "'primary' and 'commit' apply only to tables with mode \"primary\"; strong tables always commit on a quorum")
                }
                return TableDefinition(name: name, mode: mode, regions: regions, witness: witness, dynamo: dynamo)
            }
            return TableDefinition(name: name, mode: mode, primary: primary ?? firstListed, commit: commit ?? .quorum, regions: regions, witness: witness, dynamo: dynamo)
        }
    }

    private static func enumField<T: RawRepresentable<String> & CaseIterable>(_ fields: [String: JSONValue], _ name: String) throws(MeridianError) -> T? {
        guard let value = fields[name] else { return nil }
        let allowed = T.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
        guard case .string(let raw) = value, let parsed = T(rawValue: raw) else {
            throw .invalid("invalid_definition", "'\(name)' must be one of \(allowed)")
        }
        return parsed
    }

    private static func regionList(_ value: JSONValue?, clusterRegions: [RegionID]) throws(MeridianError) -> [RegionID] {
        guard let value else { return clusterRegions }
        guard case .array(let elements) = value, !elements.isEmpty else {
            throw .invalid("invalid_definition", "'regions' must be a non-empty array of region names")
        }
        var regions: [RegionID] = []
        for element in elements {
            guard case .string(let name) = element else { throw .invalid("invalid_definition", "'regions' must contain region names") }
            let region = try RegionID(name)
            guard clusterRegions.contains(region) else {
                throw MeridianError(.invalidArgument, code: "unknown_region", "region '\(region)' is not in this cluster; cluster regions: \(clusterRegions.map(\.name).joined(separator: ", "))")
            }
            guard !regions.contains(region) else { throw .invalid("invalid_definition", "region '\(region)' is listed twice") }
            regions.append(region)
        }
        return regions
    }
}
