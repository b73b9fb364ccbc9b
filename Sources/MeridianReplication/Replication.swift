import MeridianCore

/// Limits and timings of multi-primary shipping. Each name ends with its unit.
public struct ReplicationConfiguration: Sendable {
    /// This region.
    public var local: RegionID
    /// Every other region of the cluster.
    public var peers: [RegionID]
    /// The most entries of one origin sent to a peer beyond what it acknowledged.
    public var windowEntriesMax: UInt64 = 4096
    /// The most entries in one `entries` message.
    public var entriesPerMessageMax: Int = 256
    /// After this long without an acknowledgement advancing, unacknowledged entries are sent again.
    public var retransmitTimeoutMilliseconds: UInt64 = 1000
    /// How often a heartbeat goes to each connected peer.
    public var heartbeatIntervalMilliseconds: UInt64 = 100
    /// The most entries of one origin a region keeps for peers that have not acknowledged
    /// them; past this, the oldest are truncated anyway and a peer that fell that far
    /// behind catches up from a snapshot.
    public var originLogEntriesRetainedMax: UInt64 = 100_000
    /// The most items in one snapshot chunk.
    public var snapshotItemsPerChunkMax: Int = 256

    public init(local: RegionID, peers: [RegionID]) {
        precondition(!peers.contains(local), "a region is not its own peer")
        self.local = local
        self.peers = peers
    }
}

/// What this region knows about one peer.
public struct PeerProgress: Sendable, Equatable {
    /// Whether a connection is up (handshake done).
    public var connected = false
    /// Whether the peer told us, since the connection came up, where it stands.
    public var caughtUpRequested = false
    /// Per origin, the last sequence sent to the peer on this connection.
    public var sent = Positions()
    /// Per origin, the last sequence the peer said it applied (from any source).
    public var acknowledged = Positions()
    /// Per origin, when the peer's acknowledgement of it last advanced, or sending of it
    /// resumed (milliseconds, local wall clock): the retransmission clock.
    public var progressAtMilliseconds: [RegionID: UInt64] = [:]
    /// When the last heartbeat went to the peer.
    public var heartbeatSentAtMilliseconds: UInt64 = 0
    /// The peer's last heartbeat, and when it arrived.
    public var heartbeat: Heartbeat?
    public var heartbeatReceivedAtMilliseconds: UInt64 = 0
    /// A snapshot transfer to the peer in progress.
    public var snapshot: SnapshotTransfer?
}

/// A snapshot being sent to a peer: positions fixed at the start, items paged by (table, key).
public struct SnapshotTransfer: Sendable, Equatable {
    public var transfer: UInt64
    /// The positions the receiver adopts at the end (empty for a table copy).
    public var positions: Positions
    /// A table copy sends only this table and moves no positions; `nil` sends every
    /// table the receiver may hold.
    public var table: TableName?
    /// The table being paged and the last key sent from it; `nil` before the first chunk.
    public var cursor: (table: TableName, key: Key?)?
    public var catalogSent = false
    /// The index of the next chunk.
    public var nextChunk: UInt64 = 0

    public static func == (lhs: SnapshotTransfer, rhs: SnapshotTransfer) -> Bool {
        lhs.transfer == rhs.transfer && lhs.positions == rhs.positions && lhs.table == rhs.table && lhs.catalogSent == rhs.catalogSent
            && lhs.cursor?.table == rhs.cursor?.table && lhs.cursor?.key == rhs.cursor?.key
    }
}

/// What to do with an entry that arrived.
public enum EntryDisposition: Sendable, Equatable {
    /// The next entry of its origin: apply it.
    case apply
    /// Already applied (a duplicate or a relayed copy).
    case duplicate
    /// An earlier entry of its origin is missing; drop it (it is sent again).
    case gap
}

