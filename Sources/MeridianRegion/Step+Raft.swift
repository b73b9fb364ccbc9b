import MeridianCore
import MeridianRaft
import MeridianReplication
import MeridianStorage

/// `primary` and `strong` tables: one Raft group per table over the table's regions.
extension Step {
    // MARK: Requests

    /// A put or delete of a `primary` or `strong` table, at the group's leader.
    mutating func raftWrite(_ table: TableName, _ key: Key, value: JSONValue?, isDelete: Bool, precondition: WritePrecondition,
                            reader: any StorageReader, writer: any StorageWriter) throws -> RegionReply {
        // Taken out of the dictionary while it changes (and put back on every exit): a copy
        // left there would share the group's log, and the append would copy it whole.
        guard var group = state.groups.removeValue(forKey: table) else { throw Self.groupMissing(table) }
        defer { state.groups[table] = group }
        let status = group.node.status
        guard status.role == .leader else { throw notLeader(table, status) }
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
        state.pendingProposals[ticket] = PendingProposal(table: table, index: index, term: status.term,
                                                         deadlineMilliseconds: wallMilliseconds + region.configuration.raft.proposalTimeoutMilliseconds)
        state.proposalTickets[table, default: [:]][index] = ticket
        return .pending(ticket: ticket)
    }

