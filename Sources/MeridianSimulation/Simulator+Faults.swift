import MeridianCore
import MeridianRaft

/// The fault injector: which fault starts when, and how each one heals.
extension Simulator {
    /// One decision: heal the oldest fault when as many are active as the profile allows,
    /// otherwise start a fault of a kind drawn by weight.
    func injectFault() {
        let profile = configuration.faults
        if activeFaults.count >= profile.activeFaultsMax {
            if let oldest = activeFaults.first { heal(faultID: oldest.id) }
            return
        }
        let kinds = FaultKind.allCases
        let weights = kinds.map { profile.weights[$0] ?? 0 }
        guard weights.contains(where: { $0 > 0 }) else { return }
        let kind = kinds[random.weightedIndex(weights)]
        start(kind)
    }

    private func start(_ kind: FaultKind) {
        let profile = configuration.faults
        let regions = configuration.regions
        let id = nextFaultID
        let effect: ActiveFault.Effect
        switch kind {
        case .partition:
            effect = .network(.partition(random.element(of: pairs)))
        case .oneWay:
            effect = .network(.oneWay(randomLink()))
        case .isolation:
            effect = .network(.isolation(victimRegion(among: regions)))
        case .lossyLink:
            effect = .network(.lossyLink(randomLink(), percent: random.integer(in: profile.lossPercent)))
        case .noise:
            effect = .network(.noise(duplicationPercent: random.integer(in: profile.duplicationPercent),
                                     reorderPercent: random.integer(in: profile.reorderPercent)))
        case .crash, .powerLoss:
            // At most a minority of regions is down at once.
            let down = nodes.filter { !$0.isAlive }.count
            let candidates = nodes.filter(\.isAlive)
            guard down + 1 <= (regions.count - 1) / 2, !candidates.isEmpty else { return }
            let victim = node(victimRegion(among: candidates.map(\.id)))
            effect = .crash(victim.id)
            record("FAULT #\(id) \(kind) \(victim.id)")
            crash(victim, powerLoss: kind == .powerLoss)
        case .clockJump:
            let victim = node(random.element(of: regions))
            let jump = victim.clock.jump(random: &random)
            faultsInjected[kind, default: 0] += 1
            record("FAULT \(kind) \(victim.id) by \(jump) ms (offset \(victim.clock.offsetMilliseconds) ms)")
            return
        case .clockExcursion:
            let victim = node(random.element(of: regions))
            let magnitude = Int64(random.integer(in: profile.excursionMilliseconds))
            victim.clock.excursionMilliseconds = random.chance(percent: 50) ? magnitude : -magnitude
            effect = .excursion(victim.id)
            record("FAULT #\(id) \(kind) \(victim.id) by \(victim.clock.excursionMilliseconds) ms")
        }
        nextFaultID += 1
        faultsInjected[kind, default: 0] += 1
        activeFaults.append(ActiveFault(id: id, kind: kind, effect: effect))
        if case .network(let fault) = effect {
            network.begin(fault, id: id)
            record("FAULT #\(id) \(describe(fault))")
            reconcileConnections()
        }
        queue.schedule(.heal(faultID: id), at: now + random.uniform(in: profile.durationMilliseconds))
    }

    /// Ends an active fault (a fault already healed is ignored).
    func heal(faultID: Int) {
        guard let index = activeFaults.firstIndex(where: { $0.id == faultID }) else { return }
        let fault = activeFaults.remove(at: index)
        record("HEAL #\(fault.id) \(fault.kind)")
        switch fault.effect {
        case .network:
            network.end(faultID: fault.id)
            reconcileConnections()
        case .crash(let region):
            restart(node(region))
        case .excursion(let region):
            node(region).clock.excursionMilliseconds = 0
            lastClockExcursionEndMilliseconds = now
        }
    }

    /// Ends every fault at once, restarting the regions that are down.
    func healAllFaults() {
        for fault in activeFaults {
            heal(faultID: fault.id)
        }
        precondition(activeFaults.isEmpty, "every fault healed")
    }

    /// A region for a fault that takes one region away: in `leaderVictimPercent` of cases
    /// the leader of a consensus table's group (when one of `candidates` leads one), since
    /// losing a leader is what elections, stale leaders and lost commits are made of.
    private func victimRegion(among candidates: [RegionID]) -> RegionID {
        let leaders = nodes.filter { node in
            candidates.contains(node.id) && node.region?.raftStatuses.values.contains { $0.role == RaftRole.leader.rawValue } == true
        }
        guard !leaders.isEmpty, random.chance(percent: Self.leaderVictimPercent) else { return random.element(of: candidates) }
        return random.element(of: leaders).id
    }

    private func randomLink() -> Link {
        let pair = random.element(of: pairs)
        return random.chance(percent: 50) ? Link(from: pair.first, to: pair.second) : Link(from: pair.second, to: pair.first)
    }
}