/// A range of one origin's log to send to a peer; the region reads it from storage.
public struct SendRange: Sendable, Equatable {
    public var peer: RegionID
    public var origin: RegionID
    /// Send entries with sequence greater than this...
    public var after: UInt64
    /// ...up to and including this.
    public var through: UInt64
}

/// Multi-primary shipping for one region, as a pure state machine.
///
/// Inputs are events (a connection came up or went down, a message arrived, an entry was
/// applied or appended, time passed); outputs are the messages to send and the log
/// ranges to stream. It reads nothing itself: the caller passes what it read.
///
/// Invariants:
/// - `applied[o]` only grows, by exactly one per applied entry of origin `o` (gap-free),
///   or jumps forward when a snapshot is installed.
/// - A region sends a peer only entries it applied itself, and for every peer `sent[o]`
///   is at least what the peer acknowledged (the peer has everything through `sent[o]` or
///   it is on its way).
/// - Entries of origin `o` go to a peer only in sequence order, at most `windowEntriesMax`
///   beyond what the peer acknowledged.
public struct Replication: Sendable {
    public let configuration: ReplicationConfiguration
    /// Per origin, the last sequence this region applied (its own origin: its log's end).
    public private(set) var applied: Positions
    /// The timestamp of this region's latest own entry.
    public private(set) var latestOwnTimestamp: HLCTimestamp
    public private(set) var peers: [RegionID: PeerProgress]
    private var nextTransfer: UInt64 = 1

    /// Restores the state after a start: what storage says was applied.
    public init(configuration: ReplicationConfiguration, applied: Positions, latestOwnTimestamp: HLCTimestamp) {
        self.configuration = configuration
        self.applied = applied
        self.latestOwnTimestamp = latestOwnTimestamp
        peers = Dictionary(uniqueKeysWithValues: configuration.peers.map { ($0, PeerProgress()) })
    }

    var local: RegionID { configuration.local }

    // MARK: Local writes and applied entries

    /// The sequence the next own entry gets.
    public var nextOwnSequence: UInt64 { applied[local] + 1 }

    /// Records that an own entry was appended to the log.
    public mutating func appendedOwnEntry(sequence: UInt64, timestamp: HLCTimestamp) {
        precondition(sequence == nextOwnSequence, "own entries are appended without gaps")
        applied[local] = sequence
        latestOwnTimestamp = max(latestOwnTimestamp, timestamp)
    }

    /// Decides whether an arrived entry is the next of its origin.
    public func disposition(of entry: LogEntry) -> EntryDisposition {
        let current = applied[entry.origin]
        if entry.sequence <= current { return .duplicate }
        return entry.sequence == current + 1 ? .apply : .gap
    }

    /// Records that an entry was applied (and committed with its position).
    public mutating func didApply(_ entry: LogEntry) {
        precondition(entry.origin != local, "a region never receives its own entries as new")
        precondition(entry.sequence == applied[entry.origin] + 1, "entries are applied in order, without gaps")
        applied[entry.origin] = entry.sequence
    }

    /// Adopts a snapshot's positions once its final chunk is applied.
    public mutating func installedSnapshot(positions: Positions) {
        for (origin, sequence) in positions.sequences where origin != local {
            applied[origin] = max(applied[origin], sequence)
        }
    }

    // MARK: Connections and messages

    /// A connection to a peer completed its handshake: ask it where it stands and tell it where we stand.
    public mutating func peerConnected(_ peer: RegionID, nowMilliseconds: UInt64) -> [ReplicationMessage] {
        guard peers[peer] != nil else { return [] }
        peers[peer]?.connected = true
        peers[peer]?.caughtUpRequested = false
        peers[peer]?.sent = Positions()
        peers[peer]?.snapshot = nil
        peers[peer]?.progressAtMilliseconds = [:]
        return [.catchUp(applied)]
    }

    public mutating func peerDisconnected(_ peer: RegionID) {
        peers[peer]?.connected = false
        peers[peer]?.caughtUpRequested = false
        peers[peer]?.snapshot = nil
    }

