import MeridianCore
import MeridianRegion
import MeridianStorage
import Testing

/// A reply that a test did not expect.
struct UnexpectedReply: Error, CustomStringConvertible {
    let reply: RegionReply
    var description: String { "unexpected reply \(reply)" }
}

extension Result where Failure == MeridianError {
    /// The error of a failed request; `nil` when it succeeded.
    var error: MeridianError? {
        if case .failure(let error) = self { return error }
        return nil
    }
}

/// One region of a small cluster over in-memory storage, with helpers that unwrap replies.
struct Fixture {
    static let usEast = try! RegionID("us-east")
    static let euWest = try! RegionID("eu-west")
    static let apSouth = try! RegionID("ap-south")
    static let table = try! TableName("t")

    let storage: any RegionStorage
    let region: Region

    init(storage: any RegionStorage = InMemoryStorage(), clusterRegions: [RegionID] = [usEast, euWest, apSouth]) throws {
        self.storage = storage
        // The fixture is one region of the cluster with no peers: it votes alone on the
        // catalog, so that it can create tables that name the other regions.
        var configuration = RegionConfiguration(id: Self.usEast, clusterRegions: clusterRegions)
        configuration.catalogVoters = [Self.usEast]
        region = try Region(configuration: configuration, storage: storage)
    }

    /// Creates a table with the given definition body, failing the test when it is refused.
    func createTable(_ name: TableName = table, _ fields: [String: JSONValue] = [:], wallMilliseconds: UInt64 = 1_000) throws {
        let reply = try region.execute(.createTable(name, definition: .object(fields)), wallMilliseconds: wallMilliseconds).get()
        guard case .tableCreated(_, created: true) = reply else { throw UnexpectedReply(reply: reply) }
    }

    func put(_ key: String, _ value: JSONValue, _ precondition: WritePrecondition = .none, table: TableName = table,
             wallMilliseconds: UInt64 = 1_000) -> Result<RegionReply, MeridianError> {
        region.execute(.putItem(table, try! Key(key), value, precondition), wallMilliseconds: wallMilliseconds)
    }

    /// Puts an item and returns its new version, failing the test when the put is refused.
    func putVersion(_ key: String, _ value: JSONValue, _ precondition: WritePrecondition = .none, wallMilliseconds: UInt64 = 1_000) throws -> ItemVersion {
        let reply = try put(key, value, precondition, wallMilliseconds: wallMilliseconds).get()
        guard case .written(_, let version, _) = reply else { throw UnexpectedReply(reply: reply) }
        return version
    }

    func get(_ key: String, _ consistency: ConsistencyLevel = .eventual, table: TableName = table) -> Result<RegionReply, MeridianError> {
        region.execute(.getItem(table, try! Key(key), consistency), wallMilliseconds: 1_000)
    }

    /// Reads an item, failing the test when the read is refused.
    func item(_ key: String) throws -> StoredItem {
        let reply = try get(key).get()
        guard case .item(let item, _) = reply else { throw UnexpectedReply(reply: reply) }
        return item
    }

    func delete(_ key: String, _ precondition: WritePrecondition = .none, wallMilliseconds: UInt64 = 1_000) -> Result<RegionReply, MeridianError> {
        region.execute(.deleteItem(Self.table, try! Key(key), precondition), wallMilliseconds: wallMilliseconds)
    }

    /// The names of the tables in the region's catalog.
    func tableNames() throws -> [TableName] {
        let reply = try region.execute(.listTables, wallMilliseconds: 1_000).get()
        guard case .tables(let tables) = reply else { throw UnexpectedReply(reply: reply) }
        return tables.map(\.definition.name)
    }
}

/// Storage whose write transactions fail at commit while `failsWrites` is set: the body
/// runs, then the transaction is rolled back and an error thrown. Reads always work.
final class FailingWriteStorage: RegionStorage {
    struct DiskFull: Error {}

    let inner = InMemoryStorage()
    var failsWrites = true

    func read<T>(_ body: (any StorageReader) throws -> T) throws -> T {
        try inner.read(body)
    }

    func write<T>(_ body: (any StorageWriter) throws -> T) throws -> T {
        guard failsWrites else { return try inner.write(body) }
        return try inner.write { writer -> T in
            _ = try body(writer)
            throw DiskFull()
        }
    }

    func reclaimSpace() throws {}
}

/// In-memory storage whose first `busyReclaimsLeft` reclaims fail, as SQLite's truncating
/// checkpoint does while a reader holds an older snapshot.
final class BusyReclaimStorage: RegionStorage {
    struct Busy: Error {}

    let inner = InMemoryStorage()
    var busyReclaimsLeft: Int
    private(set) var reclaims = 0

    init(busyReclaimsLeft: Int) { self.busyReclaimsLeft = busyReclaimsLeft }

    func read<T>(_ body: (any StorageReader) throws -> T) throws -> T { try inner.read(body) }
    func write<T>(_ body: (any StorageWriter) throws -> T) throws -> T { try inner.write(body) }

    func reclaimSpace() throws {
        if busyReclaimsLeft > 0 {
            busyReclaimsLeft -= 1
            throw Busy()
        }
        reclaims += 1
    }
}
