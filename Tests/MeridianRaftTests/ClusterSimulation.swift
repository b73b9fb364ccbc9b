@_spi(Simulation) import MeridianRaft

/// The test's own SplitMix64: one seed drives a whole simulated run.
struct SimulationGenerator: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func chance(_ percent: Int) -> Bool {
        Int.random(in: 0..<100, using: &self) < percent
    }
}

/// A whole group under a hostile network (loss, duplication, reordering, partitions), clocks
/// running at different rates, and crashes (a node restarts from what its Readies
/// persisted), with the safety checks run after every action. One seed replays a run exactly.
struct ClusterSimulation {
    let seed: UInt64
    var generator: SimulationGenerator
    let names: [RaftNodeID]
    var nodes: [RaftNodeID: SimulatedNode] = [:]
    var inFlight: [RaftMessage] = []
    /// One side of the current partition; empty when the network is whole.
    var cutOff: Set<RaftNodeID> = []
    var proposals = 0
    var reads = 0

    /// The rules a run is checked against.
    enum Check: String, CaseIterable {
        case oneLeaderPerTerm, voteKeptWithinTerm, committedEntriesAgree, appliedEntriesAgree, readsSeeEarlierCommits, progressAfterHealing
    }

    /// A broken rule and what broke it.
    struct Violation: CustomStringConvertible {
        let check: Check
        let seed: UInt64
        let voters: Int
        let step: Int
        let detail: String
        var description: String { "\(check) broken (seed \(seed), \(voters) voters, step \(step)): \(detail)" }
    }

    /// The first broken rule.
    var violation: Violation?
    /// The checks this run makes (all by default).
    var checks = Set(Check.allCases)
    /// Which violations count; others are ignored and the run goes on.
    var counts: (Violation) -> Bool = { _ in true }
    var leaderOfTerm: [UInt64: RaftNodeID] = [:]
    var committed: [UInt64: RaftEntry] = [:]
    var committedTerms: [UInt64: UInt64] = [:]
    var committedChecked: [RaftNodeID: UInt64] = [:]
    var applied: [UInt64: RaftEntry] = [:]
    /// What was committed when a read was asked.
    struct ReadRequest {
        /// The highest index any node knew committed.
        let floor: UInt64
        /// The reader's term.
        let term: UInt64
        /// The highest index committed by a leader of a newer term than the reader's, if any:
        /// a read below it was served by a deposed leader.
        let newerTermFloor: UInt64?
    }

    var readRequests: [[UInt8]: ReadRequest] = [:]
    var step = 0
    var statistics = Statistics()

    struct Statistics: CustomStringConvertible {
        var snapshotsSent = 0
        var readsAnswered = 0
        var restarts = 0
        var timeoutNowsSent = 0
        var description: String {
            "snapshots=\(snapshotsSent) reads=\(readsAnswered) restarts=\(restarts) timeoutNows=\(timeoutNowsSent)"
        }
    }

    /// The most messages the simulated network holds; the oldest are lost beyond it.
    static let inFlightMessagesMax = 256

    /// Each node's clock rate: the percentage of tick actions aimed at it that it takes.
    var tickPercents: [RaftNodeID: Int] = [:]
    /// Each node's role after the last action that touched it.
    var roles: [RaftNodeID: RaftRole] = [:]

    /// - Parameter leaseReads: reads use the leader lease; clock rates then stay within 5%
    ///   of each other (the lease's stated assumption) instead of 40 to 100%.
    init(seed: UInt64, voters count: Int, checkQuorum: Bool = true, fault: RaftFault? = nil, leaseReads: Bool = false) {
        self.seed = seed
        generator = SimulationGenerator(state: seed)
        names = Array(["n1", "n2", "n3", "n4", "n5"].prefix(count))
        for (offset, name) in names.enumerated() {
            var configuration = RaftConfiguration(id: name, voters: names, randomSeed: seed &* 31 &+ UInt64(offset))
            configuration.heartbeatTicks = 2
            configuration.entriesPerAppendMax = 4
            configuration.bytesPerAppendMax = 32
            configuration.inflightAppendsMax = 4
            configuration.pendingReadsMax = 8
            configuration.checkQuorum = checkQuorum
            configuration.fault = fault
            if leaseReads { configuration.readOnly = .leaseBased }
            nodes[name] = SimulatedNode(configuration: configuration)
            tickPercents[name] = Int.random(in: leaseReads ? 95...100 : 40...100, using: &generator)
        }
    }

    /// Runs `steps` random actions, then heals everything and checks the group still commits.
    mutating func run(steps: Int) -> Violation? {
        while step < steps && violation == nil {
            step += 1
            randomAction()
        }
        if violation == nil { checkProgressAfterHealing() }
        return violation
    }

