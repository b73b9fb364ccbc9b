import MeridianCore
import MeridianStorage

/// The change feed: recording what a write step changed (in its transaction), retention,
/// and serving pages of a table's changes (docs/changefeed.md).
extension Step {
    /// Records the changes the step noted, in order, under the feed's next sequences, and
    /// on a tick truncates what retention lets go. Runs last in every write step, inside its
    /// transaction, so a change is recorded if and only if it is applied.
    mutating func recordChanges(_ recorder: ChangeRecorder, ticked: Bool) throws {
        let before = state.changeFeed
        var feed = before
        if feed.epoch == 0 { feed.epoch = max(wallMilliseconds, 1) }
        for noted in recorder.takeNoted() {
            feed.latest += 1
            // A Raft table's changes carry the index its group applied through in this step:
            // at least the index of the entry that made them (speculative entries included,
            // which a resume never counts as seen: the mark takes the commit index).
            let raftIndex = state.consensus.groups[noted.table]?.appliedIndex ?? 0
            try recorder.base.appendChange(ChangeRecord(sequence: feed.latest, table: noted.table, change: noted.change, conflict: noted.conflict,
                                                        appliedAtMilliseconds: wallMilliseconds, raftIndex: raftIndex))
        }
        if ticked { try truncateChanges(&feed, writer: recorder.base) }
        if feed != before { try recorder.base.setMetadata(MetadataName.changeFeed, feed.bytes) }
        state.changeFeed = feed
    }

    /// Truncates the oldest changes beyond the feed's retention (count and age), at most
    /// `truncatedPerStepMax` per step, and remembers the greatest timestamp and Raft index
    /// it removed.
    func truncateChanges(_ feed: inout ChangeFeedState, writer: any StorageWriter) throws {
        let settings = region.configuration.changeFeed
        let countBound = feed.latest > UInt64(settings.retainedChangesMax) ? feed.latest - UInt64(settings.retainedChangesMax) : 0
        let ageBound = wallMilliseconds > settings.retainedMillisecondsMax ? wallMilliseconds - settings.retainedMillisecondsMax : 0
        func expired(_ change: ChangeRecord) -> Bool { change.sequence <= countBound || change.appliedAtMilliseconds < ageBound }
        guard let oldest = try writer.changes(table: nil, after: feed.truncatedThrough, limit: 1).first, expired(oldest) else { return }
        var through = feed.truncatedThrough
        for change in try writer.changes(table: nil, after: feed.truncatedThrough, limit: settings.truncatedPerStepMax) {
            guard expired(change) else { break }
            through = change.sequence
            feed.truncatedTimestampMax = max(feed.truncatedTimestampMax, change.timestamp)
            feed.truncatedRaftIndexMax = max(feed.truncatedRaftIndexMax, change.raftIndex)
        }
        try writer.truncateChanges(through: through)
        feed.truncatedThrough = through
    }

    /// A page of `table`'s changes after `start`, at most `limit` changes and
    /// `ChangeFeedSettings.pageBytesMax` bytes. It reflects the region as of the start of
    /// the step (changes of this step are recorded at its end), and so does its mark.
    func changesPage(_ table: TableName, from start: ChangeStart, limit: Int, reader: any StorageReader) throws -> RegionReply {
        precondition((1...ChangeFeedSettings.pageChangesMax).contains(limit), "a page holds 1 to pageChangesMax changes")
        let definition = try servedTable(table)
        let committed = region.state
        let feed = committed.changeFeed
        let current = Self.resolvedMark(of: definition, in: committed)
        let after: UInt64
        let mark: ResolvedMark?
        var resumed = false
        switch start {
        case .latest:
            (after, mark) = (feed.latest, current)
        case .cursor(let cursor) where cursor.region == local && cursor.epoch == feed.epoch:
            guard cursor.sequence <= feed.latest else {
                throw Self.cursorGone(table, cursor, "this region's feed ends at \(feed.latest), before the cursor (it lost changes it had recorded)")
            }
            guard cursor.sequence >= feed.truncatedThrough else {
                throw Self.cursorGone(table, cursor, "retention removed this region's changes through \(feed.truncatedThrough)")
            }
            (after, mark) = (cursor.sequence, cursor.mark)
        case .cursor(let cursor):
            // Another region's cursor, or one of this region's earlier feed: resume from the
            // first change here that its mark does not cover.
            guard let cursorMark = cursor.mark, Self.markFits(cursorMark, definition) else {
                throw Self.cursorGone(table, cursor, "the cursor is from \(cursor.region == local ? "an earlier feed of this region" : "region \(cursor.region)") and carries no mark of what it has seen that this region can use")
            }
            guard cursorMark.covers(ChangeRecord(sequence: 0, table: table, change: .tableCleared(feed.truncatedTimestampMax), appliedAtMilliseconds: 0,
                                                 raftIndex: feed.truncatedRaftIndexMax)) else {
                throw Self.cursorGone(table, cursor, "retention removed changes here that the cursor's mark does not cover")
            }
            let first = try reader.firstChange(table: table, notCoveredBy: cursorMark)
            (after, mark, resumed) = (first.map { $0.sequence - 1 } ?? feed.latest, cursorMark, true)
        }
        let rows = try reader.changes(table: table, after: after, limit: limit + 1)
        var page: [ChangeRecord] = []
        var bytes = 0
        for row in rows.prefix(limit) {
            let size = Self.estimatedBytes(row)
            guard page.isEmpty || bytes + size <= ChangeFeedSettings.pageBytesMax else { break }
            page.append(row)
            bytes += size
        }
        let caughtUp = page.count == rows.count
        let through = caughtUp ? max(feed.latest, after) : page[page.count - 1].sequence
        let cursor = ChangeCursor(region: local, epoch: feed.epoch, sequence: through, mark: caughtUp ? current ?? mark : mark)
        return .changes(ChangePage(changes: page, cursor: cursor, changesMark: mark, caughtUp: caughtUp, resumedFromMark: resumed))
    }

