import MeridianCore
import MeridianReplication
import MeridianStorage

/// Streaming this region's logs (its own and relayed ones) and snapshots to peers.
extension Region {
    /// The most snapshot chunks produced for one peer in one tick: chunks are paced by
    /// ticks so that a transfer never floods the transport's bounded queue.
    static let snapshotChunksPerStepMax = 1
    /// The most bytes of item values in one snapshot chunk (estimated from canonical JSON),
    /// so that a chunk stays well inside the wire's frame limit.
    static let snapshotChunkValueBytesMax = 1 << 20

    /// Reads and sends what every connected peer lacks, within its window. Runs after a
    /// step's commit, so only durable entries leave the region.
    func streamMessages(wallMilliseconds: UInt64, sendingSnapshotChunks: Bool) -> [(RegionID, PeerMessage)] {
        var messages: [(RegionID, PeerMessage)] = []
        do {
            try storage.read { reader in
                for range in state.replication.rangesToSend() {
                    messages += try stream(range, reader: reader, wallMilliseconds: wallMilliseconds)
                }
                for (peer, progress) in state.replication.peers.sorted(by: { $0.key < $1.key }) where sendingSnapshotChunks {
                    guard progress.connected, let transfer = progress.snapshot else { continue }
                    messages += try snapshotChunks(to: peer, transfer, reader: reader, wallMilliseconds: wallMilliseconds)
                }
            }
        } catch {
            // A failed read sends nothing now; the next step tries again.
        }
        return messages
    }

    /// Entries of one range, as `entries` messages of at most `entriesPerMessageMax`.
    private func stream(_ range: SendRange, reader: any StorageReader, wallMilliseconds: UInt64) throws -> [(RegionID, PeerMessage)] {
        var messages: [(RegionID, PeerMessage)] = []
        var after = range.after
        let perMessage = configuration.replication.entriesPerMessageMax
        while after < range.through {
            let entries = try reader.logEntries(origin: range.origin, after: after, limit: min(perMessage, Int(range.through - after)))
            guard let first = entries.first, first.sequence == after + 1 else {
                // The peer needs entries this region no longer holds: send a snapshot instead.
                // A region that holds every table the peer does vouches for every origin; one
                // that lacks some table vouches only for its own log (which never carries
                // writes to a table it lacks); entries of other origins then come from a holder.
                if canSendSnapshot(to: range.peer) {
                    _ = state.replication.beginSnapshot(to: range.peer)
                } else if range.origin == configuration.id {
                    _ = state.replication.beginSnapshot(to: range.peer, onlyOwnLog: true)
                }
                return messages
            }
            var batch: [LogEntry] = []
            for entry in entries {
                guard entry.sequence == after + 1, let shipped = shippable(entry, to: range.peer) else { break }
                batch.append(shipped)
                after = entry.sequence
            }
            guard !batch.isEmpty else { break }
            messages.append((range.peer, .replication(.entries(batch))))
            state.replication.didSend(to: range.peer, origin: range.origin, through: after, nowMilliseconds: wallMilliseconds)
            if batch.count < entries.count { break }
        }
        return messages
    }

    /// Whether this region holds every live multi-primary table that `peer` holds.
    func canSendSnapshot(to peer: RegionID) -> Bool {
        state.catalog.values.allSatisfy { record in
            guard let regions = record.definition?.regions, regions.contains(peer) else { return true }
            return regions.contains(configuration.id)
        }
    }

    /// The entry as `peer` may receive it: withheld when its table may not be stored
    /// there; `nil` when this region cannot serve it to `peer` (it holds only a withheld
    /// copy of an entry the peer must receive in full: another region will send it).
    func shippable(_ entry: LogEntry, to peer: RegionID) -> LogEntry? {
        switch entry.payload {
        case .catalog:
            return entry
        case .item(let table, _, _):
            let regions = state.catalog[table.name]?.merged(with: table).definition?.regions ?? table.definition?.regions ?? []
            guard regions.contains(peer) else {
                var withheld = entry
                withheld.payload = .withheld(table: table.name)
                return withheld
            }
            return entry
        case .withheld(let table):
            let regions = state.catalog[table]?.definition?.regions ?? []
            return regions.contains(peer) ? nil : entry
        }
    }

    /// The bytes a record's values take in canonical JSON: its visible value, its fields
    /// and its siblings.
    public static func estimatedBytes(_ record: ItemRecord) -> Int {
        (record.root?.canonicalBytes.count ?? 0)
            + record.fields.values.reduce(0) { $0 + ($1.value?.canonicalBytes.count ?? 0) }
            + record.siblings.reduce(0) { $0 + ($1.value?.canonicalBytes.count ?? 0) }
    }

    /// Up to `snapshotChunksPerStepMax` chunks of a snapshot transfer to `peer`.
    private func snapshotChunks(to peer: RegionID, _ start: SnapshotTransfer, reader: any StorageReader, wallMilliseconds: UInt64) throws -> [(RegionID, PeerMessage)] {
        var transfer = start
        var messages: [(RegionID, PeerMessage)] = []
        // Tables both ends may hold (a snapshot carries no table this region lacks).
        let tables = state.catalog.values.filter { record in
            guard let regions = record.definition?.regions else { return false }
            return regions.contains(peer) && regions.contains(configuration.id) && record.definition?.mode == .multiPrimary
                && (start.table == nil || start.table == record.name)
        }.map(\.name).sorted()
        let itemsMax = configuration.replication.snapshotItemsPerChunkMax
        for _ in 0..<Self.snapshotChunksPerStepMax {
            var items: [SnapshotItem] = []
            var tableIndex = transfer.cursor.flatMap { cursor in tables.firstIndex(of: cursor.table) } ?? 0
            var afterKey = transfer.cursor?.key
            if let cursor = transfer.cursor, !tables.contains(cursor.table) { tableIndex = tables.firstIndex { $0 > cursor.table } ?? tables.count; afterKey = nil }
            var valueBytes = 0
            while items.count < itemsMax && valueBytes < Self.snapshotChunkValueBytesMax && tableIndex < tables.count {
                let table = tables[tableIndex]
                let page = try reader.scan(table: table, range: ScanRange(startAfter: afterKey, limit: itemsMax - items.count, includeTombstones: true))
                var taken = 0
                for item in page {
                    guard valueBytes < Self.snapshotChunkValueBytesMax else { break }
                    taken += 1
                    guard let record = item.record else { continue }
                    items.append(SnapshotItem(table: table, key: item.key, record: record))
                    valueBytes += Self.estimatedBytes(record)
                }
                if taken > 0, taken < page.count || items.count >= itemsMax || valueBytes >= Self.snapshotChunkValueBytesMax {
                    let last = page[taken - 1].key
                    transfer.cursor = (table, last)
                    afterKey = last
                } else {
                    tableIndex += 1
                    afterKey = nil
                    transfer.cursor = tableIndex < tables.count ? (tables[tableIndex], nil) : nil
                }
            }
            let finished = tableIndex >= tables.count
            let catalog = transfer.catalogSent ? [] : state.catalog.values.filter { transfer.table == nil || transfer.table == $0.name }.sorted { $0.name < $1.name }
            transfer.catalogSent = true
            messages.append((peer, .replication(.snapshot(SnapshotChunk(transfer: transfer.transfer, index: transfer.nextChunk, positions: transfer.positions,
                                                            catalog: catalog, items: items, isFinal: finished)))))
            transfer.nextChunk += 1
            state.replication.advanceSnapshot(to: peer, transfer, finished: finished, nowMilliseconds: wallMilliseconds)
            if finished { break }
        }
        return messages
    }
}
