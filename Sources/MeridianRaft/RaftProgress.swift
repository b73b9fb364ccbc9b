// What a leader knows about one follower's log, and how fast it may send to it.

/// A leader's view of one voter's replication.
///
/// Invariant: `match < next`.
struct RaftProgress: Sendable {
    enum State: Sendable {
        /// The leader does not know where the follower's log diverges: one append per
        /// heartbeat interval until one is accepted.
        case probe
        /// The follower accepts appends: the leader streams them, up to `inflightAppendsMax`.
        case replicate
        /// The follower needs the snapshot at `pendingSnapshot`; appends wait until it answers.
        case snapshot
    }

    /// The highest index known to be replicated on the follower.
    private(set) var match: UInt64
    /// The next index to send.
    private(set) var next: UInt64
    private(set) var state: State = .probe
    /// In `.probe`: an append was sent and not yet answered in this heartbeat interval.
    private(set) var probeSent = false
    /// In `.snapshot`: the index of the snapshot sent.
    private(set) var pendingSnapshot: UInt64 = 0
    /// The last index of each append in flight, oldest first (`.replicate` only).
    private(set) var inflights: [UInt64] = []
    let inflightAppendsMax: Int
    /// The leader's tick count when this voter was last heard from.
    var lastHeardTick: UInt64?

    init(match: UInt64, next: UInt64, inflightAppendsMax: Int, lastHeardTick: UInt64?) {
        precondition(match < next, "progress: match \(match) must be below next \(next)")
        self.match = match
        self.next = next
        self.inflightAppendsMax = inflightAppendsMax
        self.lastHeardTick = lastHeardTick
    }

    /// Whether the leader must not send more appends now.
    var isPaused: Bool {
        switch state {
        case .probe: probeSent
        case .replicate: inflights.count >= inflightAppendsMax
        case .snapshot: true
        }
    }

    mutating func becomeProbe() {
        if state == .snapshot {
            next = max(match + 1, pendingSnapshot + 1)
        } else {
            next = match + 1
        }
        state = .probe
        probeSent = false
        pendingSnapshot = 0
        inflights = []
    }

    mutating func becomeReplicate() {
        state = .replicate
        next = match + 1
        probeSent = false
        pendingSnapshot = 0
        inflights = []
    }

    mutating func becomeSnapshot(at index: UInt64) {
        state = .snapshot
        pendingSnapshot = index
        probeSent = false
        inflights = []
    }

    /// Records an append just sent whose entries end at `lastIndex` (nil if it had none).
    mutating func sentAppend(lastIndex: UInt64?) {
        switch state {
        case .probe:
            probeSent = true
        case .replicate:
            guard let lastIndex else { return }
            next = lastIndex + 1
            inflights.append(lastIndex)
        case .snapshot:
            preconditionFailure("progress: append sent to a follower waiting for a snapshot")
        }
    }

    /// The follower accepted entries through `index`. Returns whether `match` moved.
    mutating func maybeUpdate(_ index: UInt64) -> Bool {
        var updated = false
        if index > match {
            match = index
            updated = true
            probeSent = false
        }
        next = max(next, index + 1)
        inflights.removeAll { $0 <= index }
        return updated
    }

    /// The follower rejected the append after `rejected`; its log ends at `hint`. Returns
    /// whether `next` moved back (false for a stale rejection).
    mutating func maybeDecrease(rejected: UInt64, hint: UInt64) -> Bool {
        if state == .replicate {
            guard rejected > match else { return false }
            next = match + 1
            return true
        }
        guard next - 1 == rejected else { return false }
        let hinted = hint < rejected ? hint + 1 : rejected
        next = max(min(rejected, hinted), match + 1)
        probeSent = false
        return true
    }

    /// A heartbeat was answered: the follower is reachable, so a stalled stream may resume.
    mutating func heartbeatAnswered() {
        probeSent = false
        if state == .replicate && inflights.count >= inflightAppendsMax {
            inflights.removeFirst()
        }
    }
}
