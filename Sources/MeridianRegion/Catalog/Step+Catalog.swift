import MeridianCore
@_spi(Simulation) import MeridianRaft
import MeridianStorage

/// What a catalog proposal is for, in the region that proposed it: how its outcome answers
/// the request that waits for it.
enum CatalogIntent: Sendable, Equatable {
    case create, delete, changeRegions
}

/// A request that waits, in the region that proposed it, for its catalog change to be applied.
struct CatalogProposalWaiter: Sendable {
    var ticket: UInt64
    var intent: CatalogIntent
    var deadlineMilliseconds: UInt64
    /// The command, handed again to a new leader: a forwarded proposal gets no answer, so
    /// one lost with a leader that stepped down would only time out. Applying a command
    /// twice changes nothing the second time (its condition no longer holds, or it finds
    /// the identical definition).
    var command: CatalogCommand
    /// The leader it was last handed to.
    var handedTo: RaftNodeID?
}

/// A request for a table this region does not know, waiting for the catalog group to
/// confirm (a read index) that the table does not exist yet or for the region to apply its
/// creation: so a table created in one region can be written in another at once.
struct CatalogWait: Sendable {
    var request: RegionRequest
    /// Set once the catalog group's leader confirmed its commit index.
    var readIndex: UInt64?
    var deadlineMilliseconds: UInt64
    /// The leader the read index was asked of (asked again of a new one).
    var askedOf: RaftNodeID?
}

/// The catalog group: proposals of catalog changes, their application in every region, the
/// requests waiting on them, and catalog snapshots.
extension Step {
    // MARK: Proposing

    /// Proposes a catalog change through the catalog group (at its leader, or forwarded to
    /// it) and returns the ticket the answer comes under, once this region has applied it.
    /// Without a leader (an election, or the cluster just started) the change waits and is
    /// handed to the first leader elected, until its deadline.
    mutating func proposeCatalogChange(_ record: CatalogRecord, precondition: CatalogCommand.Precondition, intent: CatalogIntent) throws -> RegionReply {
        guard state.catalogWaiters.count < RegionState.catalogWaitsMax else {
            throw MeridianError(.unavailable, code: "overloaded", "\(RegionState.catalogWaitsMax) catalog changes are waiting; retry shortly")
        }
        let command = CatalogCommand(record: record, precondition: precondition, proposer: local)
        let handed = (try? forwardCatalogProposal(command)) != nil
        let ticket = state.issueTicket()
        state.catalogWaiters[command.proposal] = CatalogProposalWaiter(
            ticket: ticket, intent: intent, deadlineMilliseconds: wallMilliseconds + region.configuration.raft.proposalTimeoutMilliseconds,
            command: command, handedTo: handed ? state.consensus.groups[CatalogGroup.name]?.node.status.leader : nil)
        return .pending(ticket: ticket)
    }

    /// Hands a catalog command to the catalog group; `no_leader` when it has none.
    mutating func forwardCatalogProposal(_ command: CatalogCommand) throws {
        guard state.consensus.groups[CatalogGroup.name] != nil else { throw Self.groupMissing(CatalogGroup.name) }
        do {
            try state.consensus.groups[CatalogGroup.name]!.node.forwardProposal(command.bytes)
        } catch {
            throw MeridianError(.unavailable, code: "no_leader", "the cluster's catalog has no leader at the moment (an election is under way); retry shortly")
        }
    }

    /// A new record of `name` with this region's next version, past every version the table held.
    mutating func nextCatalogRecord(_ name: TableName, definition: TableDefinition?, deletedBefore: HLCTimestamp? = nil) -> CatalogRecord {
        let existing = state.catalog[name]
        if let existing {
            state.clock.advance(past: existing.version.timestamp)
            state.clock.advance(past: existing.deletedBefore)
        }
        let version = ItemVersion(timestamp: state.clock.now(wallMilliseconds: wallMilliseconds), origin: local)
        return CatalogRecord(name: name, definition: definition, version: version,
                             deletedBefore: deletedBefore.map { $0 == .zero ? version.timestamp : $0 } ?? existing?.deletedBefore ?? .zero)
    }

