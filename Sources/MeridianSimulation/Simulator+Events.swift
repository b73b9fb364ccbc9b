import MeridianCore
import MeridianRegion
import MeridianReplication
import MeridianStorage

/// The scheduler's events, the regions' queues and steps, connections and processes.
extension Simulator {
    /// Runs the next event; false when none is left.
    func processNextEvent() -> Bool {
        guard let next = queue.next() else { return false }
        precondition(next.time >= now, "virtual time never goes backwards")
        now = next.time
        stepsRun += 1
        handle(next.event)
        return true
    }

    private func handle(_ event: SimulationEvent) {
        switch event {
        case .createTable(let index, let region):
            enqueue(.createTable(index), for: node(region))
        case .client(let region):
            guard clientsActive else { return }
            let count = 1 + random.weightedIndex(Self.requestsPerClientEventWeights)
            for _ in 0..<count { enqueue(.client(workload.nextRequest(in: region, now: now, random: &random)), for: node(region)) }
            queue.schedule(.client(region), at: now + random.uniform(in: Self.clientPauseMilliseconds))
        case .tick(let region):
            enqueue(.input(.tick), for: node(region))
            queue.schedule(.tick(region), at: now + Self.tickIntervalMilliseconds + random.uniform(in: 0...Self.tickJitterMilliseconds))
        case .delivery(let envelope):
            let receiver = node(envelope.to)
            guard receiver.isAlive, network.admits(envelope) else { return }
            enqueue(.input(.message(from: envelope.from, envelope.message)), for: receiver)
        case .runStep(let region):
            runStep(node(region))
        case .reconnect(let pair):
            reconnect(pair)
        case .checkpoint(let region):
            node(region).storage.checkpoint()
            queue.schedule(.checkpoint(region), at: now + random.uniform(in: Self.checkpointIntervalMilliseconds))
        case .clockDrift(let region):
            node(region).clock.driftOneSecond(random: &random)
            queue.schedule(.clockDrift(region), at: now + 1000)
        case .injectFault:
            guard phase == .writing else { return }
            injectFault()
            queue.schedule(.injectFault, at: now + random.uniform(in: configuration.faults.decisionIntervalMilliseconds))
        case .heal(let faultID):
            heal(faultID: faultID)
        case .resend(let client, let region):
            enqueue(.client(client), for: node(region))
        case .session(let index):
            runSession(index)
        }
    }

    // MARK: Queues and steps

    /// Queues an input for a region's next step, scheduling the step when none is.
    func enqueue(_ pending: PendingInput, for node: SimulatedNode) {
        guard node.isAlive else {
            switch pending {
            case .client:
                counters.requestsUnavailable += 1
            case .createTable(let index):
                // The region is down: its operator tries again a little later.
                queue.schedule(.createTable(index, node.id), at: now + 200)
            case .input:
                break
            }
            return
        }
        switch node.inbox.enqueue(pending, isTick: pending.isTick) {
        case .queued:
            break
        case .coalesced:
            return
        case .refused:
            // The region's queue is full: a request is refused (503), a message dropped.
            if case .client = pending { counters.requestsUnavailable += 1 }
            return
        }
        guard !node.stepScheduled else { return }
        node.stepScheduled = true
        queue.schedule(.runStep(node.id), at: max(now, node.busyUntil))
    }

    /// Runs one step over a batch of the region's queue (`InputQueue`, the node's limits); the region stays busy for
    /// the step's duration, and what it sends leaves when the step ends (after its commit).
    private func runStep(_ node: SimulatedNode) {
        node.stepScheduled = false
        guard let region = node.region, !node.inbox.isEmpty else { return }
        let batch = node.inbox.nextBatch(isTick: \.isTick)
        let requested = requestedItems(batch, in: node)
        let output = region.step(batch.map { input(of: $0) }, wallMilliseconds: node.clock.wallMilliseconds(at: now), monotonicMilliseconds: now)
        let writes = node.storage.takeItemWrites()
        if let violation = changeFeedChecker.observe(region: node.id, writes: writes, changes: node.storage.takeChangeWrites()) { fail(violation) }
        let marks = SessionMarks(positions: output.applied, raft: output.raftApplied)
        let localWrites = LocalWrites(writes, before: requested.before, requested: requested.addresses, region: node.id)
        observe(writes, in: node)
        record(batch, output: output, localWrites: localWrites, marks: marks, in: node)
        handleCompletions(output.completions, in: node, localWrites: localWrites, marks: marks)
        for version in stepVersions.sorted(by: { $0.timestamp < $1.timestamp }) {
            if let violation = timestampChecker.observe(region: node.id, version: version) { fail(violation) }
        }
        stepVersions = []
        observeRaft(node)
        node.busyUntil = now + random.uniform(in: Self.stepMilliseconds)
        for (peer, message) in output.messages { send(message, from: node.id, to: peer, at: node.busyUntil) }
        if !node.inbox.isEmpty {
            node.stepScheduled = true
            queue.schedule(.runStep(node.id), at: node.busyUntil)
        }
    }

