// Membership changes: one voter at a time (Raft thesis §4.1), each in a log entry that
// takes effect in a node once that node learns it is committed, as etcd's raft does.
//
// Why one voter at a time is safe: any majority of voters V and any majority of V plus or
// minus one voter overlap, so two leaders of one term, one counting the old membership and
// one the new, cannot both win. At most two memberships are ever in use: a leader proposes
// a change only once the previous one is committed (and only once it committed an entry
// of its own term, which rules out a membership proposed by an earlier leader being
// replaced under it: the bug Ongaro described in 2015 for one-at-a-time changes).

extension RaftNode {
    /// Applies the membership entries committed since the last scan, in log order.
    mutating func refreshMembership() {
        guard log.committed > membershipScanned else { return }
        let from = max(membershipScanned + 1, log.firstIndex)
        membershipScanned = log.committed
        guard from <= log.committed else { return }
        for index in from...log.committed {
            guard let entry = log.entry(at: index), entry.kind == .membership else { continue }
            // A committed entry whose payload does not decode was written by no correct node:
            // it changes nothing.
            guard let committed = RaftMembership(entryData: entry.data) else { continue }
            adopt(committed, at: index)
        }
    }

    /// A snapshot replaced the log: its membership is the group's as of its index.
    mutating func adoptSnapshotMembership(_ snapshot: RaftSnapshot) {
        membershipScanned = max(membershipScanned, snapshot.index)
        guard snapshot.index >= membershipIndex else { return }
        adopt(snapshot.membership, at: snapshot.index)
    }

    private mutating func adopt(_ next: RaftMembership, at index: UInt64) {
        membership = next
        membershipIndex = index
        switch role {
        case .leader:
            for member in next.members where progress[member] == nil {
                progress[member] = RaftProgress(match: 0, next: log.lastIndex + 1, inflightAppendsMax: configuration.inflightAppendsMax, lastHeardTick: nil)
            }
            for member in progress.keys where !next.contains(member) { progress[member] = nil }
            guard next.voters.contains(id) else {
                // Removed: the remaining voters elect a leader among themselves.
                becomeFollower(term: term, leader: nil)
                return
            }
            if let transferee = leadTransferee, !next.voters.contains(transferee) { leadTransferee = nil }
            // A smaller quorum may commit at once; new members start receiving the log.
            if maybeCommit() { broadcastAppend() }
            for member in peers where progress[member]?.match == 0 { sendAppend(to: member, sendIfEmpty: true) }
        case .candidate, .preCandidate:
            if !next.voters.contains(id) { becomeFollower(term: term, leader: nil) }
        case .follower:
            break
        }
    }
}
