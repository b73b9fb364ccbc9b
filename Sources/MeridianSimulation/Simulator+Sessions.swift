import MeridianCore
import MeridianRegion
import MeridianStorage

/// One client session: it moves between regions, carries its token (what it has seen, as
/// the `Meridian-Session` header carries it), and sends one request at a time.
struct SessionClient {
    let id: Int
    /// The region it talks to now.
    var region: RegionID
    var marks = SessionMarks()
    /// The number of its latest request, and until when it waits for the answer (`nil`:
    /// not waiting). An answer to an earlier request, after the session gave up, is ignored.
    var requests = 0
    var waitingUntil: UInt64?
}

/// Sessions: clients that write and read through `session` and `bounded` reads while moving
/// between regions, and the checkers that hold their reads to read-your-writes, monotonic
/// reads and bounded staleness.
extension Simulator {
    /// Sessions in a run.
    static let sessionsCount = 4
    /// The pause between a session's requests, in milliseconds.
    static let sessionPauseMilliseconds: ClosedRange<UInt64> = 20...200
    /// How often a session moves to another region before a request, in percent.
    static let sessionMovePercent = 30
    /// How long a session waits for an answer before it gives up on it, in milliseconds
    /// (longer than a commit's timeout).
    static let sessionRequestTimeoutMilliseconds: UInt64 = 6_000
    /// How long after a clock excursion bounded reads go unchecked, in milliseconds.
    static let boundedCheckQuietMilliseconds: UInt64 = 3_000

    /// A session's turn: unless it still waits for an answer, it may move to another region
    /// and sends its next request there.
    func runSession(_ index: Int) {
        guard clientsActive else { return }
        queue.schedule(.session(index), at: now + random.uniform(in: Self.sessionPauseMilliseconds))
        var session = sessions[index]
        if let until = session.waitingUntil, now < until { return }
        if random.chance(percent: Self.sessionMovePercent) { session.region = random.element(of: configuration.regions) }
        session.requests += 1
        session.waitingUntil = now + Self.sessionRequestTimeoutMilliseconds
        let client = workload.nextSessionRequest(session: index, number: session.requests, marks: session.marks, in: session.region,
                                                 now: now, random: &random)
        sessions[index] = session
        enqueue(.client(client), for: node(session.region))
    }

    /// Whether `client` is the request its session waits for.
    func isCurrent(_ client: ClientRequest) -> Bool {
        guard let (id, number) = client.session else { return false }
        return sessions[id].requests == number && sessions[id].waitingUntil != nil
    }

    /// The session's request ended (answered, refused for good, or its outcome unknown).
    func endSessionRequest(_ client: ClientRequest) {
        guard isCurrent(client), let (id, _) = client.session else { return }
        sessions[id].waitingUntil = nil
    }

    /// Whether the run holds sessions to their guarantees: under `SyncPolicy.normal` a power
    /// loss may take back what a session saw, which that policy allows.
    var checksSessions: Bool { configuration.syncPolicy == .full }

    /// A session's write was acknowledged by `node` with these marks after it: the session
    /// takes them, and the checker remembers what it wrote.
    func sessionWrote(_ client: ClientRequest, in node: SimulatedNode, marks: SessionMarks, version: ItemVersion, vector: VersionVector?) {
        guard isCurrent(client), let (id, _) = client.session else { return }
        sessions[id].marks = sessions[id].marks.merged(with: marks.touching(client.table.name))
        let address = SessionChecker.Address(session: id, table: client.table.name, key: client.key)
        if let vector {
            sessionChecker.wrote(address, vector: vector, version: version)
        } else {
            sessionChecker.wrote(address, version: version)
        }
        record("session \(id) wrote \(client.table.name)/\(client.key) in \(node.id) at \(version.token)")
    }

    /// The reply to a session's `session` or `bounded` read.
    func handleSessionRead(_ reply: Result<RegionReply, MeridianError>, to client: ClientRequest, in node: SimulatedNode, marks: SessionMarks) {
        let described = "\(node.id) \(client.operation.rawValue) \(client.table.name)/\(client.key) session \(client.session?.id ?? -1)"
        switch reply {
        case .success(.pending(let ticket)):
            node.pendingCalls[ticket] = client
            record("\(described) -> waits (ticket \(ticket))")
        case .success(.item(let item, _)):
            record("\(described) -> \(item.value.map(Self.text) ?? "tombstone") at \(item.version.token)")
            if client.operation == .boundedGet { counters.boundedReadsServed += 1 } else { counters.sessionReadsServed += 1 }
            guard isCurrent(client), let (id, _) = client.session else { return }
            if checksSessions, let violation = checkRead(item, of: client, session: id, in: node) { return fail(violation) }
            sessions[id].marks = sessions[id].marks.merged(with: marks.touching(client.table.name))
            endSessionRequest(client)
        case .failure(let error) where (error.code == "session_not_ready" || error.code == "staleness_unprovable") && client.attempts < 2:
            // As the HTTP edge does: on the final refusal, forward once (to the leader it names,
            // else to another region).
            let others = configuration.regions.filter { $0 != node.id }
            let target = error.redirect ?? random.element(of: others)
            var next = client
            next.attempts += 1
            record("\(described) -> \(error.code); forwarded to \(target)")
            queue.schedule(.resend(next, to: target), at: now + LatencyTable.oneWay(from: node.id, to: target))
        case .failure(let error):
            record("\(described) -> \(error.code)")
            counters.requestsRefused += 1
            endSessionRequest(client)
        case .success(let other):
            preconditionFailure("a session read answered \(other)")
        }
    }

    /// Checks a session or bounded read against what the session (or the cluster) saw.
    private func checkRead(_ item: StoredItem, of client: ClientRequest, session id: Int, in node: SimulatedNode) -> Violation? {
        let address = SessionChecker.Address(session: id, table: client.table.name, key: client.key)
        guard let record = item.record else {
            return client.operation == .sessionGet ? sessionChecker.read(address, version: item.version, servedBy: node.id) : nil
        }
        if client.operation == .boundedGet {
            guard boundedReadsCheckable else { return nil }
            return boundedChecker.check(table: client.table.name, key: client.key, record: record, bound: client.boundMilliseconds,
                                        servedAt: now, servedBy: node.id, origins: configuration.regions)
        }
        return sessionChecker.read(address, record: record, servedBy: node.id)
    }

    /// Whether every clock is within its bound and has been for a while.
    private var boundedReadsCheckable: Bool {
        !activeFaults.contains { $0.kind == .clockExcursion }
            && lastClockExcursionEndMilliseconds.map { now >= $0 + Self.boundedCheckQuietMilliseconds } ?? true
    }
}
