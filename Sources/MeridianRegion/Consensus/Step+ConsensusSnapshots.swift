import MeridianCore
import MeridianRaft
import MeridianReplication
import MeridianStorage

/// Log compaction, and snapshots: made by a leader for a region it compacted past,
/// installed by that region.
extension Step {
    /// Replaces the table's items with a leader's snapshot.
    mutating func installSnapshot(_ snapshot: RaftSnapshot, group: inout RaftGroup, writer: any StorageWriter) throws {
        let table = group.table
        if table == CatalogGroup.name {
            try installCatalogSnapshot(snapshot.data, writer: writer)
        } else if group.isWitness(local) {
            // A witness takes the snapshot's place in the log, and none of its items.
        } else {
            guard let items = RaftCodec.decodeSnapshotItems(snapshot.data) else {
                state.counters.invalidRecords += 1
                return
            }
            try writer.deleteItems(table: table, writtenBefore: HLCTimestamp.incarnationsEnd)
            for item in items {
                state.clock.advance(past: item.version.timestamp)
                try writer.putItem(table: table, item)
            }
        }
        try writer.deleteRaftEntries(group: RaftMetadata.group(table), through: .max)
        group.appliedIndex = snapshot.index
        group.speculativeThrough = 0
        group.persistedLastIndex = snapshot.index
        try writer.setMetadata(RaftMetadata.applied(table), snapshot.index.bigEndianBytes)
        try writer.setMetadata(RaftMetadata.speculative(table), [])
        try writer.setMetadata(RaftMetadata.snapshot(table), RaftCodec.encodeMark(index: snapshot.index, term: snapshot.term))
        state.counters.snapshotsInstalled += 1
    }


    /// Drops the oldest applied entries of a group's log once it holds more than
    /// `logEntriesRetainedMax`. A leader keeps what a live follower still needs, up to
    /// `logEntriesRetainedHardMax` entries; a region further behind gets a snapshot.
    mutating func compactIfNeeded(_ table: TableName, writer: any StorageWriter) throws {
        guard var group = state.consensus.groups.removeValue(forKey: table) else { return }
        defer { state.consensus.groups[table] = group }
        let settings = region.configuration.raft
        let status = group.node.status
        guard status.lastIndex >= status.firstIndex, status.lastIndex - status.firstIndex + 1 > UInt64(settings.logEntriesRetainedMax) else { return }
        let appliedCommitted = min(group.appliedIndex, status.commit)
        var through = appliedCommitted > UInt64(settings.logEntriesRetainedMax / 2) ? appliedCommitted - UInt64(settings.logEntriesRetainedMax / 2) : 0
        if status.role == .leader, let slowest = status.match.values.min() {
            let hardBound = status.lastIndex > UInt64(settings.logEntriesRetainedHardMax) ? status.lastIndex - UInt64(settings.logEntriesRetainedHardMax) : 0
            through = min(through, max(slowest, hardBound))
        }
        guard through >= status.firstIndex else { return }
        guard let term = try storedTerm(table, at: through, reader: writer) else { return }
        group.node.compact(through: through, snapshotData: [])
        try writer.deleteRaftEntries(group: RaftMetadata.group(table), through: through)
        try writer.setMetadata(RaftMetadata.snapshot(table), RaftCodec.encodeMark(index: through, term: term))
    }

    /// The term of the entry at `index` of a table's log: from the stored log, or from the
    /// point it was compacted through; `nil` when neither has it.
    func storedTerm(_ table: TableName, at index: UInt64, reader: any StorageReader) throws -> UInt64? {
        if let stored = try reader.raftEntries(group: RaftMetadata.group(table), from: index, limit: 1).first, stored.index == index {
            return try RaftCodec.decodeEntry(stored.bytes).term
        }
        guard let mark = RaftCodec.decodeMark(try reader.metadata(RaftMetadata.snapshot(table))), mark.index == index else { return nil }
        return mark.term
    }

    /// A leader's snapshot message for a region that needs entries it compacted: the
    /// table's items as applied, at the applied index (never ahead of the commit).
    /// `nil` when it cannot be made now (entries applied ahead of their commit, or a table
    /// too large for one frame): the leader offers it again on a later heartbeat.
    mutating func filledSnapshot(_ message: RaftMessage, group: RaftGroup, writer: any StorageWriter) throws -> RaftMessage? {
        let table = group.table
        let status = group.node.status
        guard group.speculativeThrough == 0, group.appliedIndex <= status.commit, group.appliedIndex > 0, !group.isWitness(local) else { return nil }
        let index = group.appliedIndex
        guard let term = try storedTerm(table, at: index, reader: writer) else { return nil }
        if table == CatalogGroup.name {
            var filled = message
            filled.snapshot = RaftSnapshot(index: index, term: term, membership: status.membership, data: catalogSnapshotData())
            return filled
        }
        let items = try writer.scan(table: table, range: ScanRange(limit: RaftSettings.snapshotItemsMax + 1, includeTombstones: true))
        let data = RaftCodec.encodeSnapshotItems(items)
        guard items.count <= RaftSettings.snapshotItemsMax, data.count <= RaftSettings.snapshotBytesMax else {
            state.consensus.counters.snapshotsTooLarge += 1
            return nil
        }
        var filled = message
        filled.snapshot = RaftSnapshot(index: index, term: term, membership: status.membership, data: data)
        return filled
    }
}