    /// The peer says what it has applied: stream to it from there.
    public mutating func receivedCatchUp(from peer: RegionID, positions: Positions, nowMilliseconds: UInt64) {
        guard peers[peer]?.connected == true else { return }
        peers[peer]?.caughtUpRequested = true
        peers[peer]?.acknowledged = positions
        peers[peer]?.sent = positions
        peers[peer]?.snapshot = nil
        peers[peer]?.progressAtMilliseconds = [:]
    }

    /// The peer acknowledged what it has applied.
    public mutating func receivedAcknowledgement(from peer: RegionID, positions: Positions, nowMilliseconds: UInt64) {
        guard var progress = peers[peer] else { return }
        let merged = progress.acknowledged.merged(with: positions)
        for (origin, sequence) in merged.sequences where sequence > progress.acknowledged[origin] {
            progress.progressAtMilliseconds[origin] = nowMilliseconds
        }
        progress.acknowledged = merged
        // What the peer has from elsewhere need not be sent again.
        progress.sent = progress.sent.merged(with: merged)
        peers[peer] = progress
    }

    public mutating func receivedHeartbeat(from peer: RegionID, _ heartbeat: Heartbeat, nowMilliseconds: UInt64) {
        guard let progress = peers[peer] else { return }
        // A heartbeat carries the peer's positions: if its catch-up request was lost, it
        // stands in for it, so streaming never waits for a reconnection.
        if progress.connected && !progress.caughtUpRequested {
            receivedCatchUp(from: peer, positions: heartbeat.applied, nowMilliseconds: nowMilliseconds)
        }
        peers[peer]?.heartbeat = heartbeat
        peers[peer]?.heartbeatReceivedAtMilliseconds = nowMilliseconds
        receivedAcknowledgement(from: peer, positions: heartbeat.applied, nowMilliseconds: nowMilliseconds)
    }

    // MARK: Sending

    /// The log ranges to stream now: for every connected peer that asked, every origin it
    /// lacks, within the window. The caller reads them and reports with `didSend`.
    public func rangesToSend() -> [SendRange] {
        var ranges: [SendRange] = []
        for (peer, progress) in peers.sorted(by: { $0.key < $1.key }) where progress.connected && progress.caughtUpRequested && progress.snapshot == nil {
            for (origin, head) in applied.sequences.sorted(by: { $0.key < $1.key }) where origin != peer {
                let sent = progress.sent[origin]
                let (windowEnd, overflow) = progress.acknowledged[origin].addingReportingOverflow(configuration.windowEntriesMax)
                let limit = overflow ? head : min(head, windowEnd)
                if sent < limit { ranges.append(SendRange(peer: peer, origin: origin, after: sent, through: limit)) }
            }
        }
        return ranges
    }

    /// Records entries sent to a peer (through `sequence` of `origin`).
    public mutating func didSend(to peer: RegionID, origin: RegionID, through sequence: UInt64, nowMilliseconds: UInt64) {
        guard var progress = peers[peer] else { return }
        precondition(sequence <= applied[origin], "a region sends only what it applied")
        // The retransmission clock starts when entries of the origin begin to be outstanding.
        if progress.sent[origin] <= progress.acknowledged[origin] { progress.progressAtMilliseconds[origin] = nowMilliseconds }
        progress.sent[origin] = max(progress.sent[origin], sequence)
        peers[peer] = progress
    }

    /// The peer needs entries this region no longer holds: begin a snapshot transfer.
    ///
    /// `onlyOwnLog` limits the positions it moves to this region's own origin log: what a
    /// region that does not hold every table of the peer can still vouch for, since its
    /// own log never carries writes to tables it does not hold.
    public mutating func beginSnapshot(to peer: RegionID, onlyOwnLog: Bool = false) -> SnapshotTransfer {
        let positions = onlyOwnLog ? Positions([local: applied[local]]) : applied
        let transfer = SnapshotTransfer(transfer: nextTransfer, positions: positions, table: nil, cursor: nil)
        nextTransfer += 1
        peers[peer]?.snapshot = transfer
        return transfer
    }

