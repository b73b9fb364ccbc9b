import MeridianCore
import MeridianRegion

/// A table the clients write to.
struct WorkloadTable {
    let name: TableName
    let mode: TableMode
    /// The conflict policy of a multi-primary table; `nil` for `primary` and `strong` tables,
    /// which have one writer (their Raft group's leader).
    let policy: ConflictPolicy?
    /// The regions that may store it; `nil`: every region.
    let regions: [RegionID]?
    /// The primary region of a `primary` table.
    let primary: RegionID?

    init(name: TableName, policy: ConflictPolicy, regions: [RegionID]?) {
        self.name = name
        mode = .multiPrimary
        self.policy = policy
        self.regions = regions
        primary = nil
    }

    /// A `strong` table, or a `primary` table (`commit: "quorum"`) led by `primary`, in every region.
    init(consensus name: TableName, mode: TableMode, primary: RegionID?) {
        precondition(mode != .multiPrimary && (mode == .primary) == (primary != nil), "a consensus table is strong, or primary with a primary region")
        self.name = name
        self.mode = mode
        policy = nil
        regions = nil
        self.primary = primary
    }

    /// Whether a Raft group orders the table's writes (`primary` and `strong` tables).
    var isConsensus: Bool { mode != .multiPrimary }

    /// The body of its `createTable` request.
    var definition: JSONValue {
        var fields: [String: JSONValue] = ["mode": .string(mode.rawValue)]
        if let policy { fields["conflict"] = .string(policy.rawValue) }
        if let primary {
            fields["primary"] = .string(primary.name)
            fields["commit"] = .string(CommitRule.quorum.rawValue)
        }
        if let regions { fields["regions"] = .array(regions.map { .string($0.name) }) }
        return .object(fields)
    }

    /// How the trace names its kind: the conflict policy, or the mode.
    var kindName: String { policy?.rawValue ?? mode.rawValue }
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
    /// A linearizable read of a `primary` or `strong` table, served by its leader.
    case strongGet = "strong-get"
    /// A session's read (`consistency=session`, carrying what the session has seen).
    case sessionGet = "session-get"
    /// A bounded-staleness read of a multi-primary table.
    case boundedGet = "bounded-get"

    /// Relative weights of the operations on multi-primary tables.
    static let weights: [ClientOperation: Int] = [
        .put: 35, .putIfMatch: 12, .putIfAbsent: 5, .putWithContext: 6, .delete: 9, .deleteIfMatch: 5, .get: 28,
    ]

    /// Relative weights of the operations on `primary` and `strong` tables: compare-and-set
    /// and strong reads are what a linearizability check learns most from.
    static let consensusWeights: [ClientOperation: Int] = [
        .put: 25, .putIfMatch: 20, .putIfAbsent: 8, .delete: 8, .deleteIfMatch: 7, .strongGet: 32,
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
    /// For a consensus table: the client's region, where the request started (a redirect
    /// sends it on to the leader), and what it remembers from there.
    var home: RegionID? = nil
    /// For a compare-and-set on a consensus table: the value (canonical text) the client
    /// saw at the version its `If-Match` names; `nil` with `If-None-Match` (absent).
    var expectedValue: String? = nil
    /// For a consensus table: the number of the logical call (across redirects and retries),
    /// when it was first sent, in virtual milliseconds, and the attempts so far.
    var call = 0
    var invokedAt: UInt64 = 0
    var attempts = 1
    /// The most attempts of the call (its first send, redirects to the leader and retries
    /// after `no_leader`), as an HTTP client and its region's forwarder would make.
    var attemptsMax = Workload.attemptsMax
    /// For a session's request: the session, and the number of this request in it (a reply
    /// to a request the session gave up on is ignored).
    var session: (id: Int, request: Int)? = nil
    /// For a bounded read: the bound, in milliseconds.
    var boundMilliseconds: UInt64 = 0
}

/// Clients in every region: puts, conditional puts, deletes and reads over a few keys of a
/// few tables (one per conflict policy, and one confined to some regions), so that
/// concurrent writes to one key, and so conflicts, are frequent; and strong reads, puts,
/// compare-and-set and deletes over fewer keys of a `strong` and a `primary` table.
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

    /// What a client last saw of one item of a consensus table: its version and value
    /// (canonical text), for a compare-and-set; `nil` value: absent.
    struct SeenValue {
        var versionToken: String
        var value: String
    }