    /// A read of a `primary` or `strong` table. `eventual` reads the local copy. `session`
    /// reads it too once this region has applied the table's log through the index the
    /// session's token carries for it, and the multi-primary positions the token carries
    /// (they include the catalog entry that created the table: a region that has not
    /// applied a re-creation the session saw must not serve the old incarnation's items);
    /// before that a follower answers `session_not_ready` naming the leader, so the caller
    /// waits or goes there. Every other level (and a session read at a leader not yet caught
    /// up) is served by the leader once a read index confirms it still leads.
    mutating func raftRead(_ table: TableName, _ key: Key, consistency: ConsistencyLevel, requirement: ReadRequirement = .none,
                           reader: any StorageReader) throws -> RegionReply {
        /// The item as this region's copy holds it.
        func fromLocalCopy(_ servedAt: ConsistencyLevel) throws -> RegionReply {
            guard let item = try reader.item(table: table, key: key), !item.isTombstone else { throw MeridianError.itemNotFound }
            return .item(item, servedAt: servedAt)
        }
        if consistency == .eventual { return try fromLocalCopy(.eventual) }
        guard var group = state.groups.removeValue(forKey: table) else { throw Self.groupMissing(table) }
        defer { state.groups[table] = group }
        let status = group.node.status
        if consistency == .session {
            var sessionMark: UInt64 = 0
            var positionsApplied = true
            if case .session(_, let raft) = requirement {
                sessionMark = raft[table] ?? 0
                do { try check(requirement) } catch { positionsApplied = false }
            }
            if group.appliedIndex >= sessionMark && positionsApplied { return try fromLocalCopy(.session) }
            if status.role != .leader {
                let leader = status.leader.flatMap { try? RegionID($0) }
                throw MeridianError(.unavailable, code: "session_not_ready",
                    positionsApplied
                        ? "this region has applied table '\(table)''s log through \(group.appliedIndex); the session has seen \(sessionMark)"
                        : "this region has not yet applied the replication positions the session has seen",
                    redirect: leader == local ? nil : leader)
            }
        }
        guard status.role == .leader else { throw notLeader(table, status) }
        guard state.pendingReads.count < RegionState.pendingReadsMax else {
            throw MeridianError(.unavailable, code: "overloaded", "\(RegionState.pendingReadsMax) strong reads are waiting; retry shortly")
        }
        let ticket = state.issueTicket()
        do {
            try group.node.readIndex(context: ticket.bigEndianBytes)
        } catch {
            throw MeridianError(.unavailable, code: "not_accepting_reads", "the leader of table '\(table)' cannot serve a strong read now (\(error)); retry shortly")
        }
        state.pendingReads[ticket] = PendingRead(table: table, key: key, consistency: consistency, readIndex: nil,
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
        guard var group = state.groups[table] else { throw Self.groupMissing(table) }
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
        state.groups[table] = group
        // A primary table's leadership returns to its `primary` region: make the target the
        // primary so it stays there.
        if definition.mode == .primary, definition.primary != target, let existing = state.catalog[table] {
            var changed = definition
            changed.primary = target
            state.clock.advance(past: existing.version.timestamp)
            let version = ItemVersion(timestamp: state.clock.now(wallMilliseconds: wallMilliseconds), origin: local)
            let record = CatalogRecord(name: table, definition: changed, version: version, deletedBefore: existing.deletedBefore)
            try mergeCatalog(record, writer: writer)
            try appendOwnEntry(.catalog(record), timestamp: version.timestamp, writer: writer)
        }
        return .failover(target: target, planned: planned)
    }

    func notLeader(_ table: TableName, _ status: RaftStatus) -> MeridianError {
        if let leader = status.leader, let region = try? RegionID(leader), region != local {
            return MeridianError(.misdirected, code: "not_leader", "region \(local) does not lead table '\(table)'; \(region) does", redirect: region)
        }
        return MeridianError(.unavailable, code: "no_leader", "table '\(table)' has no leader at the moment (an election is under way); retry shortly")
    }

    static func groupMissing(_ table: TableName) -> MeridianError {
        MeridianError(.unavailable, code: "no_leader", "table '\(table)' has no consensus group in this region yet; retry shortly")
    }

    // MARK: Messages and time

    mutating func receiveRaft(_ envelopes: [RaftEnvelope], from peer: RegionID, writer: any StorageWriter) throws {
        try syncRaftGroups(writer: writer)
        for envelope in envelopes {
            guard state.groups[envelope.table]?.incarnation == envelope.incarnation,
                  envelope.message.from == peer.name, envelope.message.to == local.name
            else { continue }
            state.groups[envelope.table]!.node.step(envelope.message)  // in place: no copy of the log
        }
    }

    /// Advances every group's logical clock by the Raft ticks that elapsed.
    mutating func raftTick() {
        let tick = region.configuration.raft.tickMilliseconds
        guard !state.groups.isEmpty else {
            state.lastRaftTickMilliseconds = wallMilliseconds
            return
        }
        guard wallMilliseconds >= state.lastRaftTickMilliseconds + tick else { return }
        let elapsed = (wallMilliseconds - state.lastRaftTickMilliseconds) / tick
        let ticks = min(elapsed, RaftSettings.ticksPerStepMax)
        state.lastRaftTickMilliseconds = ticks == elapsed ? state.lastRaftTickMilliseconds + elapsed * tick : wallMilliseconds
        for table in state.groups.keys.sorted() {
            guard var group = state.groups.removeValue(forKey: table) else { continue }
            for _ in 0..<ticks { group.node.tick() }
            returnLeadershipToPreferred(&group)
            state.groups[table] = group
        }
        expirePending()
    }

    /// A `primary` table's leader hands leadership back to the table's primary region once
    /// that region is reachable and has the whole log.
    func returnLeadershipToPreferred(_ group: inout RaftGroup) {
        guard group.definition.mode == .primary, let primary = group.definition.primary, primary != local else { return }
        let status = group.node.status
        guard status.role == .leader, status.leadTransferee == nil,
              status.recentActive[primary.name] == true, status.match[primary.name] == status.lastIndex
        else { return }
        group.node.transferLeadership(to: primary.name)
    }

    /// Fails requests whose deadline passed: their outcome is unknown.
    mutating func expirePending() {
        // In ticket order: the order of a step's completions must not depend on hashing.
        for (ticket, proposal) in state.pendingProposals.sorted(by: { $0.key < $1.key }) where proposal.deadlineMilliseconds <= wallMilliseconds {
            state.pendingProposals[ticket] = nil
            state.proposalTickets[proposal.table]?[proposal.index] = nil
            state.raftCounters.proposalTimeouts += 1
            state.completions.append((ticket, .failure(MeridianError(.unavailable, code: "commit_timeout",
                "the write to table '\(proposal.table)' was not committed within \(region.configuration.raft.proposalTimeoutMilliseconds) ms; it may still be applied later"))))
        }
        for (ticket, read) in state.pendingReads.sorted(by: { $0.key < $1.key }) where read.deadlineMilliseconds <= wallMilliseconds {
            state.pendingReads[ticket] = nil
            state.completions.append((ticket, .failure(MeridianError(.unavailable, code: "read_timeout",
                "the leader of table '\(read.table)' could not confirm its leadership in time; retry"))))
        }
    }

    // MARK: Groups

    /// Starts a group for every `primary` or `strong` table this region holds, and ends the
    /// groups of tables that were deleted or re-created.
    mutating func syncRaftGroups(writer: any StorageWriter) throws {
        guard state.catalogChangedSinceSync else { return }
        state.catalogChangedSinceSync = false
        for (table, group) in state.groups.sorted(by: { $0.key < $1.key }) {
            let record = state.catalog[table]
            if record?.definition == nil || record?.deletedBefore != group.incarnation || record?.definition?.regions.contains(local) != true {
                try endGroup(table, writer: writer)
            }
        }
        for record in state.catalog.values.sorted(by: { $0.name < $1.name }) {
            guard let definition = record.definition, definition.mode != .multiPrimary, definition.regions.contains(local) else { continue }
            if state.groups[record.name] != nil {
                state.groups[record.name]!.definition = definition
                continue
            }
            try startGroup(record, definition: definition, writer: writer)
        }
    }

    mutating func startGroup(_ record: CatalogRecord, definition: TableDefinition, writer: any StorageWriter) throws {
        let group = try Region.restoreGroup(record: record, definition: definition, configuration: region.configuration, reader: writer)
        state.groups[record.name] = group.group
        try writer.setMetadata(RaftMetadata.incarnation(record.name), record.deletedBefore.rawValue.bigEndianBytes)
        // The region that should lead first does not wait for an election timeout.
        let first = definition.mode == .primary ? definition.primary : record.version.origin
        if first == local && group.isNew {
            state.groups[record.name]?.node.campaign()
        }
    }

    mutating func endGroup(_ table: TableName, writer: any StorageWriter) throws {
        guard let group = state.groups.removeValue(forKey: table) else { return }
        try writer.deleteRaftEntries(group: RaftMetadata.group(table), through: .max)
        for name in [RaftMetadata.hardState(table), RaftMetadata.applied(table), RaftMetadata.speculative(table), RaftMetadata.incarnation(table),
                     RaftMetadata.snapshot(table)] {
            try writer.setMetadata(name, [])
        }
        if group.speculativeThrough > 0 {
            for index in 1...group.speculativeThrough where try writer.metadata(RaftMetadata.undo(table, index))?.isEmpty == false {
                try writer.setMetadata(RaftMetadata.undo(table, index), [])
            }
        }
        let gone = MeridianError.tableNotFound(table)
        for (ticket, proposal) in state.pendingProposals.sorted(by: { $0.key < $1.key }) where proposal.table == table {
            state.pendingProposals[ticket] = nil
            state.completions.append((ticket, .failure(gone)))
        }
        for (ticket, read) in state.pendingReads.sorted(by: { $0.key < $1.key }) where read.table == table {
            state.pendingReads[ticket] = nil
            state.completions.append((ticket, .failure(gone)))
        }
        state.proposalTickets[table] = nil
    }

    // MARK: Ready

    /// Persists, applies and sends what every group has ready. Runs inside the step's
    /// write transaction: the messages leave only after it commits.
    mutating func processRaftReady(writer: any StorageWriter) throws {
        try syncRaftGroups(writer: writer)
        for table in state.groups.keys.sorted() {
            var rounds = 0
            while let group = state.groups[table], group.node.hasReady, rounds < RaftSettings.readyRoundsPerStepMax {
                rounds += 1
                try processReady(table, writer: writer)
            }
            serveConfirmedReads(table, reader: writer)
            noteLeadership(table)
            try compactIfNeeded(table, writer: writer)
        }
    }

    mutating func processReady(_ table: TableName, writer: any StorageWriter) throws {
        guard var group = state.groups.removeValue(forKey: table) else { return }
        defer { state.groups[table] = group }
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
            guard let ticket = UInt64(bigEndianBytes: readState.context), state.pendingReads[ticket] != nil else { continue }
            state.pendingReads[ticket]?.readIndex = readState.index
        }
        for original in ready.messages {
            guard let peer = try? RegionID(original.to) else { continue }
            var message = original
            if message.kind == .snapshot {
                guard let filled = try filledSnapshot(message, group: group, writer: writer) else { continue }
                message = filled
            }
            state.raftOutbox[peer, default: []].append(RaftEnvelope(table: table, incarnation: group.incarnation, message: message))
        }
        group.node.advance(ready)
    }

