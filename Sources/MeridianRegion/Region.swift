// MeridianRegion owns one region's synchronous heart: the catalog of table definitions,
// the hybrid logical clock, and the execution of client requests against the storage
// protocol. The runtime (MeridianNode) and the simulator drive the same code.
//
// It must never do I/O itself, read a clock, draw from a global random source or use
// the concurrency runtime: storage arrives as a protocol, time as an argument.

import MeridianCore
import MeridianStorage

/// What a region needs to know about itself and its cluster.
public struct RegionConfiguration: Sendable {
    /// This region.
    public var id: RegionID
    /// Every region of the cluster, this one included.
    public var clusterRegions: [RegionID]
    /// How far ahead of local wall time a remote timestamp may be, in milliseconds.
    public var clockSkewMillisecondsMax: UInt64

    public init(id: RegionID, clusterRegions: [RegionID], clockSkewMillisecondsMax: UInt64 = Limits.clockSkewMillisecondsMaxDefault) {
        precondition(clusterRegions.contains(id), "a region belongs to its own cluster")
        self.id = id
        self.clusterRegions = clusterRegions
        self.clockSkewMillisecondsMax = clockSkewMillisecondsMax
    }
}

/// A client request, already parsed and validated at the edge.
public enum RegionRequest: Sendable, Equatable {
    case createTable(TableName, definition: JSONValue)
    case listTables
    case showTable(TableName)
    case deleteTable(TableName)
    case putItem(TableName, Key, JSONValue, WritePrecondition)
    case getItem(TableName, Key, ConsistencyLevel)
    case deleteItem(TableName, Key, WritePrecondition)
    case scan(TableName, ScanRange)

    /// Whether executing the request may change storage.
    public var isWrite: Bool {
        switch self {
        case .createTable, .deleteTable, .putItem, .deleteItem: return true
        case .listTables, .showTable, .getItem, .scan: return false
        }
    }
}

/// A table's definition and what this region holds of it.
public struct TableStatus: Sendable, Equatable {
    public var definition: TableDefinition
    /// Live items in this region (present only where it was counted).
    public var items: Int?
    /// Bytes of live keys and values in this region (present only where it was counted).
    public var bytes: Int?
}

/// The outcome of one successful request.
public enum RegionReply: Sendable, Equatable {
    /// A table definition was created (`created`) or an identical one already existed.
    case tableCreated(TableDefinition, created: Bool)
    case tables([TableStatus])
    case table(TableStatus)
    case tableDeleted
    /// A put was applied with this version.
    case written(Key, ItemVersion)
    /// An item read at the given consistency level.
    case item(StoredItem, servedAt: ConsistencyLevel)
    /// A delete left a tombstone with this version.
    case deleted(Key, ItemVersion)
    /// A scan page; `next` is the last key of the page when more items may follow.
    case page([StoredItem], next: Key?)
}

/// One region: catalog, clock and request execution over a storage.
///
/// Requests run in batches: a batch that contains a write runs in one storage write
/// transaction (one sync for many writes: group commit); a batch of reads runs against
/// one snapshot. Each request gets its own result; a storage failure fails every
/// request of its batch and applies none of them.
public final class Region {
    /// This region's configuration.
    public let configuration: RegionConfiguration
    private let storage: any RegionStorage
    private var clock: HybridLogicalClock
    /// Definitions as committed to storage.
    private var catalog: [TableName: TableDefinition]

    /// Opens a region over its storage, restoring the catalog and the clock's high-water mark.
    public init(configuration: RegionConfiguration, storage: any RegionStorage) throws {
        self.configuration = configuration
        self.storage = storage
        let (definitions, highWater) = try storage.read { reader in
            (try reader.tables(), try reader.metadata(MetadataName.clockHighWater).flatMap(UInt64.init(bigEndianBytes:)))
        }
        catalog = Dictionary(uniqueKeysWithValues: definitions.map { ($0.name, $0) })
        clock = HybridLogicalClock(latest: HLCTimestamp(rawValue: highWater ?? 0), clockSkewMillisecondsMax: configuration.clockSkewMillisecondsMax)
    }

    /// The greatest timestamp this region has issued or observed.
    public var latestTimestamp: HLCTimestamp { clock.latest }

    /// Runs one request on its own.
    public func execute(_ request: RegionRequest, wallMilliseconds: UInt64) -> Result<RegionReply, MeridianError> {
        execute([request], wallMilliseconds: wallMilliseconds)[0]
    }

    /// Runs a batch of requests, in order, and returns one result per request.
    public func execute(_ requests: [RegionRequest], wallMilliseconds: UInt64) -> [Result<RegionReply, MeridianError>] {
        var execution = Execution(region: configuration.id, clusterRegions: configuration.clusterRegions, catalog: catalog, clock: clock)
        do {
            let results: [Result<RegionReply, MeridianError>]
            if requests.contains(where: \.isWrite) {
                results = try storage.write { writer in
                    let results = try requests.map { try execution.run($0, reader: writer, writer: writer, wallMilliseconds: wallMilliseconds) }
                    if execution.clock.latest > clock.latest {
                        try writer.setMetadata(MetadataName.clockHighWater, execution.clock.latest.rawValue.bigEndianBytes)
                    }
                    return results
                }
            } else {
                results = try storage.read { reader in
                    try requests.map { try execution.run($0, reader: reader, writer: nil, wallMilliseconds: wallMilliseconds) }
                }
            }
            catalog = execution.catalog
            clock = execution.clock
            return results
        } catch {
            let failure = (error as? MeridianError) ?? .storageFailed("storage failed; nothing of this request was applied: \(error)")
            return requests.map { _ in .failure(failure) }
        }
    }
}

