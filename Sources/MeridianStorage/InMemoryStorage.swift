import MeridianCore

/// Storage held in memory: for tests and the simulator.
///
/// A write transaction works on a copy of the state and replaces the state only when
/// its body returns, so a body that throws leaves nothing behind.
public final class InMemoryStorage: RegionStorage {
    struct State {
        var definitions: [TableName: TableDefinition] = [:]
        var items: [TableName: [Key: StoredItem]] = [:]
        var metadata: [String: [UInt8]] = [:]
    }

    private var state = State()

    /// Makes empty storage.
    public init() {}

    public func read<T>(_ body: (any StorageReader) throws -> T) throws -> T {
        try body(Snapshot(state: state))
    }

    public func write<T>(_ body: (any StorageWriter) throws -> T) throws -> T {
        let transaction = Transaction(state: state)
        let result = try body(transaction)
        state = transaction.state
        return result
    }
}

extension InMemoryStorage {
    struct Snapshot: StorageReader {
        let state: State

        func tables() throws -> [TableDefinition] {
            state.definitions.values.sorted { $0.name < $1.name }
        }

        func item(table: TableName, key: Key) throws -> StoredItem? {
            state.items[table]?[key]
        }

        func scan(table: TableName, range: ScanRange) throws -> [StoredItem] {
            guard let items = state.items[table] else { return [] }
            let matching = items.values.filter { range.contains($0.key) && (range.includeTombstones || !$0.isTombstone) }
            return Array(matching.sorted { $0.key < $1.key }.prefix(range.limit))
        }

        func tableSize(table: TableName) throws -> (items: Int, bytes: Int) {
            let live = (state.items[table] ?? [:]).values.filter { !$0.isTombstone }
            return (live.count, live.reduce(0) { $0 + $1.key.bytes.count + ($1.value?.canonicalBytes.count ?? 0) })
        }

        func metadata(_ name: String) throws -> [UInt8]? { state.metadata[name] }
    }

    final class Transaction: StorageWriter {
        var state: State
        init(state: State) { self.state = state }

        private var snapshot: Snapshot { Snapshot(state: state) }
        func tables() throws -> [TableDefinition] { try snapshot.tables() }
        func item(table: TableName, key: Key) throws -> StoredItem? { state.items[table]?[key] }
        func scan(table: TableName, range: ScanRange) throws -> [StoredItem] { try snapshot.scan(table: table, range: range) }
        func tableSize(table: TableName) throws -> (items: Int, bytes: Int) { try snapshot.tableSize(table: table) }
        func metadata(_ name: String) throws -> [UInt8]? { state.metadata[name] }

        func putTable(_ definition: TableDefinition) throws { state.definitions[definition.name] = definition }
        func deleteTable(_ name: TableName) throws {
            state.definitions[name] = nil
            state.items[name] = nil
        }
        func putItem(table: TableName, _ item: StoredItem) throws { state.items[table, default: [:]][item.key] = item }
        func setMetadata(_ name: String, _ value: [UInt8]) throws { state.metadata[name] = value }
    }
}
