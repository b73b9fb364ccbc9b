import MeridianCore
import MeridianRaft
import MeridianReplication
import MeridianStorage

/// Requests on `primary` and `strong` tables: writes proposed at the leader, reads served
/// by the leader or (session reads) by any region that has applied far enough, failover.
extension Step {
    /// A put or delete of a `primary` or `strong` table, at the group's leader.
    mutating func raftWrite(_ table: TableName, _ key: Key, value: JSONValue?, isDelete: Bool, precondition: WritePrecondition,
                            reader: any StorageReader, writer: any StorageWriter) throws -> RegionReply {
        // Taken out of the dictionary while it changes (and put back on every exit): a copy
        // left there would share the group's log, and the append would copy it whole.
        guard var group = state.consensus.groups.removeValue(forKey: table) else { throw Self.groupMissing(table) }
        defer { state.consensus.groups[table] = group }
        let status = group.node.status
        guard status.role == .leader else { throw notLeader(table, status) }
        guard state.consensus.pendingProposals.count < ConsensusState.pendingProposalsMax else {
            throw MeridianError(.unavailable, code: "overloaded", "\(ConsensusState.pendingProposalsMax) writes are waiting for their commit; retry shortly")
        }
        let current = try reader.item(table: table, key: key)
        if let current { state.clock.advance(past: current.version.timestamp) }
        let version = ItemVersion(timestamp: state.clock.now(wallMilliseconds: wallMilliseconds), origin: local)
        let command = RaftCommand(key: key, value: value, isDelete: isDelete, precondition: precondition, version: version)
        guard RaftCodec.estimatedBytes(command) <= Limits.recordBytesMax else {
            throw MeridianError(.tooLarge, code: "item_too_large", "the write would take more than \(Limits.recordBytesMax) bytes")
        }
        // Under `commit: "local"` the leader applies its write as it appends it and answers
        // at once; that needs everything before it applied, which holds except just after
        // an election (then the write waits for its commit like a quorum write).
        let speculative = group.commitsLocally && group.appliedIndex == status.lastIndex
        if speculative, let refusal = refusal(of: command, on: current) {
            // A failed condition appends nothing.
            throw refusal
        }
        let index: UInt64
        do {
            index = try group.node.propose(command.bytes)
        } catch {
            throw MeridianError(.unavailable, code: "not_accepting_writes",
                "the leader of table '\(table)' cannot take writes now (\(error)); retry shortly")
        }
        if speculative {
            // Applied only once the entry is in the log: a refused proposal changes no item.
            _ = try applyCommand(command, table: table, reader: reader, writer: writer).get()
            try writer.setMetadata(RaftMetadata.undo(table, index), RaftCodec.encodeUndo(current))
            group.appliedIndex = index
            group.speculativeThrough = index
            try writer.setMetadata(RaftMetadata.applied(table), index.bigEndianBytes)
            try writer.setMetadata(RaftMetadata.speculative(table), index.bigEndianBytes)
            return isDelete ? .deleted(key, version) : .written(key, version, context: nil)
        }
        let ticket = state.issueTicket()
        if let displaced = state.consensus.awaitCommit(ticket: ticket, PendingProposal(table: table, index: index, term: status.term,
            deadlineMilliseconds: wallMilliseconds + region.configuration.raft.proposalTimeoutMilliseconds)) {
            state.completions.append((displaced, .failure(Self.writeDropped(table))))
        }
        return .pending(ticket: ticket)
    }

