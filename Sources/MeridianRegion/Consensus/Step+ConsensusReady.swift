import MeridianCore
import MeridianRaft
import MeridianReplication
import MeridianStorage

/// Each group's `Ready`, handled inside the step's storage transaction: hard state and
/// entries persisted, committed entries applied to the items, waiting requests completed,
/// messages queued to leave after the commit.
extension Step {
    /// Persists, applies and sends what every group has ready. Runs inside the step's
    /// write transaction: the messages leave only after it commits.
    mutating func processRaftReady(writer: any StorageWriter) throws {
        // The catalog group first: a table it creates in this step gets its own group at once.
        try processGroupReady(CatalogGroup.name, writer: writer)
        try syncRaftGroups(writer: writer)
        for table in state.consensus.groups.keys.sorted() where table != CatalogGroup.name {
            try processGroupReady(table, writer: writer)
        }
    }

    /// Handles one group's Readies (a bounded number of rounds), then what waits on it.
    mutating func processGroupReady(_ table: TableName, writer: any StorageWriter) throws {
        var rounds = 0
        while let group = state.consensus.groups[table], group.node.hasReady, rounds < RaftSettings.readyRoundsPerStepMax {
            rounds += 1
            try processReady(table, writer: writer)
        }
        serveConfirmedReads(table, reader: writer)
        noteLeadership(table)
        try compactIfNeeded(table, writer: writer)
    }

    mutating func processReady(_ table: TableName, writer: any StorageWriter) throws {
        guard var group = state.consensus.groups.removeValue(forKey: table) else { return }
        defer { state.consensus.groups[table] = group }
        let ready = group.node.ready()
        let logName = RaftMetadata.group(table)
        if let snapshot = ready.snapshot {
            try installSnapshot(snapshot, group: &group, writer: writer)
        }
        if let hardState = ready.hardState {
            try writer.setMetadata(RaftMetadata.hardState(table), RaftCodec.encode(hardState))
        }
        if let first = ready.entries.first {
            if first.index <= group.persistedLastIndex {
                try divergeSpeculativeEntries(from: first.index, replacedInTerm: first.term, group: &group, writer: writer)
            }
            try writer.putRaftEntries(group: logName, ready.entries.map { StoredRaftEntry(index: $0.index, bytes: RaftCodec.encode($0)) })
            group.persistedLastIndex = ready.entries.last!.index
        }
        for entry in ready.committedEntries {
            if entry.index <= group.appliedIndex {
                // Applied ahead of its commit by this region as leader: now permanent.
                if entry.index <= group.speculativeThrough { try writer.setMetadata(RaftMetadata.undo(table, entry.index), []) }
                continue
            }
            precondition(entry.index == group.appliedIndex + 1, "committed entries are applied in order, without gaps")
            if table == CatalogGroup.name {
                try applyCatalogEntry(entry, writer: writer)
                group.appliedIndex = entry.index
                continue
            }
            if group.isWitness(local) {
                // A witness keeps the log to vote and to hand it on, never the items.
                group.appliedIndex = entry.index
                completeProposal(table: table, entry: entry, outcome: nil)
                continue
            }
            let outcome = try apply(entry, table: table, writer: writer)
            group.appliedIndex = entry.index
            completeProposal(table: table, entry: entry, outcome: outcome)
        }
        if !ready.committedEntries.isEmpty {
            try writer.setMetadata(RaftMetadata.applied(table), group.appliedIndex.bigEndianBytes)
            if group.speculativeThrough > 0, group.speculativeThrough <= ready.committedEntries.last!.index {
                group.speculativeThrough = 0
                try writer.setMetadata(RaftMetadata.speculative(table), [])
            }
        }
        for readState in ready.readStates {
            if table == CatalogGroup.name {
                noteCatalogReadIndex(context: readState.context, index: readState.index)
                continue
            }
            guard let ticket = UInt64(bigEndianBytes: readState.context), state.consensus.pendingReads[ticket] != nil else { continue }
            state.consensus.pendingReads[ticket]?.readIndex = readState.index
        }
        let status = group.node.status
        if status.membershipIndex != group.persistedMembershipIndex {
            // The members this node knows (committed): restored from here after a restart.
            try writer.setMetadata(RaftMetadata.membership(table), RaftCodec.encodeMembership(status.membership, index: status.membershipIndex))
            group.persistedMembershipIndex = status.membershipIndex
        }
        for original in ready.messages {
            guard let peer = try? RegionID(original.to) else { continue }
            var message = original
            if message.kind == .snapshot {
                guard let filled = try filledSnapshot(message, group: group, writer: writer) else { continue }
                message = filled
            }
            state.consensus.outbox[peer, default: []].append(RaftEnvelope(table: table, incarnation: group.incarnation, message: message))
        }
        group.node.advance(ready)
    }

