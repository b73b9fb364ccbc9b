import MeridianCore
import MeridianReplication
import MeridianStorage

/// Client requests.
extension Step {
    mutating func reply(to request: RegionRequest, reader: any StorageReader, writer: (any StorageWriter)?) throws -> RegionReply {
        if let reply = try replyForConsensusTable(to: request, reader: reader, writer: writer) { return reply }
        switch request {
        case .createTable(let name, let body):
            return try createTable(name, body: body, writer: required(writer))

        case .listTables:
            let live = state.catalog.values.compactMap(\.definition).sorted { $0.name < $1.name }
            return .tables(live.map { TableStatus(definition: $0) })

        case .showTable(let name):
            let definition = try servedTable(name)
            let size = try reader.tableSize(table: name)
            return .table(TableStatus(definition: definition, items: size.items, bytes: size.bytes, raft: raftStatus(name)))

        case .deleteTable(let name):
            guard let existing = state.catalog[name], existing.definition != nil else { throw MeridianError.tableNotFound(name) }
            let writer = required(writer)
            state.clock.advance(past: existing.version.timestamp)
            let version = ItemVersion(timestamp: state.clock.now(wallMilliseconds: wallMilliseconds), origin: local)
            let record = CatalogRecord(name: name, definition: nil, version: version, deletedBefore: version.timestamp)
            try mergeCatalog(record, writer: writer)
            try appendOwnEntry(.catalog(record), timestamp: version.timestamp, writer: writer)
            return .tableDeleted(name)

        case .failover(let table, let planned, let target):
            return try failover(table, planned: planned, target: target, writer: required(writer))

        case .transact(let table, let operations):
            return try raftTransact(table, operations, reader: reader, writer: required(writer))

        case .divergence(let table, let afterID, let limit):
            try servedTable(table)
            let rows = try reader.divergence(table: table, afterID: afterID, limit: limit + 1)
            let page = Array(rows.prefix(limit))
            return .divergence(page, next: rows.count > limit ? page.last?.id : nil)

        case .putItem(let table, let key, let value, let precondition, let context):
            let record = try write(table, key, value: value, precondition: precondition, context: context, reader: reader, writer: required(writer))
            return .written(key, record.version, context: record.vector)

        case .getItem(let table, let key, let consistency, let requirement, let waitMilliseconds):
            let definition = try servedTable(table)
            if consistency == .strong && definition.mode == .multiPrimary {
                throw MeridianError.invalid("consistency_unavailable",
                    "table '\(table)' is multi-primary, which cannot serve consistency=strong; use a table with mode \"strong\" or \"primary\", or read with bounded, session or eventual consistency")
            }
            if let refusal = unreadiness(of: table, requirement, consistency: consistency) {
                return try park(table, key, consistency: consistency, requirement: requirement, waitMilliseconds: waitMilliseconds, refusal: refusal)
            }
            guard let item = try reader.item(table: table, key: key), !item.isTombstone else { throw MeridianError.itemNotFound }
            return .item(item, servedAt: consistency)

        case .deleteItem(let table, let key, let precondition):
            try servedTable(table)
            guard let current = try reader.item(table: table, key: key), !current.isTombstone else {
                try check(precondition, on: nil)
                throw MeridianError.itemNotFound
            }
            let record = try write(table, key, value: nil, precondition: precondition, context: nil, reader: reader, writer: required(writer))
            return .deleted(key, record.version)

        case .scan(let table, let range):
            try servedTable(table)
            var lookahead = range
            lookahead.limit = range.limit + 1
            let items = try reader.scan(table: table, range: lookahead)
            let page = Array(items.prefix(range.limit))
            return .page(page, next: items.count > range.limit ? page.last?.key : nil)

        case .conflicts(let table, let afterID, let limit):
            try servedTable(table)
            let rows = try reader.conflicts(table: table, afterID: afterID, limit: limit + 1)
            let page = Array(rows.prefix(limit))
            return .conflicts(page, next: rows.count > limit ? page.last?.id : nil)

        case .clusterStatus:
            return .cluster(clusterStatus())

        case .changeRegions(let name, let regions):
            return try changeRegions(name, to: regions, writer: required(writer))

        case .changes(let table, let start, let limit):
            return try changesPage(table, from: start, limit: limit, reader: reader)

        case .placement(let name):
            guard let definition = state.definition(name) else { throw MeridianError.tableNotFound(name) }
            var residue = try reader.residue(table: name)
            residue.reclaimPending = state.reclaimNeeded && !definition.regions.contains(local)
            return .placement(residue, listed: definition.regions.contains(local))
        }
    }

