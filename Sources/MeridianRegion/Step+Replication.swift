import MeridianCore
import MeridianReplication
import MeridianStorage

/// Messages from peers: catch-up requests, acknowledgements, heartbeats, entries, snapshots.
extension Step {
    mutating func receive(_ message: PeerMessage, from peer: RegionID, reader: any StorageReader, writer: (any StorageWriter)?) throws {
        switch message {
        case .catchUp(let positions):
            state.replication.receivedCatchUp(from: peer, positions: positions, nowMilliseconds: wallMilliseconds)
        case .ack(let positions):
            state.replication.receivedAcknowledgement(from: peer, positions: positions, nowMilliseconds: wallMilliseconds)
        case .heartbeat(let heartbeat):
            state.replication.receivedHeartbeat(from: peer, heartbeat, nowMilliseconds: wallMilliseconds)
        case .entries(let entries):
            try receive(entries, writer: required(writer))
        case .snapshot(let chunk):
            try receive(chunk, from: peer, writer: required(writer))
        }
    }

    /// Applies the entries that are next for their origin; duplicates are ignored and an
    /// entry after a gap is dropped (the sender retransmits).
    mutating func receive(_ entries: [LogEntry], writer: any StorageWriter) throws {
        var blockedOrigins: Set<RegionID> = []
        for entry in entries {
            guard entry.origin != local, region.configuration.clusterRegions.contains(entry.origin),
                  !blockedOrigins.contains(entry.origin),
                  state.replication.disposition(of: entry) == .apply
            else { continue }
            do {
                try state.clock.observe(entry.timestamp, wallMilliseconds: wallMilliseconds)
            } catch {
                // Never adopt a timestamp too far ahead: leave the entry unapplied (it is
                // sent again, and accepted once local time catches up) and skip its successors.
                state.counters.clockSkewRejections += 1
                blockedOrigins.insert(entry.origin)
                continue
            }
            let stored = try apply(entry, writer: writer)
            try writer.appendLog(stored)
            try writer.setApplied(origin: entry.origin, sequence: entry.sequence)
            state.replication.didApply(entry)
            state.counters.entriesApplied += 1
            state.acknowledgementOwed = true
            recordApplyDelay(origin: entry.origin, timestamp: entry.timestamp)
        }
    }

    /// Applies one entry's change; returns the entry as this region stores it for relay
    /// (withheld when its table may not be stored here).
    mutating func apply(_ entry: LogEntry, writer: any StorageWriter) throws -> LogEntry {
        switch entry.payload {
        case .catalog(let record):
            try mergeCatalog(record, writer: writer)
            return entry
        case .withheld:
            return entry
        case .item(let tableRecord, let key, let record):
            let table = try mergeCatalog(tableRecord, writer: writer)
            guard try applyItem(table: table, key: key, record: record, writer: writer) else {
                var withheld = entry
                withheld.payload = .withheld(table: table.name)
                return withheld
            }
            return entry
        }
    }

    /// Merges a remote item record; returns false when the table may not be stored here
    /// (the record is refused and nothing of it persisted).
    mutating func applyItem(table: CatalogRecord, key: Key, record: ItemRecord, writer: any StorageWriter) throws -> Bool {
        guard let definition = table.definition else { return true }  // the table was deleted: the write is moot
        guard definition.regions.contains(local) else {
            state.counters.residencyRefusals += 1
            return false
        }
        guard record.version.timestamp >= table.deletedBefore else { return true }  // an older incarnation's write
        let policy = definition.conflict ?? .lww
        guard record.satisfiesInvariants(of: policy) else {
            // A malformed record (a bug or a hostile peer) must not reach the merge, whose
            // preconditions it would break: it is refused, counted, and nothing persisted.
            state.counters.invalidRecords += 1
            return true
        }
        let current = try writer.item(table: table.name, key: key)
        let (merged, overwritten) = ConflictResolution.merge(local: current?.record, remote: record, policy: policy)
        if merged != current?.record {
            try writer.putItem(table: table.name, StoredItem(key: key, record: merged))
        }
        try recordConflicts(overwritten, table: table.name, key: key, writer: writer)
        return true
    }

    mutating func recordApplyDelay(origin: RegionID, timestamp: HLCTimestamp) {
        let delay = wallMilliseconds > timestamp.physicalMilliseconds ? wallMilliseconds - timestamp.physicalMilliseconds : 0
        var samples = state.applyDelays[origin] ?? []
        if samples.count >= RegionState.applyDelaySamplesMax { samples.removeFirst(samples.count - RegionState.applyDelaySamplesMax + 1) }
        samples.append(delay)
        state.applyDelays[origin] = samples
    }

    /// Applies a snapshot chunk; the final one moves the applied positions.
    mutating func receive(_ chunk: SnapshotChunk, from peer: RegionID, writer: any StorageWriter) throws {
        if !chunk.catalog.isEmpty || state.incomingSnapshots[peer] == nil {
            state.incomingSnapshots[peer] = chunk.transfer
        }
        guard state.incomingSnapshots[peer] == chunk.transfer else { return }
        for record in chunk.catalog { try mergeCatalog(record, writer: writer) }
        for item in chunk.items {
            guard let table = state.catalog[item.table] else { continue }
            do {
                try state.clock.observe(item.record.version.timestamp, wallMilliseconds: wallMilliseconds)
            } catch {
                state.counters.clockSkewRejections += 1
                continue
            }
            _ = try applyItem(table: table, key: item.key, record: item.record, writer: writer)
        }
        guard chunk.isFinal else { return }
        state.incomingSnapshots[peer] = nil
        let before = state.replication.applied
        state.replication.installedSnapshot(positions: chunk.positions)
        for (origin, sequence) in state.replication.applied.sequences where origin != local && sequence > before[origin] {
            try writer.setApplied(origin: origin, sequence: sequence)
            // Entries kept from before the jump no longer join up with what follows.
            try writer.truncateLog(origin: origin, through: sequence)
        }
        state.counters.snapshotsInstalled += 1
        state.acknowledgementOwed = true
    }
}
