import MeridianCore
import MeridianReplication
import MeridianStorage

/// Client requests.
extension Step {
    mutating func reply(to request: RegionRequest, reader: any StorageReader, writer: (any StorageWriter)?) throws -> RegionReply {
        do {
            return try replyWithoutCatalogWait(to: request, reader: reader, writer: writer)
        } catch let error as MeridianError where error.code == "table_not_found" && Self.waitsForCatalog(request) {
            // Perhaps created a moment ago and not yet applied here: ask the catalog group.
            return try waitForCatalog(request, refusal: error)
        }
    }

    /// Runs a request against what this region's catalog holds now.
    mutating func replyWithoutCatalogWait(to request: RegionRequest, reader: any StorageReader, writer: (any StorageWriter)?) throws -> RegionReply {
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
            // The deletion ends the incarnation: items written before its timestamp go.
            let record = nextCatalogRecord(name, definition: nil, deletedBefore: .zero)
            return try proposeCatalogChange(record, precondition: .liveAt(existing.version), intent: .delete)

        case .failover(let table, let planned, let target):
            return try failover(table, planned: planned, target: target, writer: required(writer))

        case .transact(let table, let operations):
            return try raftTransact(table, operations, reader: reader, writer: required(writer))

        case .divergence(let table, let afterID, let limit):
            try servedTable(table)
            let (page, more) = try Self.boundedPage(limit: limit, bytes: { $0.key.bytes.count + ($0.value?.canonicalBytes.count ?? 0) }) { after, count in
                try reader.divergence(table: table, afterID: after?.id ?? afterID, limit: count)
            }
            return .divergence(page, next: more ? page.last?.id : nil)

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
            let (page, more) = try Self.boundedPage(limit: range.limit, bytes: { Self.pageBytes(of: $0) }) { after, count in
                var chunk = range
                // The next rows come after the last one in the scan's direction.
                if let after {
                    if range.reverse { chunk.endBefore = after.key } else { chunk.startAfter = after.key }
                }
                chunk.limit = count
                return try reader.scan(table: table, range: chunk)
            }
            return .page(page, next: more ? page.last?.key : nil)

        case .conflicts(let table, let afterID, let limit):
            try servedTable(table)
            let (page, more) = try Self.boundedPage(limit: limit, bytes: { $0.key.bytes.count + ($0.overwritten.value?.canonicalBytes.count ?? 0) }) { after, count in
                try reader.conflicts(table: table, afterID: after?.id ?? afterID, limit: count)
            }
            return .conflicts(page, next: more ? page.last?.id : nil)

        case .clusterStatus:
            return .cluster(clusterStatus())

        case .changeRegions(let name, let regions):
            return try changeRegions(name, to: regions, writer: required(writer))

        case .changes(let table, let start, let limit):
            return try changesPage(table, from: start, limit: limit, reader: reader)

        case .repairTable(let table):
            return try repair(table, writer: required(writer))

        case .placement(let name):
            guard let definition = state.definition(name) else { throw MeridianError.tableNotFound(name) }
            var residue = try reader.residue(table: name)
            residue.reclaimPending = state.reclaimNeeded && !definition.regions.contains(local)
            return .placement(residue, listed: definition.regions.contains(local))
        }
    }

    /// Creates a table through the catalog group: answered once this region applied the
    /// committed definition (201), found an identical one (200), or found another (409).
    mutating func createTable(_ name: TableName, body: JSONValue, writer: any StorageWriter) throws -> RegionReply {
        guard !name.isReserved else {
            throw MeridianError.invalid("invalid_table_name", "table names starting with 'meridian_' are reserved for Meridian's own use")
        }
        let definition = try TableDefinition.resolve(name: name, body: body, clusterRegions: region.configuration.clusterRegions)
        let record = nextCatalogRecord(name, definition: definition)
        return try proposeCatalogChange(record, precondition: .absentOrIdentical, intent: .create)
    }

    mutating func changeRegions(_ name: TableName, to requested: [RegionID], writer: any StorageWriter) throws -> RegionReply {
        guard let existing = state.catalog[name], var definition = existing.definition else { throw MeridianError.tableNotFound(name) }
        let clusterRegions = region.configuration.clusterRegions
        guard !requested.isEmpty, Set(requested).count == requested.count else {
            throw MeridianError.invalid("invalid_definition", "'regions' must be a non-empty list of distinct regions")
        }
        if let unknown = requested.first(where: { !clusterRegions.contains($0) }) {
            throw MeridianError(.invalidArgument, code: "unknown_region", "region '\(unknown)' is not in this cluster; cluster regions: \(clusterRegions.map(\.name).joined(separator: ", "))")
        }
        definition.regions = requested.sorted()
        guard definition != existing.definition else { return .regionsChanged(definition) }
        if definition.mode != .multiPrimary {
            // The table's Raft group follows: its leader adds the new regions as learners,
            // promotes them once caught up, and removes the old ones, one step at a time.
            if let witness = definition.witness, definition.regions.contains(witness) {
                throw MeridianError.invalid("invalid_definition", "region '\(witness)' is the table's witness; a witness stores no items")
            }
            guard definition.votingRegions.count != 2 else {
                throw MeridianError.invalid("needs_third_region", "a \(definition.mode.rawValue) table over two regions cannot fail over automatically; list one region, at least three, or two and a witness")
            }
            if definition.mode == .primary, let primary = definition.primary, !definition.regions.contains(primary) {
                // The primary leaves the table: the first region of the new list leads instead.
                definition.primary = requested[0]
            }
        }
        let record = nextCatalogRecord(name, definition: definition)
        return try proposeCatalogChange(record, precondition: .liveAt(existing.version), intent: .changeRegions)
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
    /// Removes the table's damaged rows here and asks a connected region that holds it for
    /// a copy, which merges back every key (a damaged key's newest version included) the
    /// way a table added to this region is filled.
    mutating func repair(_ table: TableName, writer: any StorageWriter) throws -> RegionReply {
        let definition = try servedTable(table)
        guard definition.mode == .multiPrimary else {
            throw MeridianError.invalid("repair_unsupported",
                "table '\(table)' is \(definition.mode.rawValue): its rows are repaired by moving this region's data directory aside and starting the region again, which copies every table back from the other regions (docs/operations.md)")
        }
        let others = definition.regions.filter { $0 != local }
        guard !others.isEmpty else {
            throw MeridianError(.unavailable, code: "no_healthy_copy", "table '\(table)' is stored only in this region: no other region holds a copy to repair it from")
        }
        let removed = try writer.removeDamagedRows(table: table)
        state.copiesWanted[table] = 0
        requestWantedCopies()
        let source = others.first { state.replication.peers[$0]?.connected == true }
        return .repairing(table, removedRows: removed, source: source)
    }

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