    // MARK: Applying

    /// Applies a committed catalog command in this region, and answers the request that
    /// waits for it if this region proposed it.
    mutating func applyCatalogEntry(_ entry: RaftEntry, writer: any StorageWriter) throws {
        guard entry.kind == .normal else { return }
        guard let command = CatalogCommand(bytes: entry.data) else {
            state.counters.invalidRecords += 1
            return
        }
        let outcome = try applyCatalogCommand(command, writer: writer)
        guard command.proposer == local, let waiter = state.catalogWaiters.removeValue(forKey: command.proposal) else { return }
        state.completions.append((waiter.ticket, outcome.map { reply(for: waiter.intent, record: command.record, created: $0) }))
    }

    /// Checks a command's condition against this region's catalog and merges its record;
    /// returns whether it changed anything (`false`: an identical definition existed).
    ///
    /// Every region applies the same commands in log order, so they reach the same catalog.
    /// A region may already hold a newer record of the table (learned early, from an entry
    /// of another origin that applied it first): the condition may then fail here while it
    /// passed elsewhere, but the newer record wins everywhere by its version anyway.
    mutating func applyCatalogCommand(_ command: CatalogCommand, writer: any StorageWriter) throws -> Result<Bool, MeridianError> {
        let record = command.record
        let current = state.catalog[record.name]
        let changed = MeridianError(.conflict, code: "table_changed",
            "table '\(record.name)' changed while this change was under way; read its definition and try again")
        switch command.precondition {
        case .absentOrIdentical:
            if let live = current?.definition {
                guard live == record.definition else {
                    return .failure(MeridianError(.conflict, code: "table_exists",
                        "table '\(record.name)' already exists with a different definition (mode \(live.mode.rawValue), regions \(live.regions.map(\.name)))"))
                }
                return .success(false)
            }
        case .liveAt(let version):
            guard let current, current.definition != nil else { return .failure(MeridianError.tableNotFound(record.name)) }
            guard current.version == version else { return .failure(changed) }
        }
        if let current, record.version <= current.version { return .failure(changed) }
        try mergeCatalog(record, writer: writer)
        return .success(true)
    }

    private func reply(for intent: CatalogIntent, record: CatalogRecord, created: Bool) -> RegionReply {
        switch intent {
        case .create:
            guard let definition = state.catalog[record.name]?.definition ?? record.definition else { return .tableDeleted(record.name) }
            return .tableCreated(definition, created: created)
        case .delete:
            return .tableDeleted(record.name)
        case .changeRegions:
            guard let definition = record.definition else { return .tableDeleted(record.name) }
            return .regionsChanged(definition)
        }
    }

    // MARK: Requests for tables this region does not know

    /// Whether a request names one table and may wait for the catalog to learn of it.
    static func waitsForCatalog(_ request: RegionRequest) -> Bool {
        switch request {
        case .getItem, .putItem, .deleteItem, .scan, .showTable, .deleteTable, .conflicts, .changeRegions, .placement, .failover, .divergence, .transact, .changes, .repairTable:
            return true
        case .createTable, .listTables, .clusterStatus:
            return false
        }
    }

    /// Parks a request for a table this region does not know and asks the catalog group for
    /// a read index: once this region has applied the catalog that far, the request runs
    /// again, and a table still unknown then is unknown to the cluster. Answers `refusal`
    /// at once when the catalog group cannot be asked (no leader known) or too many wait.
    mutating func waitForCatalog(_ request: RegionRequest, refusal: MeridianError) throws -> RegionReply {
        guard state.catalogWaits.count < RegionState.catalogWaitsMax, let group = state.consensus.groups[CatalogGroup.name] else { throw refusal }
        let status = group.node.status
        if status.role == .leader && group.node.isLeaseValid && group.appliedIndex >= status.commit {
            // The catalog's leader, sure that it leads and with everything committed applied:
            // the table is unknown to the cluster.
            throw refusal
        }
        let ticket = state.issueTicket()
        // Without a leader the wait asks the first one elected (`tendCatalogWaiters`).
        let asked = (try? state.consensus.groups[CatalogGroup.name]!.node.readIndex(context: ticket.bigEndianBytes)) != nil
        state.catalogWaits[ticket] = CatalogWait(request: request, readIndex: nil,
                                                 deadlineMilliseconds: wallMilliseconds + RegionState.catalogWaitMilliseconds, askedOf: asked ? status.leader : nil)
        return .pending(ticket: ticket)
    }