    /// Applies one committed entry to the items; returns the outcome for its proposer.
    mutating func apply(_ entry: RaftEntry, table: TableName, writer: any StorageWriter) throws -> Result<RegionReply, MeridianError>? {
        guard entry.kind == .normal else { return nil }
        guard let command = RaftCommand(bytes: entry.data) else {
            if let transaction = RaftTransaction(bytes: entry.data) {
                state.counters.entriesApplied += 1
                return try applyTransaction(transaction, table: table, writer: writer)
            }
            state.counters.invalidRecords += 1
            return nil
        }
        state.counters.entriesApplied += 1
        return try applyCommand(command, table: table, reader: writer, writer: writer)
    }

    /// Runs a command against the items: its condition, then the put or delete.
    mutating func applyCommand(_ command: RaftCommand, table: TableName, reader: any StorageReader,
                               writer: any StorageWriter) throws -> Result<RegionReply, MeridianError> {
        state.clock.advance(past: command.version.timestamp)
        let current = try reader.item(table: table, key: command.key)
        if let refusal = refusal(of: command, on: current) { return .failure(refusal) }
        if command.isDelete {
            try writer.putItem(table: table, StoredItem(key: command.key, value: nil, version: command.version))
            return .success(.deleted(command.key, command.version))
        }
        try writer.putItem(table: table, StoredItem(key: command.key, value: command.value, version: command.version))
        return .success(.written(command.key, command.version, context: nil))
    }

    /// Why a command leaves the items as they are (its condition fails, or it deletes an
    /// item that does not exist); nil when it applies.
    func refusal(of command: RaftCommand, on current: StoredItem?) -> MeridianError? {
        do {
            try check(command.precondition, on: current)
        } catch {
            return error
        }
        if command.isDelete, current?.isTombstone ?? true { return MeridianError.itemNotFound }
        return nil
    }

    mutating func completeProposal(table: TableName, entry: RaftEntry, outcome: Result<RegionReply, MeridianError>?) {
        guard let ticket = state.consensus.proposalTickets[table]?[entry.index],
              let proposal = state.consensus.removeProposal(ticket: ticket) else { return }
        if proposal.term == entry.term, let outcome {
            state.completions.append((ticket, outcome))
        } else {
            state.completions.append((ticket, .failure(Self.writeDropped(table))))
        }
    }

    /// Serves the strong reads whose read index the items have reached.
    mutating func serveConfirmedReads(_ table: TableName, reader: any StorageReader) {
        guard let group = state.consensus.groups[table] else { return }
        for (ticket, read) in state.consensus.pendingReads.sorted(by: { $0.key < $1.key }) where read.table == table {
            guard let index = read.readIndex, group.appliedIndex >= index else { continue }
            state.consensus.pendingReads[ticket] = nil
            let outcome: Result<RegionReply, MeridianError>
            do {
                if let item = try reader.item(table: table, key: read.key), !item.isTombstone {
                    outcome = .success(.item(item, servedAt: read.consistency))
                } else {
                    outcome = .failure(MeridianError.itemNotFound)
                }
            } catch {
                outcome = .failure(MeridianError.storageFailed("the read failed: \(error)"))
            }
            state.completions.append((ticket, outcome))
        }
    }

    mutating func noteLeadership(_ table: TableName) {
        guard var group = state.consensus.groups[table] else { return }
        let status = group.node.status
        if status.leader != group.lastLeader, status.leader != nil {
            state.consensus.counters.leaderChanges += 1
            group.leaderChanges += 1
        }
        if (status.role == .preCandidate || status.role == .candidate) && group.lastRole != status.role {
            state.consensus.counters.campaigns += 1
            group.campaigns += 1
        }
        if group.lastRole == .leader && status.role != .leader {
            // Reads waiting for this leader's confirmation will never get it: answer them
            // now, naming the new leader when known, instead of at their deadline.
            for (ticket, read) in state.consensus.pendingReads.sorted(by: { $0.key < $1.key }) where read.table == table {
                state.consensus.pendingReads[ticket] = nil
                state.completions.append((ticket, .failure(notLeader(table, status))))
            }
        }
        group.lastLeader = status.leader
        group.lastRole = status.role
        state.consensus.groups[table] = group
    }
}
