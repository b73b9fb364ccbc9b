// How a node reacts to messages: term rules shared by every role, then each role's own.

extension RaftNode {
    /// The highest term a message may carry: a real group never gets near it, and refusing
    /// larger ones keeps `term + 1` from overflowing on garbage input.
    static let termMax: UInt64 = 1 << 62

    /// Whether a message from a voter is internally consistent; anything else is dropped.
    func isWellFormed(_ message: RaftMessage) -> Bool {
        guard message.term <= Self.termMax else { return false }
        switch message.kind {
        case .append:
            guard message.logTerm <= message.term, message.index <= UInt64.max - UInt64(message.entries.count) else { return false }
            var previousTerm = message.logTerm
            for (offset, entry) in message.entries.enumerated() {
                guard entry.index == message.index + 1 + UInt64(offset), entry.term >= previousTerm, entry.term <= message.term else { return false }
                previousTerm = entry.term
            }
            return true
        case .snapshot:
            guard let snapshot = message.snapshot else { return false }
            return snapshot.term <= message.term && snapshot.index > 0 && snapshot.index < UInt64.max
        case .preVote, .vote:
            return message.logTerm <= message.term
        case .propose:
            return !message.entries.isEmpty && message.entries.allSatisfy { $0.kind == .normal }
        default:
            return true
        }
    }

    /// Whether a message may come from its sender, given the members this node knows of:
    /// vote requests from voters only (a removed or not-yet-added node must not raise the
    /// group's term: Raft thesis §4.2.3), answers from members only; a leader's append,
    /// heartbeat, snapshot or `timeoutNow` from anyone, since a joining node learns who the
    /// members are from them.
    func isAdmissible(_ message: RaftMessage) -> Bool {
        switch message.kind {
        case .preVote, .vote: return voters.contains(message.from)
        case .preVoteResponse, .voteResponse, .appendResponse, .heartbeatResponse, .propose, .readIndex: return membership.contains(message.from)
        case .append, .heartbeat, .snapshot, .timeoutNow, .readIndexResponse: return true
        }
    }

    mutating func stepChecked(_ message: RaftMessage) {
        if message.term > term {
            if message.kind == .preVote || message.kind == .vote {
                let forced = message.kind == .vote && message.context == RaftMessage.campaignTransferContext
                let inLease = configuration.checkQuorum && leader != nil && electionElapsed < configuration.electionTicks
                // Leader stickiness: while a live leader is known, a disruptive candidate is ignored.
                if !forced && inLease { return }
            }
            switch message.kind {
            case .preVote:
                break  // A pre-vote never changes our term.
            case .preVoteResponse where !message.reject:
                break  // The term we would campaign in; it is raised only when the pre-vote is won.
            case .append, .heartbeat, .snapshot:
                becomeFollower(term: message.term, leader: message.from)
            default:
                becomeFollower(term: message.term, leader: nil)
            }
        } else if message.term < term {
            if (configuration.checkQuorum || configuration.preVote) && (message.kind == .append || message.kind == .heartbeat) {
                // A stale leader cut off by a partition: tell it our term so that it steps down.
                // Without this, a node that raised its term would never hear from a majority again.
                send(RaftMessage(kind: .appendResponse, from: id, to: message.from, term: term))
            } else if message.kind == .preVote {
                send(RaftMessage(kind: .preVoteResponse, from: id, to: message.from, term: term, reject: true))
            }
            return
        }

        switch message.kind {
        case .preVote, .vote:
            handleVoteRequest(message)
        default:
            switch role {
            case .leader: stepLeader(message)
            case .candidate, .preCandidate: stepCandidate(message)
            case .follower: stepFollower(message)
            }
        }
    }

