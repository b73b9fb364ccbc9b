import MeridianCore
import MeridianRaft
import MeridianRegion
import MeridianStorage

/// How one attempt of a call on a `primary` or `strong` table ended, as its client reads it.
enum ConsensusAttemptOutcome {
    /// The call returned: it took effect (or observed) as `operation` says.
    case returned(RegisterOperation)
    /// The call may or may not take effect, at any time after its invocation.
    case unknown
    /// The region refused it, or gave up on it, before it could take effect; the client may
    /// try again at its own region (`nil`) or at the leader it named.
    case refused(redirect: RegionID?)
}

/// Clients of the `primary` and `strong` tables: pending tickets and their completions,
/// redirects to the leader, the operation history for the linearizability check, and the
/// Raft observations after every step (leaders per term, committed entries).
extension Simulator {
    /// How long a client waits before it tries again after a refusal without a redirect,
    /// in milliseconds.
    static let consensusRetryDelayMilliseconds: ClosedRange<UInt64> = 50...150

    // MARK: Replies

    /// Handles the reply to one attempt of a call on a consensus table, at `node`.
    func handleConsensus(_ reply: Result<RegionReply, MeridianError>, to client: ClientRequest, in node: SimulatedNode, marks: SessionMarks) {
        let described = "\(node.id) \(client.operation.rawValue) \(client.table.name)/\(client.key) call \(client.call)"
        if case .success(.pending(let ticket)) = reply {
            node.pendingCalls[ticket] = client
            record("\(described)\(client.value.map { " " + Self.text($0) } ?? "") -> pending ticket \(ticket)")
            return
        }
        let outcome = Self.outcome(of: reply, to: client)
        switch outcome {
        case .returned(let operation):
            record("\(described) -> \(Self.describe(reply))")
            switch reply {
            case .success(.written(_, let version, _)), .success(.deleted(_, let version)):
                sessionWrote(client, in: node, marks: marks, version: version, vector: nil)
            default:
                break
            }
            finish(client, operation: operation, returnedAt: now)
            remember(reply, of: client)
        case .unknown:
            record("\(described) -> \(Self.describe(reply)) (outcome unknown)")
            finish(client, operation: Self.registerOperation(of: client, succeeded: nil), returnedAt: nil)
        case .refused(let redirect):
            resend(client, from: node, to: redirect, after: Self.describe(reply), described: described)
        }
    }

    /// Handles the results of earlier `.pending` replies that a step produced, in ticket
    /// order: the region lists the ones that timed out in the order of a dictionary, which
    /// the process's hash seed decides, and the run must not depend on it.
    func handleCompletions(_ completions: [(ticket: UInt64, result: Result<RegionReply, MeridianError>)], in node: SimulatedNode,
                           localWrites: LocalWrites, marks: SessionMarks) {
        for completion in completions.sorted(by: { $0.ticket < $1.ticket }) {
            if let index = node.pendingCreations.removeValue(forKey: completion.ticket) {
                recordTableCreation(index, completion.result, in: node)
                continue
            }
            guard let client = node.pendingCalls.removeValue(forKey: completion.ticket) else {
                preconditionFailure("\(node.id) completed ticket \(completion.ticket), which no call waits for")
            }
            handle(completion.result, to: client, in: node, localWrites: localWrites, marks: marks)
        }
    }

    /// Sends a refused call again: to the leader the region named, over the link between
    /// them (as the HTTP forwarder does), or to the client's own region after a pause;
    /// gives up after `client.attemptsMax` attempts (the call took no effect).
    private func resend(_ client: ClientRequest, from node: SimulatedNode, to redirect: RegionID?, after refusal: String, described: String) {
        guard client.attempts < client.attemptsMax, let home = client.home else {
            record("\(described) -> \(refusal); gives up after \(client.attempts) attempts")
            finishWithoutEffect(client)
            return
        }
        var next = client
        next.attempts += 1
        if let redirect, redirect != node.id, network.connection(RegionPair(node.id, redirect)).isUp {
            counters.consensusRedirects += 1
            record("\(described) -> \(refusal); forwarded to \(redirect)")
            queue.schedule(.resend(next, to: redirect), at: now + LatencyTable.oneWay(from: node.id, to: redirect))
        } else {
            record("\(described) -> \(refusal); tries \(home) again")
            queue.schedule(.resend(next, to: home), at: now + random.uniform(in: Self.consensusRetryDelayMilliseconds))
        }
    }

    /// Records a call in the history; `returnedAt` nil: its outcome is unknown.
    private func finish(_ client: ClientRequest, operation: RegisterOperation, returnedAt: UInt64?) {
        endSessionRequest(client)
        if returnedAt == nil { counters.consensusOutcomesUnknown += 1 }
        if case .read = operation, returnedAt != nil { counters.strongReadsServed += 1 }
        if returnedAt != nil, case .write = operation { counters.consensusWritesAcknowledged += 1 }
        if returnedAt != nil, case .compareAndSet(_, _, true) = operation { counters.consensusWritesAcknowledged += 1 }
        consensusHistory.append(HistoryEvent(key: "\(client.table.name)/\(client.key)", client: client.call,
                                             invokedAt: client.invokedAt - Self.startMilliseconds,
                                             returnedAt: returnedAt.map { $0 - Self.startMilliseconds }, operation: operation))
        finalReadsOutstanding.remove(client.call)
    }