    /// Applies one committed entry to the items; returns the outcome for its proposer.
    mutating func apply(_ entry: RaftEntry, table: TableName, writer: any StorageWriter) throws -> Result<RegionReply, MeridianError>? {
        guard entry.kind == .normal else { return nil }
        guard let command = RaftCommand(bytes: entry.data) else {
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
        guard let ticket = state.proposalTickets[table]?[entry.index] else { return }
        state.proposalTickets[table]?[entry.index] = nil
        guard let proposal = state.pendingProposals.removeValue(forKey: ticket) else { return }
        if proposal.term == entry.term, let outcome {
            state.completions.append((ticket, outcome))
        } else {
            state.completions.append((ticket, .failure(MeridianError(.unavailable, code: "write_dropped",
                "leadership of table '\(table)' changed before the write committed; it was not applied"))))
        }
    }

    /// Serves the strong reads whose read index the items have reached.
    mutating func serveConfirmedReads(_ table: TableName, reader: any StorageReader) {
        guard let group = state.groups[table] else { return }
        for (ticket, read) in state.pendingReads.sorted(by: { $0.key < $1.key }) where read.table == table {
            guard let index = read.readIndex, group.appliedIndex >= index else { continue }
            state.pendingReads[ticket] = nil
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
        guard var group = state.groups[table] else { return }
        let status = group.node.status
        if status.leader != group.lastLeader, status.leader != nil {
            state.raftCounters.leaderChanges += 1
            group.leaderChanges += 1
        }
        if (status.role == .preCandidate || status.role == .candidate) && group.lastRole != status.role {
            state.raftCounters.campaigns += 1
            group.campaigns += 1
        }
        if group.lastRole == .leader && status.role != .leader {
            // Reads waiting for this leader's confirmation will never get it: answer them
            // now, naming the new leader when known, instead of at their deadline.
            for (ticket, read) in state.pendingReads.sorted(by: { $0.key < $1.key }) where read.table == table {
                state.pendingReads[ticket] = nil
                state.completions.append((ticket, .failure(notLeader(table, status))))
            }
        }
        group.lastLeader = status.leader
        group.lastRole = status.role
        state.groups[table] = group
    }

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
                state.raftCounters.divergedWrites += 1
            }
        }
        group.appliedIndex = min(group.appliedIndex, index - 1)
        group.speculativeThrough = index - 1
        try writer.setMetadata(RaftMetadata.applied(table), group.appliedIndex.bigEndianBytes)
        try writer.setMetadata(RaftMetadata.speculative(table), group.speculativeThrough.bigEndianBytes)
    }

    /// Replaces the table's items with a leader's snapshot.
    mutating func installSnapshot(_ snapshot: RaftSnapshot, group: inout RaftGroup, writer: any StorageWriter) throws {
        let table = group.table
        guard let items = RaftCodec.decodeSnapshotItems(snapshot.data) else {
            state.counters.invalidRecords += 1
            return
        }
        try writer.deleteItems(table: table, writtenBefore: HLCTimestamp.incarnationsEnd)
        for item in items {
            state.clock.advance(past: item.version.timestamp)
            try writer.putItem(table: table, item)
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

    // MARK: Compaction

    /// Drops the oldest applied entries of a group's log once it holds more than
    /// `logEntriesRetainedMax`. A leader keeps what a live follower still needs, up to
    /// `logEntriesRetainedHardMax` entries; a region further behind gets a snapshot.
    mutating func compactIfNeeded(_ table: TableName, writer: any StorageWriter) throws {
        guard var group = state.groups.removeValue(forKey: table) else { return }
        defer { state.groups[table] = group }
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
        guard group.speculativeThrough == 0, group.appliedIndex <= status.commit, group.appliedIndex > 0 else { return nil }
        let index = group.appliedIndex
        guard let term = try storedTerm(table, at: index, reader: writer) else { return nil }
        let items = try writer.scan(table: table, range: ScanRange(limit: RaftSettings.snapshotItemsMax + 1, includeTombstones: true))
        let data = RaftCodec.encodeSnapshotItems(items)
        guard items.count <= RaftSettings.snapshotItemsMax, data.count <= RaftSettings.snapshotBytesMax else {
            state.raftCounters.snapshotsTooLarge += 1
            return nil
        }
        var filled = message
        filled.snapshot = RaftSnapshot(index: index, term: term, voters: group.definition.regions.map(\.name), data: data)
        return filled
    }
}

/// Raft timing and limits, in the units their names say.
public struct RaftSettings: Sendable {
    /// The length of one Raft tick.
    public var tickMilliseconds: UInt64 = 50
    /// Election timeout, drawn from [electionTicks, 2 × electionTicks) ticks.
    public var electionTicks = 6
    /// Heartbeat interval.
    public var heartbeatTicks = 1
    /// How long a write waits for its commit, or a read for its read index, before it
    /// fails with an unknown outcome.
    public var proposalTimeoutMilliseconds: UInt64 = 5_000
    /// Seed of the groups' election timeouts (the node draws one at start; the simulator
    /// passes its seed).
    public var randomSeed: UInt64 = 0
    /// How strong reads confirm leadership.
    public var readOnly: ReadOnlyOption = .leaseBased
    /// A planted bug, set only by the simulator to check its checkers.
    public var fault: RaftFault? = nil
    /// A group's log is compacted once it holds more entries than this.
    public var logEntriesRetainedMax = 10_000
    /// A leader keeps at most this many entries for a follower that is behind; a follower
    /// further behind catches up from a snapshot.
    public var logEntriesRetainedHardMax = 100_000

    /// The most items a snapshot carries, and its most bytes (it travels in one frame).
    static let snapshotItemsMax = 100_000
    static let snapshotBytesMax = 3 << 20

    /// The most Raft ticks one step catches up on after a stall.
    static let ticksPerStepMax: UInt64 = 3
    /// The most Ready rounds one step processes per group.
    static let readyRoundsPerStepMax = 4

    public init() {}
}