    private func input(of pending: PendingInput) -> RegionInput {
        switch pending {
        case .client(let client): return .request(client.request)
        case .createTable(let index):
            let table = workload.tables[index]
            return .request(.createTable(table.name, definition: table.definition))
        case .input(let input): return input
        }
    }

    /// The watchful checkers' view of every item a step committed.
    private func observe(_ writes: [SimulatedStorage.ItemWrite], in node: SimulatedNode) {
        for write in writes {
            if let violation = residencyChecker.observe(region: node.id, table: write.table, key: write.item.key) { fail(violation) }
            guard let vector = write.item.record?.vector else { continue }
            if let violation = vectorChecker.observe(region: node.id, table: write.table, key: write.item.key, vector: vector) { fail(violation) }
        }
    }

    private func send(_ message: PeerMessage, from: RegionID, to: RegionID, at time: UInt64) {
        if case .replication(.entries(let entries)) = message {
            for entry in entries {
                if let violation = originLogChecker.observe(entry, sentBy: from) { fail(violation) }
                if let violation = residencyChecker.observeShipment(entry, from: from, to: to) { fail(violation) }
            }
            if configuration.mutation == .leakResidency { leakOneEntry(of: entries, from: from, at: time) }
        }
        for delivery in network.transmit(message, from: from, to: to, now: time, random: &random) {
            queue.schedule(.delivery(delivery.envelope), at: delivery.time)
        }
    }

    /// The `leak-residency` mutation: the first full entry of a confined table is also sent
    /// to a region outside its list.
    private func leakOneEntry(of entries: [LogEntry], from: RegionID, at time: UInt64) {
        guard !residencyLeaked else { return }
        for entry in entries {
            guard case .item(let table, _, _) = entry.payload, let allowed = residencyChecker.regionsByTable[table.name],
                  let outsider = configuration.regions.first(where: { !allowed.contains($0) && $0 != from }) else { continue }
            residencyLeaked = true
            record("mutation leak-residency: \(entry.origin)#\(entry.sequence) also sent to \(outsider)")
            send(.replication(.entries([entry])), from: from, to: outsider, at: time)
            return
        }
    }

    /// Traces a step's inputs and handles each reply, in input order.
    private func record(_ batch: [PendingInput], output: RegionOutput, localWrites: LocalWrites, marks: SessionMarks, in node: SimulatedNode) {
        var replies = output.replies.makeIterator()
        for pending in batch {
            switch pending {
            case .input(.message(let from, let message)):
                record("\(node.id) <- \(from) \(describe(message))")
            case .input(.peerConnected(let peer)):
                record("\(node.id) connected to \(peer)")
            case .input(.peerDisconnected(let peer)):
                record("\(node.id) disconnected from \(peer)")
            case .input(.tick), .input(.request):
                break
            case .createTable(let index):
                guard let reply = replies.next() else { preconditionFailure("a step returned fewer replies than requests") }
                recordTableCreation(index, reply, in: node)
            case .client(let client):
                guard let reply = replies.next() else { preconditionFailure("a step returned fewer replies than requests") }
                handle(reply, to: client, in: node, localWrites: localWrites, marks: marks)
            }
        }
        precondition(replies.next() == nil, "a step returned more replies than requests")
    }