    private func finishWithoutEffect(_ client: ClientRequest) {
        endSessionRequest(client)
        if finalReadsOutstanding.remove(client.call) != nil {
            finalReadsFailed.append("\(client.table.name)/\(client.key)")
        }
    }

    /// What a client remembers of a returned call, for its next compare-and-set.
    private func remember(_ reply: Result<RegionReply, MeridianError>, of client: ClientRequest) {
        guard let home = client.home else { return }
        switch reply {
        case .success(.written(let key, let version, _)):
            workload.rememberValue(region: home, table: client.table.name, key: key, version: version, value: client.value.map(Self.text))
        case .success(.item(let item, _)):
            workload.rememberValue(region: home, table: client.table.name, key: item.key, version: item.version, value: item.value.map(Self.text))
        case .success(.deleted(let key, _)):
            workload.rememberValue(region: home, table: client.table.name, key: key, version: nil, value: nil)
        case .failure(let error) where error.code == MeridianError.itemNotFound.code:
            workload.rememberValue(region: home, table: client.table.name, key: client.key, version: nil, value: nil)
        default:
            break
        }
    }

    /// Reads a reply to a call on a consensus table as a register operation, or as a refusal.
    static func outcome(of reply: Result<RegionReply, MeridianError>, to client: ClientRequest) -> ConsensusAttemptOutcome {
        switch reply {
        case .success(.written), .success(.deleted):
            return .returned(registerOperation(of: client, succeeded: true))
        case .success(.item(let item, _)):
            return .returned(.read(observed: item.value.map(text)))
        case .success:
            return .unknown
        case .failure(let error):
            switch error.code {
            case "not_leader":
                return .refused(redirect: error.redirect)
            case "no_leader", "not_accepting_writes", "not_accepting_reads", "overloaded", "write_dropped", "table_not_found", "read_timeout":
                // A read that timed out never returned: it tells nothing, and may be sent again.
                return .refused(redirect: nil)
            case "precondition_failed" where client.operation == .putIfMatch || client.operation == .putIfAbsent || client.operation == .deleteIfMatch:
                return .returned(registerOperation(of: client, succeeded: false))
            case MeridianError.itemNotFound.code where client.operation == .strongGet || client.operation == .delete:
                // A delete of an absent item changes nothing: it observed the absence.
                return .returned(.read(observed: nil))
            default:
                // `commit_timeout`, and anything unexpected: it may still take effect.
                return .unknown
            }
        }
    }

    /// The register operation a write call performs; `succeeded` is its compare-and-set
    /// outcome (`nil`: unknown).
    static func registerOperation(of client: ClientRequest, succeeded: Bool?) -> RegisterOperation {
        let written = client.value.map(text)
        switch client.operation {
        case .putIfMatch, .deleteIfMatch:
            return .compareAndSet(expected: client.expectedValue, new: written, succeeded: succeeded)
        case .putIfAbsent:
            return .compareAndSet(expected: nil, new: written, succeeded: succeeded)
        case .put, .delete, .putWithContext:
            return .write(written)
        case .get, .strongGet, .sessionGet, .boundedGet:
            preconditionFailure("a read has no write operation")
        }
    }

    static func describe(_ reply: Result<RegionReply, MeridianError>) -> String {
        switch reply {
        case .success(.written(_, let version, _)): return "written at \(version.token)"
        case .success(.deleted(_, let version)): return "deleted at \(version.token)"
        case .success(.item(let item, _)): return "\(item.value.map(text) ?? "tombstone") at \(item.version.token)"
        case .success(let reply): return "\(reply)"
        case .failure(let error): return error.redirect.map { "\(error.code) (leader \($0))" } ?? error.code
        }
    }

    // MARK: Crashes and the end of the run

    /// The calls a crashed region held (or that are still pending at the end of the run):
    /// their outcome is unknown.
    func abandonPendingCalls(of node: SimulatedNode) {
        for (ticket, client) in node.pendingCalls.sorted(by: { $0.key < $1.key }) {
            record("\(node.id) crashed holding call \(client.call) (ticket \(ticket)): outcome unknown")
            // A read that never returned tells nothing; a write may still take effect. A call on
            // a multi-primary table waited for the catalog and never ran: nothing to record.
            let isRead = client.operation == .strongGet || client.operation == .sessionGet || client.operation == .boundedGet || client.operation == .get
            guard !isRead, client.table.isConsensus else {
                finishWithoutEffect(client)
                continue
            }
            finish(client, operation: Self.registerOperation(of: client, succeeded: nil), returnedAt: nil)
        }
        node.pendingCalls = [:]
        // A creation that waited for the catalog: its operator tries again.
        for index in node.pendingCreations.sorted(by: { $0.key < $1.key }).map(\.value) where phase == .writing {
            queue.schedule(.createTable(index, node.id), at: now + Self.createRetryMilliseconds)
        }
        node.pendingCreations = [:]
    }