/// The state one batch works on; adopted by the region only when the batch commits.
struct Execution {
    let region: RegionID
    let clusterRegions: [RegionID]
    var catalog: [TableName: TableDefinition]
    var clock: HybridLogicalClock

    /// Runs one request. Expected failures become the request's result; anything else
    /// thrown (a storage failure) aborts the whole batch.
    mutating func run(_ request: RegionRequest, reader: any StorageReader, writer: (any StorageWriter)?, wallMilliseconds: UInt64) throws -> Result<RegionReply, MeridianError> {
        do {
            return .success(try reply(to: request, reader: reader, writer: writer, wallMilliseconds: wallMilliseconds))
        } catch let error as MeridianError where error.kind != .internalError {
            return .failure(error)
        }
    }

    private mutating func reply(to request: RegionRequest, reader: any StorageReader, writer: (any StorageWriter)?, wallMilliseconds: UInt64) throws -> RegionReply {
        switch request {
        case .createTable(let name, let body):
            let definition = try TableDefinition.resolve(name: name, body: body, clusterRegions: clusterRegions)
            if let existing = catalog[name] {
                guard existing == definition else {
                    throw MeridianError(.conflict, code: "table_exists", "table '\(name)' already exists with a different definition (mode \(existing.mode.rawValue), regions \(existing.regions.map(\.name)))")
                }
                return .tableCreated(existing, created: false)
            }
            try required(writer).putTable(definition)
            catalog[name] = definition
            return .tableCreated(definition, created: true)

        case .listTables:
            return .tables(catalog.values.sorted { $0.name < $1.name }.map { TableStatus(definition: $0) })

        case .showTable(let name):
            let definition = try servedTable(name)
            let size = try reader.tableSize(table: name)
            return .table(TableStatus(definition: definition, items: size.items, bytes: size.bytes))

        case .deleteTable(let name):
            guard catalog[name] != nil else { throw MeridianError.tableNotFound(name) }
            try required(writer).deleteTable(name)
            catalog[name] = nil
            return .tableDeleted

        case .putItem(let table, let key, let value, let precondition):
            try servedTable(table)
            try check(precondition, on: reader.item(table: table, key: key))
            let version = ItemVersion(timestamp: clock.now(wallMilliseconds: wallMilliseconds), origin: region)
            try required(writer).putItem(table: table, StoredItem(key: key, value: value, version: version))
            return .written(key, version)

        case .getItem(let table, let key, let consistency):
            let definition = try servedTable(table)
            if consistency == .strong && definition.mode == .multiPrimary {
                throw MeridianError.invalid("consistency_unavailable",
                    "table '\(table)' is multi-primary, which cannot serve consistency=strong; use a table with mode \"strong\" or \"primary\", or read with bounded, session or eventual consistency")
            }
            guard let item = try reader.item(table: table, key: key), !item.isTombstone else { throw MeridianError.itemNotFound }
            return .item(item, servedAt: consistency)

        case .deleteItem(let table, let key, let precondition):
            try servedTable(table)
            let current = try reader.item(table: table, key: key)
            try check(precondition, on: current)
            guard let current, !current.isTombstone else { throw MeridianError.itemNotFound }
            let version = ItemVersion(timestamp: clock.now(wallMilliseconds: wallMilliseconds), origin: region)
            try required(writer).putItem(table: table, StoredItem(key: current.key, value: nil, version: version))
            return .deleted(key, version)

        case .scan(let table, let range):
            try servedTable(table)
            var lookahead = range
            lookahead.limit = range.limit + 1
            let items = try reader.scan(table: table, range: lookahead)
            let page = Array(items.prefix(range.limit))
            return .page(page, next: items.count > range.limit ? page.last?.key : nil)
        }
    }

    /// The definition of a table this region serves.
    @discardableResult
    private func servedTable(_ name: TableName) throws(MeridianError) -> TableDefinition {
        guard let definition = catalog[name] else { throw MeridianError.tableNotFound(name) }
        guard definition.regions.contains(region) else {
            throw MeridianError(.misdirected, code: "table_not_in_region",
                "table '\(name)' is stored only in \(definition.regions.map(\.name).joined(separator: ", ")); send the request to one of those regions")
        }
        return definition
    }

    private func check(_ precondition: WritePrecondition, on current: StoredItem?) throws(MeridianError) {
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

    private func required(_ writer: (any StorageWriter)?) -> any StorageWriter {
        guard let writer else { preconditionFailure("a write request ran in a read-only batch") }
        return writer
    }
}