    /// The outcome of a table creation. It waits for the catalog group (`.pending`, then a
    /// completion); one refused because the catalog has no leader yet, or whose outcome is
    /// unknown, is sent again a little later, as an operator would.
    func recordTableCreation(_ index: Int, _ reply: Result<RegionReply, MeridianError>, in node: SimulatedNode) {
        let table = workload.tables[index]
        switch reply {
        case .success(.tableCreated(_, let created)):
            record("\(node.id) create table \(table.name) (\(table.kindName)) -> \(created ? "created" : "exists")")
        case .success(.pending(let ticket)):
            node.pendingCreations[ticket] = index
            record("\(node.id) create table \(table.name) -> waits for the catalog (ticket \(ticket))")
        case .success(let reply):
            preconditionFailure("createTable answered \(reply)")
        case .failure(let error):
            record("\(node.id) create table \(table.name) -> \(error.code)")
            if phase == .writing { queue.schedule(.createTable(index, node.id), at: now + Self.createRetryMilliseconds) }
        }
    }

    // MARK: Connections and processes

    /// Brings every connection to what the faults and processes allow: down at once when
    /// something prevents it (both live ends are told), back up after a delay otherwise.
    func reconcileConnections() {
        for pair in pairs {
            let allowed = isConnectionAllowed(pair)
            let connection = network.connection(pair)
            if connection.isUp && !allowed {
                network.bringDown(pair)
                record("disconnected \(pair)")
                for end in [pair.first, pair.second] { enqueue(.input(.peerDisconnected(pair.other(than: end))), for: node(end)) }
            } else if !connection.isUp && allowed && !connection.reconnectScheduled {
                network.setReconnectScheduled(pair, true)
                queue.schedule(.reconnect(pair), at: now + random.uniform(in: Self.reconnectDelayMilliseconds))
            }
        }
    }

    private func isConnectionAllowed(_ pair: RegionPair) -> Bool {
        node(pair.first).isAlive && node(pair.second).isAlive && !network.isCut(pair) && pair != relayCut
    }

    private func reconnect(_ pair: RegionPair) {
        network.setReconnectScheduled(pair, false)
        guard isConnectionAllowed(pair), !network.connection(pair).isUp else { return }
        network.bringUp(pair)
        record("connected \(pair) (epoch \(network.connection(pair).epoch))")
        enqueue(.input(.peerConnected(pair.second)), for: node(pair.first))
        enqueue(.input(.peerConnected(pair.first)), for: node(pair.second))
    }

    /// Kills a region's process, and its queue; with `powerLoss`, its storage also loses
    /// what it had not synced.
    func crash(_ node: SimulatedNode, powerLoss: Bool) {
        guard let region = node.region else { return }
        node.countersOfEarlierProcesses.add(region.counters)
        abandonPendingCalls(of: node)
        node.region = nil
        counters.requestsUnavailable += node.inbox.removeAll().filter { if case .client = $0 { return true } else { return false } }.count
        if powerLoss { losePower(node) }
        reconcileConnections()
    }

    private func losePower(_ node: SimulatedNode) {
        let durable = node.storage.durableCommitCount
        let lost = node.storage.losePower()
        guard lost > 0 else { return }
        var writesLost = 0
        for index in acknowledgedWrites.indices where acknowledgedWrites[index].region == node.id
            && acknowledgedCommits[index] > durable && !acknowledgedWrites[index].lostToPowerLoss {
            acknowledgedWrites[index].lostToPowerLoss = true
            writesLost += 1
        }
        counters.writesLostToPowerLoss += writesLost
        vectorChecker.forget(region: node.id)
        changeFeedChecker.forget(region: node.id)
        timestampChecker.forget(region: node.id)
        committedEntryChecker.forget(region: node.id)
        record("\(node.id) lost \(lost) unsynced commits (\(writesLost) acknowledged writes)")
    }

    func restart(_ node: SimulatedNode) {
        guard !node.isAlive else { return }
        do {
            node.region = try Region(configuration: node.configuration, storage: node.storage)
        } catch {
            return fail(Violation(.convergence, "\(node.id) failed to restart over its storage: \(error)"))
        }
        let applied = node.region?.appliedPositions ?? Positions()
        record("\(node.id) restarted: applied \(describe(applied))")
        if let violation = originLogChecker.restarted(origin: node.id, ownSequence: applied[node.id]) { fail(violation) }
        reconcileConnections()
    }
}