    /// Once every fault healed: one strong read of every key of every consensus table, sent
    /// to a random region, so that a write the group lost shows up; then the linearizability
    /// check over the whole history.
    func checkConsensusHistory() {
        for table in workload.tables where table.isConsensus {
            for key in workload.consensusKeys {
                let region = random.element(of: configuration.regions)
                let read = workload.finalRead(table: table, key: key, in: region, now: now)
                finalReadsOutstanding.insert(read.call)
                enqueue(.client(read), for: node(region))
            }
        }
        let deadline = now + configuration.quiesceMillisecondsMax
        while !finalReadsOutstanding.isEmpty && failure == nil && now < deadline && processNextEvent() {}
        guard failure == nil else { return }
        guard finalReadsOutstanding.isEmpty && finalReadsFailed.isEmpty else {
            let missing = finalReadsFailed + (finalReadsOutstanding.isEmpty ? [] : ["\(finalReadsOutstanding.count) unanswered"])
            return fail(Violation(.convergence, "the final strong reads did not all succeed within \(configuration.quiesceMillisecondsMax) ms after every fault healed: \(missing.joined(separator: ", "))"))
        }
        for node in nodes { abandonPendingCalls(of: node) }
        let outcome = LinearizabilityHistoryChecker.check(consensusHistory)
        if let key = outcome.undecidedKey { record("linearizability: the search for \(key) gave up (undecided)") }
        if let violation = outcome.violation { return fail(violation) }
        record("linearizability: \(consensusHistory.count) calls on \(Set(consensusHistory.map(\.key)).count) keys explained")
    }

    // MARK: Raft observations

    /// After a step of `node`: the leaders its groups know, the entries it persisted, and
    /// the entries it committed since the last look.
    func observeRaft(_ node: SimulatedNode) {
        for write in node.storage.takeRaftWrites() {
            guard let table = try? TableName(write.group) else { preconditionFailure("a Raft group is named by its table") }
            if let violation = committedEntryChecker.observeWritten(region: node.id, table: table, entries: write.entries) { fail(violation) }
        }
        guard let region = node.region else { return }
        for (table, status) in region.raftStatuses.sorted(by: { $0.key < $1.key }) {
            let leader = status.role == RaftRole.leader.rawValue ? node.id : status.leader
            if let leader, let violation = leaderChecker.observe(table: table, term: status.term, leader: leader, observedBy: node.id) {
                fail(violation)
            }
            let mark = committedEntryChecker.checkedIndex(region: node.id, table: table)
            guard status.commitIndex > mark else { continue }
            let entries: [StoredRaftEntry]
            do {
                entries = try node.storage.read { reader in
                    try reader.raftEntries(group: table.name, from: mark + 1, limit: Int(status.commitIndex - mark))
                }
            } catch {
                preconditionFailure("simulated storage failed a read: \(error)")
            }
            let committed = entries.filter { $0.index <= status.commitIndex }
            if let violation = committedEntryChecker.observeCommitted(region: node.id, table: table, entries: committed) { fail(violation) }
            for entry in committed {
                if let version = committedWriteVersion(ofStoredEntry: entry.bytes) { sessionChecker.committed(table: table, version: version, index: entry.index) }
            }
        }
    }

    /// Whether every consensus table's group agrees everywhere: one leader that every region
    /// follows in one term, and every region holding and having applied the same log.
    var consensusIsQuiescent: Bool {
        for table in workload.tables where table.isConsensus {
            let statuses = nodes.compactMap { $0.region?.raftStatuses[table.name] }
            guard statuses.count == nodes.count, let first = statuses.first, let leader = first.leader,
                  statuses.contains(where: { $0.role == RaftRole.leader.rawValue })
            else { return false }
            for status in statuses {
                guard status.term == first.term, status.leader == leader, status.lastIndex == first.lastIndex,
                      status.commitIndex == status.lastIndex, status.appliedIndex == status.lastIndex
                else { return false }
            }
        }
        return true
    }

    /// The consensus tables' groups as each region sees them, for the trace.
    var raftDescription: String {
        workload.tables.filter(\.isConsensus).map { table in
            "\(table.name): " + nodes.map { node in
                guard let status = node.region?.raftStatuses[table.name] else { return "\(node.id) -" }
                return "\(node.id) \(status.role)@\(status.term) commit \(status.commitIndex) applied \(status.appliedIndex) last \(status.lastIndex)"
            }.joined(separator: ", ")
        }.joined(separator: "; ")
    }
}