    /// Runs again every waiting request whose read index the catalog has reached; answers
    /// those past their deadline with `table_not_found`.
    mutating func serveCatalogWaits(writer: any StorageWriter) throws {
        guard !state.catalogWaits.isEmpty else { return }
        let applied = state.consensus.groups[CatalogGroup.name]?.appliedIndex ?? 0
        for (ticket, wait) in state.catalogWaits.sorted(by: { $0.key < $1.key }) {
            let ready = wait.readIndex.map { applied >= $0 } ?? false
            guard ready || wallMilliseconds >= wait.deadlineMilliseconds else { continue }
            state.catalogWaits[ticket] = nil
            let outcome: Result<RegionReply, MeridianError>
            do {
                outcome = .success(try replyWithoutCatalogWait(to: wait.request, reader: writer, writer: writer))
            } catch let error as MeridianError where error.kind != .internalError {
                outcome = .failure(error)
            }
            if case .success(.pending(let next)) = outcome {
                // The request now waits on something else (a commit, a read index): its answer
                // comes under the new ticket, which stands for this one.
                state.ticketAliases[next] = ticket
            } else {
                state.completions.append((ticket, outcome))
            }
        }
    }

    /// Records the catalog group's read index for the waits it answers.
    mutating func noteCatalogReadIndex(context: [UInt8], index: UInt64) {
        guard let ticket = UInt64(bigEndianBytes: context), state.catalogWaits[ticket] != nil else { return }
        state.catalogWaits[ticket]?.readIndex = index
    }

    /// Fails catalog proposals whose deadline passed (their outcome is unknown); hands the
    /// others, and the read indexes waits asked for, to a leader that replaced the one they
    /// went to.
    mutating func tendCatalogWaiters() {
        guard var group = state.consensus.groups.removeValue(forKey: CatalogGroup.name) else { return }
        defer { state.consensus.groups[CatalogGroup.name] = group }
        let leader = group.node.status.leader
        for (proposal, waiter) in state.catalogWaiters.sorted(by: { $0.value.ticket < $1.value.ticket }) {
            if waiter.deadlineMilliseconds <= wallMilliseconds {
                state.catalogWaiters[proposal] = nil
                state.completions.append((waiter.ticket, .failure(MeridianError(.unavailable, code: "commit_timeout",
                    "the catalog change was not committed within \(region.configuration.raft.proposalTimeoutMilliseconds) ms; it may still be applied later"))))
            } else if let leader, leader != waiter.handedTo, (try? group.node.forwardProposal(waiter.command.bytes)) != nil {
                state.catalogWaiters[proposal]?.handedTo = leader
            }
        }
        for (ticket, wait) in state.catalogWaits.sorted(by: { $0.key < $1.key }) where wait.readIndex == nil {
            guard let leader, leader != wait.askedOf, (try? group.node.readIndex(context: ticket.bigEndianBytes)) != nil else { continue }
            state.catalogWaits[ticket]?.askedOf = leader
        }
    }

    // MARK: Snapshots

    /// The catalog group's snapshot data: every record of the catalog.
    func catalogSnapshotData() -> [UInt8] {
        CatalogSnapshot.encode(state.catalog.values.sorted { $0.name < $1.name })
    }

    /// Merges a catalog snapshot's records (each a committed state of its table).
    mutating func installCatalogSnapshot(_ data: [UInt8], writer: any StorageWriter) throws {
        guard let records = CatalogSnapshot.decode(data) else {
            state.counters.invalidRecords += 1
            return
        }
        for record in records { try mergeCatalog(record, writer: writer) }
    }
}
