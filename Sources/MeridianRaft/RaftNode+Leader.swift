// What a leader does: replicate, commit, heartbeat, check its quorum, transfer leadership.

extension RaftNode {
    mutating func tickLeader() {
        heartbeatElapsed += 1
        electionElapsed += 1
        if electionElapsed >= configuration.electionTicks {
            electionElapsed = 0
            if configuration.checkQuorum && voters.filter(isRecentlyActive).count < quorum {
                // Cut off from a majority for an election timeout: someone else may lead by now.
                becomeFollower(term: term, leader: nil)
                return
            }
        }
        if leadTransferee != nil {
            transferElapsed += 1
            if transferElapsed >= configuration.electionTicks {
                leadTransferee = nil
                transferElapsed = 0
            }
        }
        if heartbeatElapsed >= configuration.heartbeatTicks {
            heartbeatElapsed = 0
            // Every heartbeat is a round: its acknowledgements confirm waiting reads and hold the lease.
            broadcastHeartbeat(context: reads.startRound(at: ticks))
        }
    }

    func isRecentlyActive(_ voter: RaftNodeID) -> Bool {
        if voter == id { return true }
        guard let heard = progress[voter]?.lastHeardTick else { return false }
        return ticks - heard < UInt64(configuration.electionTicks)
    }

    /// Appends entries of the current term at the end of the log; returns the last index.
    @discardableResult
    mutating func appendEntries(_ newEntries: [RaftEntry]) -> UInt64 {
        precondition(role == .leader, "only a leader appends to its own log")
        var index = log.lastIndex
        let stamped = newEntries.map { entry in
            index += 1
            return RaftEntry(term: term, index: index, kind: entry.kind, data: entry.data)
        }
        log.append(stamped)
        _ = progress[id]!.maybeUpdate(log.lastIndex)
        maybeCommit()
        return log.lastIndex
    }

    /// Advances the commit index to what a majority holds, if that entry is of this term
    /// (§5.4.2: older entries are committed only indirectly). Returns whether it moved.
    @discardableResult
    mutating func maybeCommit() -> Bool {
        let matches = voters.map { progress[$0]!.match }.sorted(by: >)
        var candidate = matches[quorum - 1]
        // FAULT commitEarly: commit everything this leader holds, majority or not.
        if configuration.fault == .commitEarly { candidate = log.lastIndex }
        guard candidate > log.committed, log.term(at: candidate) == term else { return false }
        let hadCommittedInTerm = committedEntryInCurrentTerm
        log.commit(to: candidate)
        if !hadCommittedInTerm { releaseReadsAwaitingCommit() }
        return true
    }

    var committedEntryInCurrentTerm: Bool {
        log.term(at: log.committed) == term
    }

    mutating func broadcastAppend() {
        for member in peers {
            sendAppend(to: member, sendIfEmpty: true)
        }
    }

    mutating func broadcastHeartbeat(context: [UInt8]) {
        for voter in peers {
            // A follower may not hold the leader's entries up to its commit yet: never tell it
            // to commit past what it is known to match.
            let commit = min(progress[voter]!.match, log.committed)
            send(RaftMessage(kind: .heartbeat, from: id, to: voter, term: term, commit: commit, context: context))
        }
    }

    /// Sends the next append (or the snapshot) to `voter` if its progress allows. Returns
    /// whether a message was sent.
    @discardableResult
    mutating func sendAppend(to voter: RaftNodeID, sendIfEmpty: Bool) -> Bool {
        var peer = progress[voter]!
        defer { progress[voter] = peer }
        if peer.isPaused { return false }
        let previous = peer.next - 1
        let entries = log.entries(from: peer.next, countMax: configuration.entriesPerAppendMax, bytesMax: configuration.bytesPerAppendMax)
        guard let previousTerm = log.term(at: previous), let entries else {
            // The entries this follower needs were compacted: send the snapshot instead.
            let snapshot = log.snapshot!
            send(RaftMessage(kind: .snapshot, from: id, to: voter, term: term, snapshot: snapshot))
            peer.becomeSnapshot(at: snapshot.index)
            return true
        }
        if entries.isEmpty && !sendIfEmpty { return false }
        send(RaftMessage(
            kind: .append, from: id, to: voter, term: term,
            logTerm: previousTerm, index: previous, entries: entries, commit: log.committed
        ))
        peer.sentAppend(lastIndex: entries.last?.index)
        return true
    }

    mutating func stepLeader(_ message: RaftMessage) {
        guard progress[message.from] != nil else { return }
        progress[message.from]!.lastHeardTick = ticks
        switch message.kind {
        case .appendResponse:
            handleAppendResponse(message)
        case .heartbeatResponse:
            progress[message.from]!.heartbeatAnswered()
            if progress[message.from]!.state == .snapshot {
                // The snapshot may have been lost: probe again, which resends it if still needed.
                progress[message.from]!.becomeProbe()
            }
            if progress[message.from]!.match < log.lastIndex {
                sendAppend(to: message.from, sendIfEmpty: true)
            }
            acknowledgeReadRound(from: message.from, context: message.context)
        case .propose:
            // A follower's proposal: appended as ours, unless leadership is being handed over
            // (the follower's caller times it out and tries again).
            guard leadTransferee == nil else { return }
            appendEntries(message.entries.map { RaftEntry(term: term, index: 0, kind: .normal, data: $0.data) })
            broadcastAppend()
        case .readIndex:
            // Too many reads waiting: dropped; the follower's caller times it out.
            try? requestRead(context: message.context, requester: message.from)
        default:
            break
        }
    }

    private mutating func handleAppendResponse(_ message: RaftMessage) {
        let from = message.from
        if message.reject {
            if progress[from]!.maybeDecrease(rejected: message.index, hint: message.rejectHint) {
                if progress[from]!.state == .replicate { progress[from]!.becomeProbe() }
                sendAppend(to: from, sendIfEmpty: true)
            }
            return
        }
        // A follower never holds more than we sent; a larger index is garbage.
        guard message.index <= log.lastIndex else { return }
        let wasPaused = progress[from]!.isPaused
        guard progress[from]!.maybeUpdate(message.index) else { return }
        switch progress[from]!.state {
        case .probe:
            progress[from]!.becomeReplicate()
        case .snapshot where progress[from]!.match >= progress[from]!.pendingSnapshot:
            progress[from]!.becomeProbe()
            progress[from]!.becomeReplicate()
        default:
            break
        }
        if maybeCommit() {
            broadcastAppend()
        } else if wasPaused {
            sendAppend(to: from, sendIfEmpty: true)
        }
        while sendAppend(to: from, sendIfEmpty: false) {}
        if leadTransferee == from && progress[from]!.match == log.lastIndex {
            sendTimeoutNow(to: from)
        }
    }

    mutating func sendTimeoutNow(to target: RaftNodeID) {
        timeoutNowSent = true
        send(RaftMessage(kind: .timeoutNow, from: id, to: target, term: term))
    }
}