    private mutating func randomAction() {
        let name = names[Int.random(in: 0..<names.count, using: &generator)]
        let roll = Int.random(in: 0..<1000, using: &generator)
        switch roll {
        case 0..<300: deliverRandomMessage()
        case 300..<600: if generator.chance(tickPercents[name]!) { nodes[name]!.node.tick() }
        case 600..<800: handleReady(name)
        case 800..<900:
            let target = leaderOrAnyone(name)
            propose(target)
            checkOneLeader(target)
        case 900..<950: readIndex(leaderOrAnyone(name))
        case 950..<965: cutOff = Set(names.filter { _ in generator.chance(40) })
        case 965..<970: cutOff = []
        case 970..<985: deliverRandomMessage()
        case 985..<990:
            nodes[name]!.restart()
            statistics.restarts += 1
            committedChecked[name] = nil
        case 990..<993:
            let target = names[Int.random(in: 0..<names.count, using: &generator)]
            let leader = leaderOrAnyone(name)
            nodes[leader]!.node.transferLeadership(to: target)
            checkOneLeader(leader)
        case 993..<995: nodes[name]!.node.campaign()
        default: compact(name)
        }
        checkOneLeader(name)
    }

    /// Some node that believes it leads, else `name`: most requests go where they can
    /// succeed, including to deposed leaders that do not know it yet.
    private func leaderOrAnyone(_ name: RaftNodeID) -> RaftNodeID {
        let leaders = names.filter { roles[$0] == .leader }
        return leaders.isEmpty ? name : leaders[Int(seed &+ UInt64(step)) % leaders.count]
    }

    private mutating func deliverRandomMessage() {
        guard !inFlight.isEmpty else { return }
        let message = inFlight.remove(at: Int.random(in: 0..<inFlight.count, using: &generator))
        if cutOff.contains(message.from) != cutOff.contains(message.to) || generator.chance(5) { return }
        if generator.chance(5) { inFlight.append(message) }
        nodes[message.to]!.node.step(message)
        checkOneLeader(message.to)
    }

    private mutating func propose(_ name: RaftNodeID) {
        proposals += 1
        _ = try? nodes[name]!.node.propose(Array("p\(proposals)".utf8))
    }

    private mutating func readIndex(_ name: RaftNodeID) {
        reads += 1
        let context = Array("r\(reads)".utf8)
        let floor = names.map { nodes[$0]!.node.status.commit }.max()!
        let term = nodes[name]!.node.status.term
        let newerTermFloor = committed.values.filter { $0.term > term }.map(\.index).max()
        do throws(RaftError) {
            try nodes[name]!.node.readIndex(context: context)
            readRequests[context] = ReadRequest(floor: floor, term: term, newerTermFloor: newerTermFloor)
        } catch {}
    }

    private mutating func compact(_ name: RaftNodeID) {
        let index = nodes[name]!.appliedIndex
        guard index > 2 else { return }
        let through = index - 2
        nodes[name]!.node.compact(through: through, snapshotData: [])
        nodes[name]!.storage.compact(through: through, voters: names, data: [])
    }

    @discardableResult
    private mutating func handleReady(_ name: RaftNodeID) -> Bool {
        let before = nodes[name]!.storage.hardState
        let appliedBefore = nodes[name]!.appliedIndex
        guard let ready = nodes[name]!.handleReady() else { return false }
        // A message across the partition is lost at once; the network buffers a bounded number.
        inFlight.append(contentsOf: ready.messages.filter { cutOff.contains($0.from) == cutOff.contains($0.to) })
        if inFlight.count > Self.inFlightMessagesMax { inFlight.removeFirst(inFlight.count - Self.inFlightMessagesMax) }
        statistics.snapshotsSent += ready.messages.filter { $0.kind == .snapshot }.count
        statistics.timeoutNowsSent += ready.messages.filter { $0.kind == .timeoutNow }.count
        statistics.readsAnswered += ready.readStates.count
        if let hardState = ready.hardState {
            if hardState.term < before.term { fail(.voteKeptWithinTerm, "\(name) persisted term \(hardState.term) after \(before.term)") }
            if hardState.term == before.term, let vote = before.vote, hardState.vote != vote {
                fail(.voteKeptWithinTerm, "\(name) changed its vote in term \(before.term) from \(vote) to \(hardState.vote ?? "nobody")")
            }
        }
        checkApplied(name, ready, appliedBefore: appliedBefore)
        checkCommittedPrefix(name)
        for read in ready.readStates {
            guard let request = readRequests[read.context] else { fail(.readsSeeEarlierCommits, "\(name) answered an unknown read"); continue }
            let context = String(decoding: read.context, as: UTF8.self)
            if let newerTermFloor = request.newerTermFloor, read.index < newerTermFloor {
                fail(.readsSeeEarlierCommits, "deposed leader \(name) of term \(request.term) answered read \(context) at index \(read.index), missing index \(newerTermFloor) committed in a newer term before the read began")
            } else if read.index < request.floor {
                fail(.readsSeeEarlierCommits, "\(name) answered read \(context) at index \(read.index), below \(request.floor) committed before the read began")
            }
        }
        return true
    }