    let tables: [WorkloadTable]
    let keys: [Key]
    /// The keys of the consensus tables: fewer, so that a write and a read of one key often
    /// meet around a change of leader, where stale reads and lost commits would show.
    let consensusKeys: [Key]
    private var seen: [SeenAddress: Seen] = [:]
    private var seenValues: [SeenAddress: SeenValue] = [:]
    /// The most keys of a consensus table the clients use.
    static let consensusKeysMax = 3
    /// The most attempts of one client call on a consensus table.
    static let attemptsMax = 4
    /// The most attempts of a final read: the groups are healthy by then, but leadership of
    /// a `primary` table may still move back to its primary region, and a read must not give up then.
    static let finalReadAttemptsMax = 40
    /// Numbers the logical calls on consensus tables.
    private(set) var callsStarted = 0
    /// Numbers every written value, so that each write's value is unique.
    private var valuesWritten = 0

    /// The tables of a run: `lww`, `merge` and `siblings` in every region, `resident`
    /// (`lww`) in all regions but the last, and two Raft tables in every region: `strong`,
    /// and `primary` (`commit: "quorum"`, led by the first region).
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
            WorkloadTable(consensus: table("strong"), mode: .strong, primary: nil),
            WorkloadTable(consensus: table("primary"), mode: .primary, primary: regions[0]),
        ]
        keys = (0..<keysPerTable).map { index in
            guard let key = try? Key("k\(index)") else { preconditionFailure("'k\(index)' is a valid key") }
            return key
        }
        consensusKeys = Array(keys.prefix(Self.consensusKeysMax))
    }

    /// The relative chances of each table being chosen, in `tables` order.
    static let tableWeights = [24, 18, 18, 10, 15, 15]

    /// The next request of a client in `region`, first sent at `now` (virtual milliseconds).
    mutating func nextRequest(in region: RegionID, now: UInt64, random: inout SimulationRandom) -> ClientRequest {
        let table = tables[random.weightedIndex(Self.tableWeights)]
        guard let policy = table.policy else {
            return nextConsensusRequest(table: table, key: random.element(of: consensusKeys), in: region, now: now, random: &random)
        }
        let key = random.element(of: keys)
        let operations = ClientOperation.allCases
        let operation = operations[random.weightedIndex(operations.map { ClientOperation.weights[$0] ?? 0 })]
        let memory = seen[SeenAddress(region: region, table: table.name, key: key)]
        switch operation {
        case .put, .putIfAbsent:
            let value = nextValue(for: policy, in: region, random: &random)
            return ClientRequest(operation: operation, table: table, key: key, value: value,
                                 request: .putItem(table.name, key, value, operation == .put ? .none : .itemAbsent))
        case .putIfMatch:
            let value = nextValue(for: policy, in: region, random: &random)
            let precondition: WritePrecondition = memory.map { .versionMatches($0.versionToken) } ?? .none
            return ClientRequest(operation: memory == nil ? .put : operation, table: table, key: key, value: value,
                                 request: .putItem(table.name, key, value, precondition))
        case .putWithContext:
            let value = nextValue(for: policy, in: region, random: &random)
            let context = table.policy == .siblings ? memory?.vector : nil
            return ClientRequest(operation: context == nil ? .put : operation, table: table, key: key, value: value,
                                 request: .putItem(table.name, key, value, .none, context: context))
        case .delete:
            return ClientRequest(operation: operation, table: table, key: key, value: nil, request: .deleteItem(table.name, key, .none))
        case .deleteIfMatch:
            let precondition: WritePrecondition = memory.map { .versionMatches($0.versionToken) } ?? .none
            return ClientRequest(operation: memory == nil ? .delete : operation, table: table, key: key, value: nil,
                                 request: .deleteItem(table.name, key, precondition))
        case .get, .strongGet, .sessionGet, .boundedGet:
            return ClientRequest(operation: .get, table: table, key: key, value: nil, request: .getItem(table.name, key, .eventual))
        }
    }

    /// A request on a `primary` or `strong` table: unconditional puts of unique values,
    /// compare-and-set (`If-Match` the version last seen, `If-None-Match`), deletes and
    /// strong reads.
    private mutating func nextConsensusRequest(table: WorkloadTable, key: Key, in region: RegionID, now: UInt64,
                                               random: inout SimulationRandom) -> ClientRequest {
        let operations = ClientOperation.allCases
        // `get` and `put-with-context` have no weight here: they are multi-primary operations.
        var operation = operations[random.weightedIndex(operations.map { ClientOperation.consensusWeights[$0] ?? 0 })]
        let memory = seenValues[SeenAddress(region: region, table: table.name, key: key)]
        var value: JSONValue? = nil
        var expected: String? = nil
        let request: RegionRequest
        switch (operation, memory) {
        case (.putIfMatch, let memory?):
            let written = nextValue(for: .lww, in: region, random: &random)
            (value, expected) = (written, memory.value)
            request = .putItem(table.name, key, written, .versionMatches(memory.versionToken))
        case (.put, _), (.putIfMatch, nil), (.putIfAbsent, _):
            if operation == .putIfMatch { operation = .put }
            let written = nextValue(for: .lww, in: region, random: &random)
            value = written
            request = .putItem(table.name, key, written, operation == .putIfAbsent ? .itemAbsent : .none)
        case (.deleteIfMatch, let memory?):
            expected = memory.value
            request = .deleteItem(table.name, key, .versionMatches(memory.versionToken))
        case (.delete, _), (.deleteIfMatch, nil):
            operation = .delete
            request = .deleteItem(table.name, key, .none)
        case (.strongGet, _), (.get, _), (.putWithContext, _), (.sessionGet, _), (.boundedGet, _):
            operation = .strongGet
            request = .getItem(table.name, key, .strong)
        }
        callsStarted += 1
        return ClientRequest(operation: operation, table: table, key: key, value: value, request: request, home: region,
                             expectedValue: expected, call: callsStarted, invokedAt: now)
    }

    /// A session's next request in `region`: a write (an unconditional put, to any table
    /// every region holds), a session read carrying `marks` (waiting in the region up to
    /// `sessionWaitMilliseconds`), or a bounded read of a multi-primary table.
    mutating func nextSessionRequest(session: Int, number: Int, marks: SessionMarks, in region: RegionID, now: UInt64,
                                     random: inout SimulationRandom) -> ClientRequest {
        let candidates = tables.filter { $0.regions == nil }
        let table = random.element(of: candidates)
        let key = random.element(of: table.isConsensus ? consensusKeys : keys)
        var client: ClientRequest
        switch random.weightedIndex(Self.sessionOperationWeights) {
        case 0:
            let value = nextValue(for: table.policy ?? .lww, in: region, random: &random)
            client = ClientRequest(operation: .put, table: table, key: key, value: value, request: .putItem(table.name, key, value, .none))
            if table.isConsensus {
                callsStarted += 1
                client.home = region
                client.call = callsStarted
                client.invokedAt = now
            }
        case 1 where !table.isConsensus:
            let bound = random.element(of: Self.boundsMilliseconds)
            client = ClientRequest(operation: .boundedGet, table: table, key: key, value: nil,
                                   request: .getItem(table.name, key, .bounded, requirement: .bounded(maxStalenessMilliseconds: bound)))
            client.boundMilliseconds = bound
        default:
            client = ClientRequest(operation: .sessionGet, table: table, key: key, value: nil,
                                   request: .getItem(table.name, key, .session, requirement: marks.requirement,
                                                     waitMilliseconds: Self.sessionWaitMilliseconds))
        }
        client.session = (session, number)
        client.home = region
        client.attemptsMax = Self.sessionAttemptsMax
        return client
    }

    /// The relative chances of a session's write, bounded read and session read.
    static let sessionOperationWeights = [35, 15, 50]
    /// The bounds of bounded reads, in milliseconds.
    static let boundsMilliseconds: [UInt64] = [300, 800, 2_000]
    /// How long a session read waits in a region that is behind the session (the node's default).
    static let sessionWaitMilliseconds: UInt64 = 300
    /// A session read is sent once and forwarded at most once (as the HTTP edge does); a
    /// session's write to a consensus table follows redirects like any call.
    static let sessionAttemptsMax = 4

    /// A strong read of one key of a consensus table from `region`, first sent at `now`: the
    /// final reads that expose lost acknowledged writes.
    mutating func finalRead(table: WorkloadTable, key: Key, in region: RegionID, now: UInt64) -> ClientRequest {
        callsStarted += 1
        return ClientRequest(operation: .strongGet, table: table, key: key, value: nil, request: .getItem(table.name, key, .strong),
                             home: region, call: callsStarted, invokedAt: now, attemptsMax: Self.finalReadAttemptsMax)
    }

    /// Remembers what a client in `region` saw of an item of a consensus table: a value at a
    /// version, or (`value` nil) that it is absent.
    mutating func rememberValue(region: RegionID, table: TableName, key: Key, version: ItemVersion?, value: String?) {
        let address = SeenAddress(region: region, table: table, key: key)
        guard let version, let value else {
            seenValues[address] = nil
            return
        }
        seenValues[address] = SeenValue(versionToken: version.token, value: value)
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