    /// A read of a `primary` or `strong` table. `eventual` reads the local copy. `session`
    /// reads it too once this region has applied the table's log through the index the
    /// session's token carries for it, and the multi-primary positions the token carries
    /// (they include the catalog entry that created the table: a region that has not
    /// applied a re-creation the session saw must not serve the old incarnation's items);
    /// before that a follower parks the read for up to `waitMilliseconds`, then answers
    /// `session_not_ready` naming the leader, so the caller goes there. Every other level (and
    /// a session read at a leader not yet caught up) is served by the leader once a read
    /// index confirms it still leads.
    mutating func raftRead(_ table: TableName, _ key: Key, consistency: ConsistencyLevel, requirement: ReadRequirement = .none,
                           waitMilliseconds: UInt64 = 0, reader: any StorageReader) throws -> RegionReply {
        /// The item as this region's copy holds it.
        func fromLocalCopy(_ servedAt: ConsistencyLevel) throws -> RegionReply {
            guard let item = try reader.item(table: table, key: key), !item.isTombstone else { throw MeridianError.itemNotFound }
            return .item(item, servedAt: servedAt)
        }
        if consistency == .eventual { return try fromLocalCopy(.eventual) }
        guard let role = state.consensus.groups[table]?.node.status.role else { throw Self.groupMissing(table) }
        if consistency == .session {
            guard let refusal = unreadiness(of: table, requirement, consistency: consistency) else { return try fromLocalCopy(.session) }
            if role != .leader {
                return try park(table, key, consistency: consistency, requirement: requirement, waitMilliseconds: waitMilliseconds, refusal: refusal)
            }
        }
        guard var group = state.consensus.groups.removeValue(forKey: table) else { throw Self.groupMissing(table) }
        defer { state.consensus.groups[table] = group }
        let status = group.node.status
        guard status.role == .leader else { throw notLeader(table, status) }
        guard state.consensus.pendingReads.count < ConsensusState.pendingReadsMax else {
            throw MeridianError(.unavailable, code: "overloaded", "\(ConsensusState.pendingReadsMax) strong reads are waiting; retry shortly")
        }
        let ticket = state.issueTicket()
        do {
            try group.node.readIndex(context: ticket.bigEndianBytes)
        } catch {
            throw MeridianError(.unavailable, code: "not_accepting_reads", "the leader of table '\(table)' cannot serve a strong read now (\(error)); retry shortly")
        }
        state.consensus.pendingReads[ticket] = PendingRead(table: table, key: key, consistency: consistency, readIndex: nil,
                                                 deadlineMilliseconds: wallMilliseconds + region.configuration.raft.proposalTimeoutMilliseconds)
        return .pending(ticket: ticket)
    }

    /// Moves a table's leadership: `planned` at the leader (the target catches up first),
    /// `forced` at the target (it campaigns at once).
    mutating func failover(_ table: TableName, planned: Bool, target requested: RegionID?, writer: any StorageWriter) throws -> RegionReply {
        guard let definition = state.definition(table), definition.mode != .multiPrimary else {
            if state.definition(table) == nil { throw MeridianError.tableNotFound(table) }
            throw MeridianError.invalid("mode_unavailable", "table '\(table)' is multi-primary: every region already takes writes, there is nothing to fail over")
        }
        guard var group = state.consensus.groups[table] else { throw Self.groupMissing(table) }
        let status = group.node.status
        if let requested, !definition.regions.contains(requested) {
            throw MeridianError.invalid("unknown_region", "region '\(requested)' is not among table '\(table)''s regions \(definition.regions.map(\.name))")
        }
        guard definition.regions.count > 1 else {
            throw MeridianError.invalid("single_region", "table '\(table)' has one region; there is nowhere to fail over to")
        }
        let target: RegionID
        if planned {
            guard status.role == .leader else { throw notLeader(table, status) }
            let others = definition.regions.filter { $0 != local }
            // The most caught-up other region (the first in name order among equals).
            target = requested ?? others.reduce(others[0]) { best, region in
                (status.match[region.name] ?? 0) > (status.match[best.name] ?? 0) ? region : best
            }
            guard target != local else { return .failover(target: local, planned: true) }
            group.node.transferLeadership(to: target.name)
        } else {
            target = requested ?? local
            guard target == local else {
                throw MeridianError(.misdirected, code: "not_target", "a forced failover runs at its target region", redirect: target)
            }
            group.node.campaignForced()
        }
        state.consensus.groups[table] = group
        // A primary table's leadership returns to its `primary` region: make the target the
        // primary so it stays there. A change of the catalog, proposed without waiting for it
        // (the failover does not depend on it; without a catalog leader it is not made).
        if definition.mode == .primary, definition.primary != target, let existing = state.catalog[table] {
            var changed = definition
            changed.primary = target
            let record = nextCatalogRecord(table, definition: changed)
            try? forwardCatalogProposal(CatalogCommand(record: record, precondition: .liveAt(existing.version), proposer: local))
        }
        return .failover(target: target, planned: planned)
    }

    func notLeader(_ table: TableName, _ status: RaftStatus) -> MeridianError {
        if let leader = status.leader, let region = try? RegionID(leader), region != local {
            return MeridianError(.misdirected, code: "not_leader", "region \(local) does not lead table '\(table)'; \(region) does", redirect: region)
        }
        return MeridianError(.unavailable, code: "no_leader", "table '\(table)' has no leader at the moment (an election is under way); retry shortly")
    }

    /// A write whose entry a later leader's log replaced: it was not applied.
    static func writeDropped(_ table: TableName) -> MeridianError {
        MeridianError(.unavailable, code: "write_dropped", "leadership of table '\(table)' changed before the write committed; it was not applied")
    }

    static func groupMissing(_ table: TableName) -> MeridianError {
        MeridianError(.unavailable, code: "no_leader", "table '\(table)' has no consensus group in this region yet; retry shortly")
    }
}
