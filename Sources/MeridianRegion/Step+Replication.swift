import MeridianCore
import MeridianReplication
import MeridianStorage

/// Messages from peers: catch-up requests, acknowledgements, heartbeats, entries, snapshots.
extension Step {
    mutating func receive(_ message: PeerMessage, from peer: RegionID, reader: any StorageReader, writer: (any StorageWriter)?) throws {
        switch message {
        case .replication(let message):
            try receive(message, from: peer, reader: reader, writer: writer)
        case .raft(let envelopes):
            try receiveRaft(envelopes, from: peer, writer: required(writer))
        }
    }

    mutating func receive(_ message: ReplicationMessage, from peer: RegionID, reader: any StorageReader, writer: (any StorageWriter)?) throws {
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
        case .copyRequest(let table):
            // Only a holder sends a copy, and only to a region the table lists.
            guard let regions = state.definition(table)?.regions, regions.contains(local), regions.contains(peer) else { return }
            state.replication.beginTableCopy(to: peer, table: table)
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
            guard record.version.timestamp <= entry.timestamp, record.deletedBefore <= entry.timestamp else {
                state.counters.invalidRecords += 1
                return entry
            }
            try mergeCatalog(record, writer: writer)
            return entry
        case .withheld(let table):
            // Withheld by a sender that did not yet know this region holds the table:
            // the data must come from a copy.
            if state.definition(table)?.regions.contains(local) == true, state.copiesWanted[table] == nil {
                state.copiesWanted[table] = 0
            }
            return entry
        case .item(let tableRecord, let key, let record):
            // Every timestamp inside an entry was issued no later than the entry itself, whose
            // timestamp passed the skew check: anything else is refused, never adopted.
            guard tableRecord.version.timestamp <= entry.timestamp, tableRecord.deletedBefore <= entry.timestamp,
                  Self.latestTimestamp(in: record) <= entry.timestamp, Self.hasBoundedCounts(record) else {
                state.counters.invalidRecords += 1
                return entry
            }
            let table = try mergeCatalog(tableRecord, writer: writer)
            guard try applyItem(table: table, incarnation: tableRecord.deletedBefore, key: key, record: record, writer: writer) else {
                var withheld = entry
                withheld.payload = .withheld(table: table.name)
                return withheld
            }
            return entry
        }
    }

    /// The largest count a version vector may carry from a peer: far beyond any real
    /// history, far below overflow when incremented.
    static let vectorCountMax: UInt64 = 1 << 48

    static func hasBoundedCounts(_ record: ItemRecord) -> Bool {
        record.vector.counts.values.allSatisfy { $0 <= vectorCountMax }
            && record.siblings.allSatisfy { $0.dot.counter <= vectorCountMax }
    }

    /// The greatest timestamp a record mentions.
    static func latestTimestamp(in record: ItemRecord) -> HLCTimestamp {
        var latest = record.version.timestamp
        for field in record.fields.values { latest = max(latest, field.version.timestamp) }
        for sibling in record.siblings { latest = max(latest, sibling.version.timestamp) }
        return latest
    }

    /// Merges a remote item record written under the incarnation that `incarnation`
    /// (the table's `deletedBefore` when it was written) names; returns false when the
    /// table may not be stored here (the record is refused and nothing of it persisted).
    mutating func applyItem(table: CatalogRecord, incarnation: HLCTimestamp, key: Key, record: ItemRecord, writer: any StorageWriter) throws -> Bool {
        guard let definition = table.definition else { return true }  // the table was deleted: the write is moot
        guard definition.regions.contains(local) else {
            state.counters.residencyRefusals += 1
            return false
        }
        guard incarnation >= table.deletedBefore else { return true }  // written before the table was deleted
        let policy = definition.conflict ?? .lww
        let current = try writer.item(table: table.name, key: key)
        // Records written under another policy (two regions created the table concurrently
        // with different policies) are re-expressed under the winning one, not dropped.
        let local = current?.record.map { ConflictResolution.normalized($0, for: policy) }
        let remote = ConflictResolution.normalized(record, for: policy)
        guard let (merged, overwritten) = ConflictResolution.validatedMerge(local: local, remote: remote, policy: policy) else {
            // A record that cannot join (a bug or a hostile peer) is refused and counted.
            state.counters.invalidRecords += 1
            return true
        }
        if merged != current?.record {
            try writer.putItem(table: table.name, StoredItem(key: key, record: merged))
        }
        try recordConflicts(overwritten, table: table.name, key: key, writer: writer)
        return true
    }

    mutating func recordApplyDelay(origin: RegionID, timestamp: HLCTimestamp) {
        let delay = wallMilliseconds > timestamp.physicalMilliseconds ? wallMilliseconds - timestamp.physicalMilliseconds : 0
        state.applyDelays[origin, default: DelaySamples()].append(delay)
    }

    /// Applies a snapshot chunk. Chunks must arrive in order from index 0; a missing or
    /// refused chunk abandons the transfer, whose positions are then never installed (the
    /// sender starts another when this region still lacks entries it no longer holds).
    mutating func receive(_ chunk: SnapshotChunk, from peer: RegionID, writer: any StorageWriter) throws {
        if chunk.index == 0 {
            state.incomingSnapshots[peer] = IncomingSnapshot(transfer: chunk.transfer, nextIndex: 0, abandoned: false)
        }
        guard var incoming = state.incomingSnapshots[peer], incoming.transfer == chunk.transfer, !incoming.abandoned else { return }
        guard chunk.index == incoming.nextIndex else {
            incoming.abandoned = true
            state.incomingSnapshots[peer] = incoming
            return
        }
        incoming.nextIndex += 1
        state.incomingSnapshots[peer] = incoming
        for record in chunk.catalog {
            guard observe(record.version.timestamp), observe(record.deletedBefore) else { return abandon(peer) }
            try mergeCatalog(record, writer: writer)
        }
        for item in chunk.items {
            guard let table = state.catalog[item.table] else { continue }
            guard observe(Self.latestTimestamp(in: item.record)), Self.hasBoundedCounts(item.record) else { return abandon(peer) }
            _ = try applyItem(table: table, incarnation: table.deletedBefore, key: item.key, record: item.record, writer: writer)
        }
        guard chunk.isFinal else { return }
        state.incomingSnapshots[peer] = nil
        if chunk.positions.sequences.isEmpty {
            // A table copy: it moves no positions.
            for record in chunk.catalog { state.copiesWanted[record.name] = nil }
            return
        }
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

    /// Folds a timestamp from a snapshot into the clock; false (and counted) when it is too far ahead.
    mutating func observe(_ timestamp: HLCTimestamp) -> Bool {
        do {
            try state.clock.observe(timestamp, wallMilliseconds: wallMilliseconds)
            return true
        } catch {
            state.counters.clockSkewRejections += 1
            return false
        }
    }

    mutating func abandon(_ peer: RegionID) {
        state.incomingSnapshots[peer]?.abandoned = true
    }
}
