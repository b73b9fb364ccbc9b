import MeridianCore
import MeridianRaft
import MeridianReplication
import MeridianStorage

/// Raft messages arriving, ticks, leadership returning to a `primary` table's primary,
/// and requests waiting past their deadline.
extension Step {
    mutating func receiveRaft(_ envelopes: [RaftEnvelope], from peer: RegionID, writer: any StorageWriter) throws {
        try syncRaftGroups(writer: writer)
        for envelope in envelopes {
            guard state.consensus.groups[envelope.table]?.incarnation == envelope.incarnation,
                  envelope.message.from == peer.name, envelope.message.to == local.name
            else { continue }
            state.consensus.groups[envelope.table]!.node.step(envelope.message)  // in place: no copy of the log
        }
    }

    /// Advances every group's logical clock by the Raft ticks that elapsed.
    mutating func raftTick() {
        let tick = region.configuration.raft.tickMilliseconds
        guard !state.consensus.groups.isEmpty else {
            state.consensus.lastTickMilliseconds = monotonicMilliseconds
            return
        }
        guard monotonicMilliseconds >= state.consensus.lastTickMilliseconds + tick else { return }
        let elapsed = (monotonicMilliseconds - state.consensus.lastTickMilliseconds) / tick
        let ticks = min(elapsed, RaftSettings.ticksPerStepMax)
        state.consensus.lastTickMilliseconds = ticks == elapsed ? state.consensus.lastTickMilliseconds + elapsed * tick : monotonicMilliseconds
        for table in state.consensus.groups.keys.sorted() {
            guard var group = state.consensus.groups.removeValue(forKey: table) else { continue }
            for _ in 0..<ticks { group.node.tick() }
            reconcileMembership(&group)
            leaveWitnessLeadership(&group)
            returnLeadershipToPreferred(&group)
            state.consensus.groups[table] = group
        }
        expirePending()
        tendCatalogWaiters()
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

    /// A witness that became leader (it may: it holds the log) hands leadership to a data
    /// region as soon as one has the whole log: a witness serves no requests.
    func leaveWitnessLeadership(_ group: inout RaftGroup) {
        guard group.isWitness(local) else { return }
        let status = group.node.status
        guard status.role == .leader, status.leadTransferee == nil else { return }
        let data = status.membership.voters.filter { $0 != local.name && status.recentActive[$0] == true && status.match[$0] == status.lastIndex }
        guard let target = data.sorted().first else { return }
        group.node.transferLeadership(to: target)
    }

    /// Fails requests whose deadline passed: their outcome is unknown.
    mutating func expirePending() {
        // In ticket order: the order of a step's completions must not depend on hashing.
        for (ticket, proposal) in state.consensus.pendingProposals.sorted(by: { $0.key < $1.key }) where proposal.deadlineMilliseconds <= wallMilliseconds {
            _ = state.consensus.removeProposal(ticket: ticket)
            state.consensus.counters.proposalTimeouts += 1
            state.completions.append((ticket, .failure(MeridianError(.unavailable, code: "commit_timeout",
                "the write to table '\(proposal.table)' was not committed within \(region.configuration.raft.proposalTimeoutMilliseconds) ms; it may still be applied later"))))
        }
        for (ticket, read) in state.consensus.pendingReads.sorted(by: { $0.key < $1.key }) where read.deadlineMilliseconds <= wallMilliseconds {
            state.consensus.pendingReads[ticket] = nil
            state.completions.append((ticket, .failure(MeridianError(.unavailable, code: "read_timeout",
                "the leader of table '\(read.table)' could not confirm its leadership in time; retry"))))
        }
    }
}