    /// A peer newly added to a table's regions asked for its data: send a copy of that
    /// table (no positions move). Refused while another transfer to the peer runs; the
    /// peer asks again.
    @discardableResult
    public mutating func beginTableCopy(to peer: RegionID, table: TableName) -> Bool {
        guard let progress = peers[peer], progress.connected, progress.snapshot == nil else { return false }
        peers[peer]?.snapshot = SnapshotTransfer(transfer: nextTransfer, positions: Positions(), table: table, cursor: nil)
        nextTransfer += 1
        return true
    }

    /// Records snapshot progress; when `finished`, streaming resumes after its positions.
    public mutating func advanceSnapshot(to peer: RegionID, _ transfer: SnapshotTransfer, finished: Bool, nowMilliseconds: UInt64) {
        guard var progress = peers[peer], progress.snapshot?.transfer == transfer.transfer else { return }
        if finished {
            progress.snapshot = nil
            // A full snapshot moves the peer to its positions; a table copy moves nothing.
            if transfer.table == nil {
                progress.sent = transfer.positions.merged(with: progress.acknowledged)
                for origin in progress.sent.sequences.keys { progress.progressAtMilliseconds[origin] = nowMilliseconds }
            }
        } else {
            progress.snapshot = transfer
        }
        peers[peer] = progress
    }

    /// Heartbeats due now, and retransmission after silence: entries a peer did not
    /// acknowledge within the timeout are sent again from its acknowledged positions.
    public mutating func tick(nowMilliseconds: UInt64) -> [(RegionID, ReplicationMessage)] {
        var messages: [(RegionID, ReplicationMessage)] = []
        for peer in peers.keys.sorted() {
            guard var progress = peers[peer], progress.connected else { continue }
            if nowMilliseconds >= progress.heartbeatSentAtMilliseconds + configuration.heartbeatIntervalMilliseconds {
                progress.heartbeatSentAtMilliseconds = nowMilliseconds
                messages.append((peer, .heartbeat(Heartbeat(latestSequence: applied[local], latestTimestamp: latestOwnTimestamp,
                                                            wallMilliseconds: nowMilliseconds, applied: applied))))
            }
            // Origins whose acknowledgement stalled while entries were outstanding are sent
            // again from what the peer acknowledged (each origin on its own clock).
            for (origin, sent) in progress.sent.sequences where sent > progress.acknowledged[origin] {
                let since = progress.progressAtMilliseconds[origin] ?? nowMilliseconds
                if progress.progressAtMilliseconds[origin] == nil { progress.progressAtMilliseconds[origin] = nowMilliseconds }
                if nowMilliseconds >= since + configuration.retransmitTimeoutMilliseconds {
                    progress.sent[origin] = progress.acknowledged[origin]
                    progress.progressAtMilliseconds[origin] = nowMilliseconds
                }
            }
            peers[peer] = progress
        }
        return messages
    }

    // MARK: Retention

    /// Per origin, the sequence through which the log may be truncated: everything every
    /// peer acknowledged, or, past `originLogEntriesRetainedMax`, the oldest entries anyway
    /// (a peer that falls that far behind catches up from a snapshot).
    public func truncationPoints() -> Positions {
        var points = Positions()
        for (origin, head) in applied.sequences {
            let acknowledgements = configuration.peers.filter { $0 != origin }.map { peers[$0]?.acknowledged[origin] ?? 0 }
            let everyoneHas = acknowledgements.min() ?? head
            let retentionFloor = head > configuration.originLogEntriesRetainedMax ? head - configuration.originLogEntriesRetainedMax : 0
            points[origin] = min(head, max(everyoneHas, retentionFloor))
        }
        return points
    }
}
