// Role changes and elections: timeouts, pre-vote, vote counting.

extension RaftNode {
    mutating func tickElection() {
        electionElapsed += 1
        // A pre-vote round that voters still in their leader's lease ignored is asked again
        // soon, not after a whole election timeout: the voter that was last to hear the lost
        // leader leaves its lease a one-way delay after the first to time out did, and
        // waiting a full timeout for that turned some failovers from under one second into
        // two. A pre-vote changes no term and no vote, so asking again disturbs nothing.
        let timeout = role == .preCandidate ? preVoteRetryTicks : randomizedElectionTicks
        if electionElapsed >= timeout {
            electionElapsed = 0
            startElection(forced: false)
        }
    }

    /// Campaigns: with a pre-vote first unless disabled or `forced` (by `timeoutNow`).
    mutating func startElection(forced: Bool) {
        // Learners, and nodes not yet (or no longer) members, never campaign.
        guard role != .leader, isVoter else { return }
        if configuration.preVote && !forced {
            becomePreCandidate()
            requestVotes(kind: .preVote, term: term + 1, context: [])
        } else {
            becomeCandidate()
            requestVotes(kind: .vote, term: term, context: forced ? RaftMessage.campaignTransferContext : [])
        }
    }

    private mutating func requestVotes(kind: RaftMessageKind, term campaignTerm: UInt64, context: [UInt8]) {
        countVote(from: id, granted: true)
        guard role != .leader else { return }  // A single voter wins on its own vote.
        for voter in voters where voter != id {
            send(RaftMessage(kind: kind, from: id, to: voter, term: campaignTerm, logTerm: log.lastTerm, index: log.lastIndex, context: context))
        }
    }

    /// Records a (pre-)vote and acts once the outcome is certain.
    mutating func countVote(from voter: RaftNodeID, granted: Bool) {
        guard voters.contains(voter) else { return }
        if votes[voter] == nil { votes[voter] = granted }
        let grantedCount = votes.values.filter { $0 }.count
        let rejectedCount = votes.count - grantedCount
        if grantedCount >= quorum {
            if role == .preCandidate {
                becomeCandidate()
                requestVotes(kind: .vote, term: term, context: [])
            } else {
                becomeLeader()
                broadcastAppend()
            }
        } else if rejectedCount > voters.count - quorum {
            becomeFollower(term: term, leader: nil)
        }
    }

    /// Clears everything that belongs to a role or a term; `newTerm` may equal the current one.
    private mutating func reset(term newTerm: UInt64) {
        if newTerm != term {
            precondition(newTerm > term, "term moves back from \(term) to \(newTerm)")
            term = newTerm
            vote = nil
        }
        leader = nil
        electionElapsed = 0
        heartbeatElapsed = 0
        randomizedElectionTicks = configuration.electionTicks + Int(generator.next(upperBound: UInt64(configuration.electionTicks)))
        leadTransferee = nil
        transferElapsed = 0
        timeoutNowSent = false
        votes = [:]
        progress = [:]
        reads = RaftPendingReads()
    }

    mutating func becomeFollower(term newTerm: UInt64, leader newLeader: RaftNodeID?) {
        reset(term: newTerm)
        role = .follower
        leader = newLeader
    }

    mutating func becomePreCandidate() {
        precondition(role != .leader, "invalid transition [leader -> preCandidate]")
        // A pre-candidate keeps its term and vote: only the role and the tally change.
        votes = [:]
        leader = nil
        role = .preCandidate
        preVoteRetryTicks = 2 + Int(generator.next(upperBound: UInt64(max(1, configuration.electionTicks / 2))))
    }

    mutating func becomeCandidate() {
        precondition(role != .leader, "invalid transition [leader -> candidate]")
        reset(term: term + 1)
        vote = id
        role = .candidate
    }

    mutating func becomeLeader() {
        precondition(role == .candidate, "invalid transition [\(role) -> leader]")
        reset(term: term)
        role = .leader
        leader = id
        for member in membership.members {
            progress[member] = RaftProgress(
                match: member == id ? log.lastIndex : 0, next: log.lastIndex + 1,
                inflightAppendsMax: configuration.inflightAppendsMax, lastHeardTick: member == id ? ticks : nil
            )
        }
        // No membership change until this first entry commits: the leader then knows every
        // committed change (Ongaro's fix for one-at-a-time changes).
        pendingMembershipIndex = appendEntries([RaftEntry(term: term, index: 0, kind: .empty)])
    }
}