    mutating func createTable(_ name: TableName, body: JSONValue, writer: any StorageWriter) throws -> RegionReply {
        let definition = try TableDefinition.resolve(name: name, body: body, clusterRegions: region.configuration.clusterRegions)
        let existing = state.catalog[name]
        if let current = existing?.definition {
            guard current == definition else {
                throw MeridianError(.conflict, code: "table_exists", "table '\(name)' already exists with a different definition (mode \(current.mode.rawValue), regions \(current.regions.map(\.name)))")
            }
            return .tableCreated(current, created: false)
        }
        if let existing { state.clock.advance(past: existing.version.timestamp) }
        let version = ItemVersion(timestamp: state.clock.now(wallMilliseconds: wallMilliseconds), origin: local)
        let record = CatalogRecord(name: name, definition: definition, version: version, deletedBefore: existing?.deletedBefore ?? .zero)
        try mergeCatalog(record, writer: writer)
        try appendOwnEntry(.catalog(record), timestamp: version.timestamp, writer: writer)
        return .tableCreated(definition, created: true)
    }

    mutating func changeRegions(_ name: TableName, to requested: [RegionID], writer: any StorageWriter) throws -> RegionReply {
        guard let existing = state.catalog[name], var definition = existing.definition else { throw MeridianError.tableNotFound(name) }
        guard definition.mode == .multiPrimary else {
            throw MeridianError.invalid("mode_unavailable", "only multi-primary tables change their regions for now")
        }
        let clusterRegions = region.configuration.clusterRegions
        guard !requested.isEmpty, Set(requested).count == requested.count else {
            throw MeridianError.invalid("invalid_definition", "'regions' must be a non-empty list of distinct regions")
        }
        if let unknown = requested.first(where: { !clusterRegions.contains($0) }) {
            throw MeridianError(.invalidArgument, code: "unknown_region", "region '\(unknown)' is not in this cluster; cluster regions: \(clusterRegions.map(\.name).joined(separator: ", "))")
        }
        definition.regions = requested.sorted()
        guard definition != existing.definition else { return .regionsChanged(definition) }
        state.clock.advance(past: existing.version.timestamp)
        let version = ItemVersion(timestamp: state.clock.now(wallMilliseconds: wallMilliseconds), origin: local)
        let record = CatalogRecord(name: name, definition: definition, version: version, deletedBefore: existing.deletedBefore)
        try mergeCatalog(record, writer: writer)
        try appendOwnEntry(.catalog(record), timestamp: version.timestamp, writer: writer)
        return .regionsChanged(definition)
    }

    /// A put (`value`) or a delete (`nil`) accepted in this region: resolved against the
    /// current record by the table's policy, stored with its origin-log entry.
    mutating func write(_ table: TableName, _ key: Key, value: JSONValue?, precondition: WritePrecondition, context: VersionVector?,
                        reader: any StorageReader, writer: any StorageWriter) throws -> ItemRecord {
        let definition = try servedTable(table)
        let current = try reader.item(table: table, key: key)
        try check(precondition, on: current)
        guard let catalogRecord = state.catalog[table] else { preconditionFailure("a served table has a catalog record") }
        // A new version must exceed every version the item and its table hold
        // (ConflictResolution's precondition, and `deletedBefore` must not swallow it).
        let policy = definition.conflict ?? .lww
        let held = current?.record.map { ConflictResolution.normalized($0, for: policy) }
        for timestamp in [held?.version.timestamp, catalogRecord.version.timestamp, catalogRecord.deletedBefore].compactMap({ $0 }) {
            state.clock.advance(past: timestamp)
        }
        let version = ItemVersion(timestamp: state.clock.now(wallMilliseconds: wallMilliseconds), origin: local)
        let (record, overwritten) = ConflictResolution.localWrite(current: held, value: value, version: version, policy: policy, context: context)
        guard Region.estimatedBytes(record) <= Limits.recordBytesMax else {
            throw MeridianError(.tooLarge, code: "item_too_large",
                "the item with its concurrent versions would take more than \(Limits.recordBytesMax) bytes; resolve its siblings (send Meridian-Context) or write a smaller value")
        }
        try writer.putItem(table: table, StoredItem(key: key, record: record))
        try recordConflicts(overwritten, table: table, key: key, writer: writer)
        try appendOwnEntry(.item(table: catalogRecord, key: key, record: record), timestamp: version.timestamp, writer: writer)
        return record
    }