    mutating func handleVoteRequest(_ message: RaftMessage) {
        let responseKind: RaftMessageKind = message.kind == .vote ? .voteResponse : .preVoteResponse
        // Only a voter votes, and only for a voter of the membership it knows.
        var canVote = isVoter && voters.contains(message.from)
            && (vote == message.from || (vote == nil && leader == nil) || (message.kind == .preVote && message.term > term))
        var upToDate = log.isUpToDate(lastIndex: message.index, lastTerm: message.logTerm)
        // FAULT voteTwice: grant a vote whatever this node already voted for in the term.
        if configuration.fault == .voteTwice { canVote = true }
        // FAULT ignoreLogRecency: grant votes without the up-to-date check of §5.4.1.
        if configuration.fault == .ignoreLogRecency { upToDate = true }
        if canVote && upToDate {
            // A granted pre-vote answers in the term the candidate would campaign in.
            send(RaftMessage(kind: responseKind, from: id, to: message.from, term: message.term))
            if message.kind == .vote {
                electionElapsed = 0
                vote = message.from
            }
        } else {
            send(RaftMessage(kind: responseKind, from: id, to: message.from, term: term, reject: true))
        }
    }

    mutating func stepCandidate(_ message: RaftMessage) {
        switch message.kind {
        case .append:
            becomeFollower(term: message.term, leader: message.from)
            handleAppend(message)
        case .heartbeat:
            becomeFollower(term: message.term, leader: message.from)
            handleHeartbeat(message)
        case .snapshot:
            becomeFollower(term: message.term, leader: message.from)
            handleSnapshot(message)
        case .preVoteResponse where role == .preCandidate:
            // Granted answers carry term + 1; rejections carry our own term (higher ones were handled).
            guard message.reject || message.term == term + 1 else { return }
            countVote(from: message.from, granted: !message.reject)
        case .voteResponse where role == .candidate:
            countVote(from: message.from, granted: !message.reject)
        default:
            break
        }
    }

    mutating func stepFollower(_ message: RaftMessage) {
        switch message.kind {
        case .append:
            electionElapsed = 0
            leader = message.from
            handleAppend(message)
        case .heartbeat:
            electionElapsed = 0
            leader = message.from
            handleHeartbeat(message)
        case .snapshot:
            electionElapsed = 0
            leader = message.from
            handleSnapshot(message)
        case .timeoutNow where message.from == leader:
            startElection(forced: true)
        case .readIndexResponse where message.from == leader:
            readStates.append(RaftReadState(index: message.index, context: message.context))
        default:
            break
        }
    }

    // MARK: Follower handlers

    mutating func handleAppend(_ message: RaftMessage) {
        if message.index < log.committed {
            send(RaftMessage(kind: .appendResponse, from: id, to: message.from, term: term, index: log.committed))
            return
        }
        if let lastNew = log.maybeAppend(index: message.index, logTerm: message.logTerm, commit: message.commit, entries: message.entries) {
            send(RaftMessage(kind: .appendResponse, from: id, to: message.from, term: term, index: lastNew))
        } else {
            send(RaftMessage(
                kind: .appendResponse, from: id, to: message.from, term: term,
                index: message.index, reject: true, rejectHint: log.lastIndex
            ))
        }
    }

    mutating func handleHeartbeat(_ message: RaftMessage) {
        log.commit(to: min(message.commit, log.lastIndex))
        send(RaftMessage(kind: .heartbeatResponse, from: id, to: message.from, term: term, context: message.context))
    }

    mutating func handleSnapshot(_ message: RaftMessage) {
        let snapshot = message.snapshot!
        if snapshot.index <= log.committed {
            // Stale: we already hold everything it covers.
        } else if log.matchesTerm(at: snapshot.index, snapshot.term) {
            // Our log already holds the snapshot's last entry: fast-forward the commit instead.
            log.commit(to: snapshot.index)
        } else {
            log.restore(snapshot)
            adoptSnapshotMembership(snapshot)
            send(RaftMessage(kind: .appendResponse, from: id, to: message.from, term: term, index: log.lastIndex))
            return
        }
        send(RaftMessage(kind: .appendResponse, from: id, to: message.from, term: term, index: log.committed))
    }
}
