import MeridianCore
@_spi(Simulation) import MeridianRaft
import MeridianStorage

extension Region {
    /// A group as persisted (`isNew` when nothing was).
    static func restoreGroup(record: CatalogRecord, definition: TableDefinition, configuration: RegionConfiguration,
                             reader: any StorageReader) throws -> (group: RaftGroup, isNew: Bool) {
        let table = record.name
        let hardState = try reader.metadata(RaftMetadata.hardState(table)).flatMap { $0.isEmpty ? nil : $0 }
            .map(RaftCodec.decodeHardState) ?? .zero
        let entries = try reader.raftEntries(group: RaftMetadata.group(table), from: 0, limit: Int.max).map { try RaftCodec.decodeEntry($0.bytes) }
        // The log starts after the point it was compacted through (or a snapshot installed).
        var snapshot: RaftSnapshot?
        if let mark = RaftCodec.decodeMark(try reader.metadata(RaftMetadata.snapshot(table))) {
            snapshot = RaftSnapshot(index: mark.index, term: mark.term, voters: definition.regions.map(\.name), data: [])
        }
        let applied = try reader.metadata(RaftMetadata.applied(table)).flatMap(UInt64.init(bigEndianBytes:)) ?? 0
        let speculative = try reader.metadata(RaftMetadata.speculative(table)).flatMap(UInt64.init(bigEndianBytes:)) ?? 0
        var raft = RaftConfiguration(id: configuration.id.name, voters: definition.regions.map(\.name),
                                     randomSeed: configuration.raft.randomSeed ^ stableHash(table.name.utf8) ^ stableHash(configuration.id.name.utf8).rotated ^ record.deletedBefore.rawValue)
        raft.electionTicks = configuration.raft.electionTicks
        raft.heartbeatTicks = configuration.raft.heartbeatTicks
        raft.readOnly = configuration.raft.readOnly
        raft.fault = configuration.raft.fault
        // Entries applied ahead of their commit are not applied as far as Raft knows.
        let node = RaftNode(configuration: raft, hardState: hardState, entries: entries, snapshot: snapshot, applied: min(applied, hardState.commit))
        let group = RaftGroup(node: node, incarnation: record.deletedBefore, definition: definition,
                              persistedLastIndex: entries.last?.index ?? snapshot?.index ?? 0, appliedIndex: applied, speculativeThrough: speculative,
                              lastRole: .follower, lastLeader: nil)
        return (group, hardState == .zero && entries.isEmpty)
    }
}
