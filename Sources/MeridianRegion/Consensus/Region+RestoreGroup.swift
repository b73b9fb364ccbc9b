import MeridianCore
@_spi(Simulation) import MeridianRaft
import MeridianStorage

extension Region {
    /// A group as persisted (`isNew` when nothing was).
    static func restoreGroup(record: CatalogRecord, definition: TableDefinition, configuration: RegionConfiguration,
                             joining: Bool = false, initialLearners: [RegionID] = [], reader: any StorageReader) throws -> (group: RaftGroup, isNew: Bool) {
        let table = record.name
        let hardState = try reader.metadata(RaftMetadata.hardState(table)).flatMap { $0.isEmpty ? nil : $0 }
            .map(RaftCodec.decodeHardState) ?? .zero
        let entries = try reader.raftEntries(group: RaftMetadata.group(table), from: 0, limit: Int.max).map { try RaftCodec.decodeEntry($0.bytes) }
        // The members as this region last persisted them; a group of an earlier build (which
        // had no membership changes) has the table's regions, and a new group its initial
        // members (`joining`: this region joins a group that already runs, as a learner).
        let persisted = RaftCodec.decodeMembership(try reader.metadata(RaftMetadata.membership(table)))
        let (membership, membershipIndex) = persisted
            ?? (initialLearners.isEmpty ? initialMembership(definition, local: configuration.id, joining: joining)
                : RaftMembership(voters: definition.votingRegions.map(\.name), learners: initialLearners.map(\.name)), 0)
        // The log starts after the point it was compacted through (or a snapshot installed).
        var snapshot: RaftSnapshot?
        if let mark = RaftCodec.decodeMark(try reader.metadata(RaftMetadata.snapshot(table))) {
            snapshot = RaftSnapshot(index: mark.index, term: mark.term, membership: membership, data: [])
        }
        let applied = try reader.metadata(RaftMetadata.applied(table)).flatMap(UInt64.init(bigEndianBytes:)) ?? 0
        let speculative = try reader.metadata(RaftMetadata.speculative(table)).flatMap(UInt64.init(bigEndianBytes:)) ?? 0
        var raft = RaftConfiguration(id: configuration.id.name, voters: membership.voters, learners: membership.learners,
                                     randomSeed: configuration.raft.randomSeed ^ stableHash(table.name.utf8) ^ stableHash(configuration.id.name.utf8).rotated ^ record.deletedBefore.rawValue)
        raft.membershipIndex = max(membershipIndex, snapshot?.index ?? 0)
        raft.electionTicks = configuration.raft.electionTicks
        raft.heartbeatTicks = configuration.raft.heartbeatTicks
        raft.readOnly = configuration.raft.readOnly
        raft.fault = configuration.raft.fault
        // Entries applied ahead of their commit are not applied as far as Raft knows.
        var node = RaftNode(configuration: raft, hardState: hardState, entries: entries, snapshot: snapshot, applied: min(applied, hardState.commit))
        // A group this region votes in alone leads at once: no one else can.
        if node.status.membership.voters == [configuration.id.name] { node.campaign() }
        let group = RaftGroup(node: node, incarnation: record.deletedBefore, definition: definition,
                              persistedLastIndex: entries.last?.index ?? snapshot?.index ?? 0, appliedIndex: applied, speculativeThrough: speculative,
                              lastRole: .follower, lastLeader: nil)
        return (group, hardState == .zero && entries.isEmpty)
    }

    /// The members a new group starts with: every region of the table votes; a region that
    /// joins a running group starts as a learner beside the other regions (it learns the
    /// group's real members from the leader's log or snapshot, and votes only once the
    /// leader promotes it).
    static func initialMembership(_ definition: TableDefinition, local: RegionID, joining: Bool) -> RaftMembership {
        let regions = definition.votingRegions.map(\.name)
        guard joining, regions.contains(local.name), regions.count > 1 else { return RaftMembership(voters: regions) }
        return RaftMembership(voters: regions.filter { $0 != local.name }, learners: [local.name])
    }
}