    /// Item requests of `primary` and `strong` tables go to their Raft group; `nil` for
    /// every other request.
    mutating func replyForConsensusTable(to request: RegionRequest, reader: any StorageReader, writer: (any StorageWriter)?) throws -> RegionReply? {
        switch request {
        case .putItem(let table, let key, let value, let precondition, _):
            guard try servedTable(table).mode != .multiPrimary else { return nil }
            return try raftWrite(table, key, value: value, isDelete: false, precondition: precondition, reader: reader, writer: required(writer))
        case .deleteItem(let table, let key, let precondition):
            guard try servedTable(table).mode != .multiPrimary else { return nil }
            return try raftWrite(table, key, value: nil, isDelete: true, precondition: precondition, reader: reader, writer: required(writer))
        case .getItem(let table, let key, let consistency, let requirement, let waitMilliseconds):
            guard try servedTable(table).mode != .multiPrimary else { return nil }
            guard consistency == .eventual || writer != nil else {
                preconditionFailure("a read a Raft group confirms runs in a write step")
            }
            return try raftRead(table, key, consistency: consistency, requirement: requirement, waitMilliseconds: waitMilliseconds, reader: reader)
        default:
            return nil
        }
    }

    /// A `primary` or `strong` table's group as this region sees it.
    func raftStatus(_ table: TableName) -> RaftTableStatus? {
        state.consensus.groups[table].map(RaftTableStatus.init)
    }

    /// The definition of a table this region serves.
    @discardableResult
    func servedTable(_ name: TableName) throws(MeridianError) -> TableDefinition {
        guard let definition = state.definition(name) else { throw MeridianError.tableNotFound(name) }
        guard definition.regions.contains(local) else {
            throw MeridianError(.misdirected, code: "table_not_in_region",
                "table '\(name)' is stored only in \(definition.regions.map(\.name).joined(separator: ", ")); send the request to one of those regions")
        }
        return definition
    }

    /// Whether the local copy may serve a read with this requirement.
    func check(_ requirement: ReadRequirement) throws(MeridianError) {
        switch requirement {
        case .none:
            return
        case .session(let positions, _):
            if region.configuration.fault == .ignoreSessionToken { return }
            for (origin, sequence) in positions.sequences where state.replication.applied[origin] < sequence {
                throw MeridianError(.unavailable, code: "session_not_ready",
                    "this region has applied \(origin)'s log through \(state.replication.applied[origin]); the session has seen \(sequence)")
            }
        case .bounded(let bound):
            let staleness = provableStalenessMilliseconds()
            guard let staleness, staleness <= bound else {
                throw MeridianError(.unavailable, code: "staleness_unprovable",
                    "this region cannot prove its copy is at most \(bound) ms stale (\(staleness.map { "it may be \($0) ms stale" } ?? "a region has not been heard from"))")
            }
        }
    }

    /// How stale the local copy can be at most, in milliseconds: for each other region,
    /// the time since its last heartbeat was sent, if this region had by then applied
    /// everything that heartbeat announced; `nil` when some region cannot be vouched for.
    func provableStalenessMilliseconds() -> UInt64? {
        var worst: UInt64 = 0
        for (peer, progress) in state.replication.peers {
            guard let heartbeat = progress.heartbeat, state.replication.applied[peer] >= heartbeat.latestSequence else { return nil }
            let sentAt = min(heartbeat.wallMilliseconds, progress.heartbeatReceivedAtMilliseconds)
            worst = max(worst, wallMilliseconds > sentAt ? wallMilliseconds - sentAt : 0)
        }
        return worst
    }

    func check(_ precondition: WritePrecondition, on current: StoredItem?) throws(MeridianError) {
        let live = current.flatMap { $0.isTombstone ? nil : $0 }
        switch precondition {
        case .none:
            return
        case .versionMatches(let token):
            guard let live else { throw MeridianError.preconditionFailed("If-Match names version \(token.prefix(80)), but the item does not exist") }
            guard live.version.token == token else {
                throw MeridianError.preconditionFailed("If-Match names version \(token.prefix(80)), but the current version is \(live.version.token)")
            }
        case .itemAbsent:
            if let live { throw MeridianError.preconditionFailed("If-None-Match: * requires that the item not exist; it exists at version \(live.version.token)") }
        }
    }
}