    // MARK: Checks

    private mutating func fail(_ check: Check, _ detail: String) {
        guard violation == nil, checks.contains(check) else { return }
        let candidate = Violation(check: check, seed: seed, voters: names.count, step: step, detail: detail)
        if counts(candidate) { violation = candidate }
    }

    /// Records the node's role (every action ends here for each node it touched).
    private mutating func checkOneLeader(_ name: RaftNodeID) {
        let status = nodes[name]!.node.status
        roles[name] = status.role
        guard status.role == .leader else { return }
        if let other = leaderOfTerm[status.term], other != name {
            fail(.oneLeaderPerTerm, "two leaders in term \(status.term): \(other) and \(name)")
        }
        leaderOfTerm[status.term] = name
    }

    private mutating func checkApplied(_ name: RaftNodeID, _ ready: RaftReady, appliedBefore: UInt64) {
        var expected = (ready.snapshot?.index ?? appliedBefore) + 1
        for entry in ready.committedEntries {
            if entry.index != expected { fail(.appliedEntriesAgree, "\(name) applied \(entry.index) where \(expected) was next") }
            expected = entry.index + 1
            if let other = applied[entry.index], other != entry {
                fail(.appliedEntriesAgree, "\(name) applied \(entry.term)/\(entry.index) at \(entry.index), another node applied \(other.term)/\(other.index)")
            }
            applied[entry.index] = entry
        }
    }

    /// Every entry a node's persisted commit covers must be the entry any other node has at
    /// that index under its commit.
    private mutating func checkCommittedPrefix(_ name: RaftNodeID) {
        let storage = nodes[name]!.storage
        var checked = committedChecked[name] ?? 0
        if let snapshot = storage.snapshot, snapshot.index > checked {
            if let term = committedTerms[snapshot.index], term != snapshot.term {
                fail(.committedEntriesAgree, "\(name) holds a snapshot \(snapshot.term)/\(snapshot.index), but term \(term) was committed there")
            }
            committedTerms[snapshot.index] = snapshot.term
            checked = snapshot.index
        }
        let commit = storage.hardState.commit
        if commit > checked {
            for entry in storage.entries where entry.index > checked && entry.index <= commit {
                if let other = committed[entry.index], other != entry {
                    fail(.committedEntriesAgree, "\(name) committed \(entry.term)/\(entry.index), another node committed \(other.term)/\(other.index)")
                }
                if let term = committedTerms[entry.index], term != entry.term {
                    fail(.committedEntriesAgree, "\(name) committed \(entry.term)/\(entry.index) over a snapshot of term \(term)")
                }
                committed[entry.index] = entry
                committedTerms[entry.index] = entry.term
            }
            checked = commit
        }
        committedChecked[name] = checked
    }

    /// Heals the network, stops loss, and requires a new proposal to be applied everywhere.
    private mutating func checkProgressAfterHealing() {
        cutOff = []
        var proposedIndex: UInt64?
        var proposedTerm: UInt64?
        for _ in 0..<400 {
            for name in names {
                nodes[name]!.node.tick()
                checkOneLeader(name)
                handleReady(name)
            }
            // Bounded: two leaders of one term (a planted fault) can overwrite each other forever.
            var deliveriesMax = 10_000
            while !inFlight.isEmpty && violation == nil && deliveriesMax > 0 {
                deliveriesMax -= 1
                let message = inFlight.removeFirst()
                nodes[message.to]!.node.step(message)
                checkOneLeader(message.to)
                handleReady(message.to)
            }
            if violation != nil { return }
            // A proposal made by a leader that lost its term before committing it may be
            // replaced: propose again under each new leader term until one is applied.
            if let leader = names.first(where: { nodes[$0]!.node.status.role == .leader }), nodes[leader]!.node.status.term != proposedTerm {
                if let index = try? nodes[leader]!.node.propose(Array("final".utf8)) {
                    proposedIndex = index
                    proposedTerm = nodes[leader]!.node.status.term
                }
            }
            if let proposedIndex, names.allSatisfy({ nodes[$0]!.appliedIndex >= proposedIndex }) { return }
        }
        fail(.progressAfterHealing, "no progress after healing: \(names.map { "\($0) \(nodes[$0]!.node.status.role) term \(nodes[$0]!.node.status.term) commit \(nodes[$0]!.node.status.commit)" })")
    }
}
