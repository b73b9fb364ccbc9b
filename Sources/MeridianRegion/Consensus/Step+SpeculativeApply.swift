import MeridianCore
import MeridianRaft
import MeridianReplication
import MeridianStorage

/// `commit: "local"`: entries a leader applied ahead of their commit, and what happens when
/// a new leader's log replaces them (undone and kept in the divergence ledger).
extension Step {
    /// A new leader's log replaces entries from `index` on. Entries this region applied ahead
    /// of their commit (and acknowledged) are undone, newest first, and recorded in the
    /// table's divergence ledger: never dropped silently.
    mutating func divergeSpeculativeEntries(from index: UInt64, replacedInTerm: UInt64, group: inout RaftGroup, writer: any StorageWriter) throws {
        let table = group.table
        guard group.speculativeThrough >= index else {
            precondition(group.appliedIndex < index, "a committed entry is never replaced")
            return
        }
        let replaced = try writer.raftEntries(group: RaftMetadata.group(table), from: index, limit: Int(group.speculativeThrough - index + 1))
        for stored in replaced.reversed() {
            let entry = try RaftCodec.decodeEntry(stored.bytes)
            guard entry.kind == .normal, let command = RaftCommand(bytes: entry.data) else { continue }
            if let undo = try writer.metadata(RaftMetadata.undo(table, entry.index)), let previous = RaftCodec.decodeUndo(undo) {
                let restored = previous ?? StoredItem(key: command.key, value: nil, version: command.version)
                try writer.putItem(table: table, restored)
                try writer.appendDivergence(table: table, DivergenceEntry(
                    key: command.key, value: command.isDelete ? nil : command.value, version: command.version,
                    index: entry.index, term: entry.term, replacedInTerm: replacedInTerm, detectedBy: local))
                try writer.setMetadata(RaftMetadata.undo(table, entry.index), [])
                state.consensus.counters.divergedWrites += 1
            }
        }
        group.appliedIndex = min(group.appliedIndex, index - 1)
        group.speculativeThrough = index - 1
        try writer.setMetadata(RaftMetadata.applied(table), group.appliedIndex.bigEndianBytes)
        try writer.setMetadata(RaftMetadata.speculative(table), group.speculativeThrough.bigEndianBytes)
    }
}
