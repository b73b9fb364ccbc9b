@_spi(Simulation) import MeridianRaft

/// What a node's caller made durable from its Readies: all that survives a restart.
struct SimulatedStorage {
    var hardState = RaftHardState.zero
    var snapshot: RaftSnapshot?
    var entries: [RaftEntry] = []

    mutating func persist(_ ready: RaftReady) {
        if let snapshot = ready.snapshot {
            self.snapshot = snapshot
            entries = []
        }
        if let first = ready.entries.first {
            entries.removeAll { $0.index >= first.index }
            entries.append(contentsOf: ready.entries)
        }
        if let hardState = ready.hardState { self.hardState = hardState }
    }

    /// Drops persisted entries through `index`, keeping `snapshot` instead.
    mutating func compact(through index: UInt64, voters: [RaftNodeID], data: [UInt8]) {
        guard index > (snapshot?.index ?? 0), let entry = entries.first(where: { $0.index == index }) else { return }
        snapshot = RaftSnapshot(index: index, term: entry.term, voters: voters, data: data)
        entries.removeAll { $0.index <= index }
    }
}

/// A node with its durable storage and applied state, as the database would host it.
struct SimulatedNode {
    let configuration: RaftConfiguration
    var node: RaftNode
    var storage = SimulatedStorage()
    /// The data of every entry applied, by index (a snapshot install replaces it wholesale).
    var appliedIndex: UInt64 = 0

    init(configuration: RaftConfiguration) {
        self.configuration = configuration
        node = RaftNode(configuration: configuration, hardState: .zero, entries: [], snapshot: nil, applied: 0)
    }

    /// Loses everything not persisted and starts again from storage.
    mutating func restart() {
        appliedIndex = storage.snapshot?.index ?? 0
        node = RaftNode(configuration: configuration, hardState: storage.hardState, entries: storage.entries, snapshot: storage.snapshot, applied: appliedIndex)
    }

    /// Handles one Ready the way the database must: persist, then hand back what to send,
    /// apply and serve.
    mutating func handleReady() -> RaftReady? {
        guard node.hasReady else { return nil }
        let ready = node.ready()
        storage.persist(ready)
        if let snapshot = ready.snapshot { appliedIndex = snapshot.index }
        if let last = ready.committedEntries.last { appliedIndex = last.index }
        node.advance(ready)
        return ready
    }
}