    /// What a subscriber caught up with the feed of `state` has provably seen of a table:
    /// `nil` when the region cannot vouch for it now.
    ///
    /// - Multi-primary: every write with a timestamp at or below the result is applied. Its
    ///   own future writes take timestamps above its clock; a peer's, above the wall time at
    ///   which the peer sent its last heartbeat, once every entry that heartbeat announced is
    ///   applied (a peer not vouched for that way leaves no mark).
    /// - Raft tables: the group's log through its commit index is applied (speculative
    ///   entries, which a new leader may replace, are not counted).
    static func resolvedMark(of definition: TableDefinition, in state: RegionState) -> ResolvedMark? {
        if definition.mode != .multiPrimary {
            guard let group = state.consensus.groups[definition.name] else { return nil }
            return .raftIndex(min(group.appliedIndex, group.node.status.commit))
        }
        var resolved = state.clock.latest
        for (peer, progress) in state.replication.peers {
            guard let heartbeat = progress.heartbeat, state.replication.applied[peer] >= heartbeat.latestSequence else { return nil }
            let sentAt = min(heartbeat.wallMilliseconds, progress.heartbeatReceivedAtMilliseconds)
            guard sentAt > 0 else { return nil }
            resolved = min(resolved, HLCTimestamp(physicalMilliseconds: sentAt - 1, logical: HLCTimestamp.logicalMax))
        }
        return .timestamp(resolved)
    }

    static func markFits(_ mark: ResolvedMark, _ definition: TableDefinition) -> Bool {
        switch mark {
        case .timestamp: return definition.mode == .multiPrimary
        case .raftIndex: return definition.mode != .multiPrimary
        }
    }

    /// The bytes of a change's key and value, as a page counts them.
    static func estimatedBytes(_ change: ChangeRecord) -> Int {
        guard case .item(let item) = change.change else { return 16 }
        return item.key.bytes.count + (item.value?.canonicalBytes.count ?? 0) + 64
    }

    static func cursorGone(_ table: TableName, _ cursor: ChangeCursor, _ reason: String) -> MeridianError {
        MeridianError(.gone, code: "cursor_expired",
            "cannot continue table '\(table)''s change feed from cursor \(cursor): \(reason). Resync: take a cursor with since=now, scan the table (GET /v1/tables/\(table)/items, following 'next'), then follow the feed from that cursor")
    }
}

extension ChangeFeedState {
    /// Stops when a step broke the feed: its sequence never goes backwards, and its epoch
    /// never changes once set.
    func checkInvariants(after previous: ChangeFeedState) {
        precondition(latest >= previous.latest, "the change feed's sequence never goes backwards")
        precondition(previous.epoch == 0 || epoch == previous.epoch, "a change feed keeps its epoch")
        precondition(truncatedThrough >= previous.truncatedThrough && truncatedThrough <= latest, "retention only moves forward, and never past the newest change")
    }
}
