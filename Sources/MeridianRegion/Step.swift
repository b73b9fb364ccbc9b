import MeridianCore
import MeridianReplication
import MeridianStorage

/// One step's work on a working copy of the region's state.
struct Step {
    unowned let region: Region
    var state: RegionState
    let wallMilliseconds: UInt64
    /// A clock that never jumps: Raft's ticks follow it.
    let monotonicMilliseconds: UInt64

    init(region: Region, state: RegionState, wallMilliseconds: UInt64, monotonicMilliseconds: UInt64) {
        self.region = region
        self.state = state
        self.wallMilliseconds = wallMilliseconds
        self.monotonicMilliseconds = monotonicMilliseconds
    }

    var local: RegionID { region.configuration.id }

    /// Runs one input; returns a result for requests and `nil` for other inputs.
    /// Expected failures become the request's result; anything else thrown (a storage
    /// failure) aborts the whole step.
    mutating func run(_ input: RegionInput, reader: any StorageReader, writer: (any StorageWriter)?) throws -> Result<RegionReply, MeridianError>? {
        switch input {
        case .request(let request):
            do {
                return .success(try reply(to: request, reader: reader, writer: writer))
            } catch let error as MeridianError where error.kind != .internalError {
                return .failure(error)
            }
        case .peerConnected, .peerDisconnected:
            break  // applied by `Region.step` before the transaction
        case .message(let peer, let message):
            guard region.configuration.replication.peers.contains(peer) else { return nil }
            try receive(message, from: peer, reader: reader, writer: writer)
        case .tick:
            state.outbox += state.replication.tick(nowMilliseconds: wallMilliseconds).map { ($0.0, .replication($0.1)) }
            raftTick()
            requestWantedCopies()
            try truncateLogs(writer: required(writer))
        }
        return nil
    }

    func required(_ writer: (any StorageWriter)?) -> any StorageWriter {
        guard let writer else { preconditionFailure("a change ran in a read-only step") }
        return writer
    }

    // MARK: Catalog

    /// Merges a catalog record into the catalog, deleting the items of a deleted
    /// incarnation; returns the merged record.
    @discardableResult
    mutating func mergeCatalog(_ incoming: CatalogRecord, writer: any StorageWriter) throws -> CatalogRecord {
        let existing = state.catalog[incoming.name]
        let merged = existing.map { $0.merged(with: incoming) } ?? incoming
        guard merged != existing else { return merged }
        try writer.putCatalogRecord(merged)
        state.catalogChangedSinceSync = true
        if merged.deletedBefore > (existing?.deletedBefore ?? .zero) {
            // A deletion ends the incarnation: all its items go, whenever they were written
            // (a write another region made before it learned of the deletion included).
            try writer.deleteItems(table: merged.name, writtenBefore: HLCTimestamp.incarnationsEnd)
        }
        state.catalog[merged.name] = merged
        let wasHeld = existing?.definition?.regions.contains(local) ?? false
        let isHeld = merged.definition?.regions.contains(local) ?? false
        if wasHeld && !isHeld && merged.definition != nil {
            // Removed from the table's regions: every byte of it goes.
            try writer.purgeTable(merged.name)
            state.copiesWanted[merged.name] = nil
            state.reclaimNeeded = true
            state.reclaimNow = true
        } else if !wasHeld && isHeld && existing?.definition != nil, merged.definition?.mode == .multiPrimary {
            // Added to an existing table: its earlier entries were withheld from us.
            state.copiesWanted[merged.name] = 0
        }
        let wasVoting = existing?.definition?.votingRegions.contains(local) ?? false
        if let definition = merged.definition, definition.mode != .multiPrimary, !wasVoting, definition.votingRegions.contains(local),
           existing?.definition != nil, existing?.deletedBefore == merged.deletedBefore {
            // Added to a running consensus table: its group starts here as a learner, and its
            // leader sends it the log or a snapshot.
            state.joiningTables.insert(merged.name)
        }
        return merged
    }

    /// Asks a connected region that holds each wanted table for a copy, at most every
    /// `copyRetryMilliseconds` per table, until one arrives.
    mutating func requestWantedCopies() {
        for (table, askedAt) in state.copiesWanted.sorted(by: { $0.key < $1.key }) {
            guard askedAt == 0 || wallMilliseconds >= askedAt + RegionState.copyRetryMilliseconds,
                  let regions = state.definition(table)?.regions,
                  let holder = regions.first(where: { $0 != local && state.replication.peers[$0]?.connected == true })
            else { continue }
            state.outbox.append((holder, .replication(.copyRequest(table))))
            state.copiesWanted[table] = wallMilliseconds
        }
    }

    /// Appends an entry of this region's own origin: the change is already in `writer`.
    mutating func appendOwnEntry(_ payload: LogPayload, timestamp: HLCTimestamp, writer: any StorageWriter) throws {
        let sequence = state.replication.nextOwnSequence
        try writer.appendLog(LogEntry(origin: local, sequence: sequence, timestamp: timestamp, payload: payload))
        try writer.setApplied(origin: local, sequence: sequence)
        state.replication.appendedOwnEntry(sequence: sequence, timestamp: timestamp)
    }

    mutating func recordConflicts(_ overwritten: [OverwrittenValue], table: TableName, key: Key, writer: any StorageWriter) throws {
        for value in overwritten {
            try writer.appendConflict(table: table, ConflictEntry(key: key, overwritten: value, detectedBy: local))
            state.counters.conflictsRecorded += 1
        }
    }

    // MARK: Retention

    mutating func truncateLogs(writer: any StorageWriter) throws {
        for (origin, through) in state.replication.truncationPoints().sequences where through > state.truncated[origin] {
            try writer.truncateLog(origin: origin, through: through)
            state.truncated[origin] = through
        }
    }
}
