import MeridianCore
import MeridianRegion

/// A table the clients write to.
struct WorkloadTable {
    let name: TableName
    let policy: ConflictPolicy
    /// The regions that may store it; `nil`: every region.
    let regions: [RegionID]?

    /// The body of its `createTable` request.
    var definition: JSONValue {
        var fields: [String: JSONValue] = ["mode": .string(TableMode.multiPrimary.rawValue), "conflict": .string(policy.rawValue)]
        if let regions { fields["regions"] = .array(regions.map { .string($0.name) }) }
        return .object(fields)
    }
}

/// What a client asks of a region.
enum ClientOperation: String, CaseIterable {
    case put
    /// A put with `If-Match`: the version the client last saw.
    case putIfMatch = "put-if-match"
    /// A put with `If-None-Match: *`.
    case putIfAbsent = "put-if-absent"
    /// A put that sends the version vector the client read (resolves siblings it saw).
    case putWithContext = "put-with-context"
    case delete
    /// A delete with `If-Match`.
    case deleteIfMatch = "delete-if-match"
    case get

    /// Relative weights of the operations.
    static let weights: [ClientOperation: Int] = [
        .put: 35, .putIfMatch: 12, .putIfAbsent: 5, .putWithContext: 6, .delete: 9, .deleteIfMatch: 5, .get: 28,
    ]
}

/// One client request, with what the checkers need to know about it.
struct ClientRequest {
    let operation: ClientOperation
    let table: WorkloadTable
    let key: Key
    /// The value a put writes; `nil` for deletes and reads.
    let value: JSONValue?
    let request: RegionRequest
}

/// Clients in every region: puts, conditional puts, deletes and reads over a few keys of a
/// few tables (one per conflict policy, and one confined to some regions), so that
/// concurrent writes to one key, and so conflicts, are frequent.
struct Workload {
    /// What a client last saw of one item in one region: the version for `If-Match`, the
    /// vector for a siblings context.
    struct Seen {
        var versionToken: String
        var vector: VersionVector?
    }

    struct SeenAddress: Hashable {
        var region: RegionID
        var table: TableName
        var key: Key
    }

    let tables: [WorkloadTable]
    let keys: [Key]
    private var seen: [SeenAddress: Seen] = [:]
    /// Numbers every written value, so that each write's value is unique.
    private var valuesWritten = 0

    /// The tables of a run: `lww`, `merge` and `siblings` in every region, and `resident`
    /// (`lww`) in all regions but the last.
    init(regions: [RegionID], keysPerTable: Int) {
        precondition(keysPerTable > 0, "a workload needs keys")
        func table(_ name: String) -> TableName {
            guard let table = try? TableName(name) else { preconditionFailure("'\(name)' is a valid table name") }
            return table
        }
        tables = [
            WorkloadTable(name: table("lww"), policy: .lww, regions: nil),
            WorkloadTable(name: table("merge"), policy: .merge, regions: nil),
            WorkloadTable(name: table("siblings"), policy: .siblings, regions: nil),
            WorkloadTable(name: table("resident"), policy: .lww, regions: Array(regions.dropLast()).sorted()),
        ]
        keys = (0..<keysPerTable).map { index in
            guard let key = try? Key("k\(index)") else { preconditionFailure("'k\(index)' is a valid key") }
            return key
        }
    }

    /// The relative chances of each table being chosen, in `tables` order.
    static let tableWeights = [35, 25, 25, 15]

    /// The next request of a client in `region`.
    mutating func nextRequest(in region: RegionID, random: inout SimulationRandom) -> ClientRequest {
        let table = tables[random.weightedIndex(Self.tableWeights)]
        let key = random.element(of: keys)
        let operations = ClientOperation.allCases
        let operation = operations[random.weightedIndex(operations.map { ClientOperation.weights[$0] ?? 0 })]
        let memory = seen[SeenAddress(region: region, table: table.name, key: key)]
        switch operation {
        case .put, .putIfAbsent:
            let value = nextValue(for: table.policy, in: region, random: &random)
            return ClientRequest(operation: operation, table: table, key: key, value: value,
                                 request: .putItem(table.name, key, value, operation == .put ? .none : .itemAbsent))
        case .putIfMatch:
            let value = nextValue(for: table.policy, in: region, random: &random)
            let precondition: WritePrecondition = memory.map { .versionMatches($0.versionToken) } ?? .none
            return ClientRequest(operation: memory == nil ? .put : operation, table: table, key: key, value: value,
                                 request: .putItem(table.name, key, value, precondition))
        case .putWithContext:
            let value = nextValue(for: table.policy, in: region, random: &random)
            let context = table.policy == .siblings ? memory?.vector : nil
            return ClientRequest(operation: context == nil ? .put : operation, table: table, key: key, value: value,
                                 request: .putItem(table.name, key, value, .none, context: context))
        case .delete:
            return ClientRequest(operation: operation, table: table, key: key, value: nil, request: .deleteItem(table.name, key, .none))
        case .deleteIfMatch:
            let precondition: WritePrecondition = memory.map { .versionMatches($0.versionToken) } ?? .none
            return ClientRequest(operation: memory == nil ? .delete : operation, table: table, key: key, value: nil,
                                 request: .deleteItem(table.name, key, precondition))
        case .get:
            return ClientRequest(operation: operation, table: table, key: key, value: nil, request: .getItem(table.name, key, .eventual))
        }
    }

    /// Remembers what a client in `region` saw of an item.
    mutating func remember(region: RegionID, table: TableName, key: Key, version: ItemVersion, vector: VersionVector?) {
        seen[SeenAddress(region: region, table: table, key: key)] = Seen(versionToken: version.token, vector: vector)
    }

    /// A fresh value: an object naming its writer under `lww`; an object of a few of four
    /// fields (now and then a plain string) under `merge`, so that concurrent edits touch
    /// different fields; a one-element array under `siblings`.
    private mutating func nextValue(for policy: ConflictPolicy, in region: RegionID, random: inout SimulationRandom) -> JSONValue {
        valuesWritten += 1
        let number = Int64(valuesWritten)
        switch policy {
        case .lww:
            return .object(["by": .string(region.name), "n": .integer(number)])
        case .merge:
            if random.chance(percent: 10) { return .string("\(region.name)-\(number)") }
            var fields: [String: JSONValue] = [:]
            for field in 0..<4 where random.chance(percent: 50) { fields["f\(field)"] = .integer(number) }
            return .object(fields)
        case .siblings:
            return .array([.string("\(region.name)-\(number)")])
        }
    }
}
