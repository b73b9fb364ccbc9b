import MeridianCore
@_spi(Simulation) import MeridianRaft
import MeridianStorage

/// A group's members follow what the catalog says: the leader of each group moves the
/// group's Raft membership toward the regions that should vote in it (a table's regions and
/// its witness; every region of the cluster for the catalog group), one safe step at a time:
///
/// 1. a region that should vote and is not a member joins as a learner (it receives the log
///    or a snapshot, and counts for nothing yet);
/// 2. a learner that should vote and has everything committed becomes a voter;
/// 3. a voter that should not vote any more leaves: the leader first hands its leadership to
///    a caught-up voter that stays, if it is the one leaving;
/// 4. a learner that should not be one leaves.
///
/// One change at a time, each committed before the next (MeridianRaft enforces it too), so
/// two majorities of consecutive memberships always overlap (docs/consensus.md).
extension Step {
    /// The regions that should vote in `group`.
    func desiredVoters(_ group: RaftGroup) -> Set<RaftNodeID> {
        Set(group.definition.votingRegions.map(\.name))
    }

    /// Proposes the group's next membership step, or moves leadership away first; at the
    /// leader only, when no change is pending.
    mutating func reconcileMembership(_ group: inout RaftGroup) {
        let status = group.node.status
        guard status.role == .leader, !status.membershipChangePending, status.leadTransferee == nil else { return }
        let desired = desiredVoters(group)
        guard !desired.isEmpty else { return }
        let voters = Set(status.membership.voters)
        let learners = Set(status.membership.learners)
        var next: RaftMembership?
        if let joining = desired.subtracting(voters).subtracting(learners).sorted().first {
            next = RaftMembership.validated(voters: Array(voters), learners: Array(learners) + [joining])
        } else if let ready = learners.intersection(desired).sorted().first(where: { (status.match[$0] ?? 0) >= status.commit }) {
            next = RaftMembership.validated(voters: Array(voters) + [ready], learners: Array(learners.subtracting([ready])))
        } else if let leaving = voters.subtracting(desired).sorted().first {
            if leaving == local.name {
                handOverLeadership(&group, status: status, to: desired)
                return
            }
            next = RaftMembership.validated(voters: Array(voters.subtracting([leaving])), learners: Array(learners))
        } else if let leaving = learners.subtracting(desired).sorted().first {
            next = RaftMembership.validated(voters: Array(voters), learners: Array(learners.subtracting([leaving])))
        }
        guard let next, next != status.membership else { return }
        if (try? group.node.proposeMembership(next)) != nil {
            state.consensus.counters.membershipChanges += 1
        }
    }

    /// Hands leadership to the most caught-up voter among `candidates` that is heard from.
    func handOverLeadership(_ group: inout RaftGroup, status: RaftStatus, to candidates: Set<RaftNodeID>) {
        let eligible = status.membership.voters.filter { candidates.contains($0) && $0 != local.name && status.recentActive[$0] == true }
        guard let target = eligible.max(by: { (status.match[$0] ?? 0, $1) < (status.match[$1] ?? 0, $0) }) else { return }
        group.node.transferLeadership(to: target)
    }
}
