// The log a node holds in memory: a snapshot, then the entries after it, with marks for
// what the caller has persisted, what is committed and what was handed out to apply.

/// The log of one node.
///
/// Invariants: `entries[k].index == snapshotIndex + 1 + k`; terms never decrease along the
/// log; `snapshotIndex <= applied <= applying <= committed <= lastIndex`;
/// `snapshotIndex < unstableFrom <= lastIndex + 1`.
struct RaftLog: Sendable {
    /// The snapshot that replaced the log through `snapshotIndex`, if any (sent to laggards).
    private(set) var snapshot: RaftSnapshot?
    private(set) var snapshotIndex: UInt64
    private(set) var snapshotTerm: UInt64
    /// The entries after the snapshot, in chunks: the region copies the whole state every
    /// step (its rollback copy), and a flat array would be copied whole by the first append.
    private(set) var entries: RaftEntryChunks
    /// The first index not yet acknowledged as persisted.
    private(set) var unstableFrom: UInt64
    /// A snapshot received from the leader that the caller has not yet persisted.
    private(set) var pendingSnapshot: RaftSnapshot?
    private(set) var committed: UInt64
    /// The highest index handed out in `RaftReady.committedEntries`.
    private(set) var applying: UInt64
    /// The highest index the caller acknowledged as applied.
    private(set) var applied: UInt64

    init(snapshot: RaftSnapshot?, entries restored: [RaftEntry], committed: UInt64, applied: UInt64) {
        self.snapshot = snapshot
        snapshotIndex = snapshot?.index ?? 0
        snapshotTerm = snapshot?.term ?? 0
        let base = snapshotIndex
        let kept = restored.filter { $0.index > base }
        for (offset, entry) in kept.enumerated() {
            precondition(entry.index == base + 1 + UInt64(offset), "restored log: entry \(entry.index) out of place after index \(base)")
        }
        entries = RaftEntryChunks(kept)
        unstableFrom = base + 1 + UInt64(entries.count)
        pendingSnapshot = nil
        self.committed = max(committed, base)
        self.applied = max(applied, base)
        applying = self.applied
        precondition(self.committed <= lastIndex, "restored commit \(committed) beyond the last index \(lastIndex)")
        precondition(self.applied <= self.committed, "restored applied \(applied) beyond commit \(self.committed)")
    }

    var firstIndex: UInt64 { snapshotIndex + 1 }
    var lastIndex: UInt64 { snapshotIndex + UInt64(entries.count) }
    var lastTerm: UInt64 { entries.last?.term ?? snapshotTerm }

    /// The term of the entry at `index`: nil if compacted away or beyond the log.
    func term(at index: UInt64) -> UInt64? {
        if index == snapshotIndex { return snapshotTerm }
        if index < snapshotIndex || index > lastIndex { return nil }
        return entries[Int(index - snapshotIndex - 1)].term
    }

    /// The entry at `index`: nil if compacted away or beyond the log.
    func entry(at index: UInt64) -> RaftEntry? {
        guard index > snapshotIndex, index <= lastIndex else { return nil }
        return entries[Int(index - snapshotIndex - 1)]
    }

    func matchesTerm(at index: UInt64, _ term: UInt64) -> Bool {
        self.term(at: index) == term
    }

    /// Whether a log ending at (`index`, `term`) is at least as up to date as this one (§5.4.1).
    func isUpToDate(lastIndex index: UInt64, lastTerm term: UInt64) -> Bool {
        term > lastTerm || (term == lastTerm && index >= lastIndex)
    }

    /// The entries from `index` on, at most `countMax` of them and `bytesMax` data bytes
    /// (but at least one). Nil if `index` was compacted away.
    func entries(from index: UInt64, countMax: Int, bytesMax: Int) -> [RaftEntry]? {
        if index <= snapshotIndex { return nil }
        if index > lastIndex { return [] }
        let start = Int(index - snapshotIndex - 1)
        var end = start
        var bytes = 0
        while end < entries.count && end - start < countMax {
            bytes += entries[end].data.count
            if end > start && bytes > bytesMax { break }
            end += 1
        }
        return entries.slice(start..<end)
    }

    /// Appends entries that continue the log at `lastIndex + 1`, as a leader does.
    mutating func append(_ newEntries: [RaftEntry]) {
        for entry in newEntries {
            precondition(entry.index == lastIndex + 1, "append: entry \(entry.index) does not follow last index \(lastIndex)")
            precondition(entry.term >= lastTerm, "append: entry term \(entry.term) below last term \(lastTerm)")
            entries.append(entry)
        }
    }

    /// A follower's append: if the entry before `entries` matches (`index`, `logTerm`), keeps
    /// what agrees, truncates at the first conflict, appends the rest and advances the commit
    /// to `min(commit, last new index)`. Returns the last new index, or nil if the log does
    /// not match (or the message would rewrite committed entries, which only a broken peer asks).
    mutating func maybeAppend(index: UInt64, logTerm: UInt64, commit: UInt64, entries newEntries: [RaftEntry]) -> UInt64? {
        guard matchesTerm(at: index, logTerm) else { return nil }
        let lastNew = index + UInt64(newEntries.count)
        guard let conflict = newEntries.first(where: { !matchesTerm(at: $0.index, $0.term) }) else {
            self.commit(to: min(commit, lastNew))
            return lastNew
        }
        guard conflict.index > committed else { return nil }
        if conflict.index <= lastIndex {
            entries.removeLast(Int(lastIndex - conflict.index + 1))
            unstableFrom = min(unstableFrom, conflict.index)
        }
        append(Array(newEntries[Int(conflict.index - index - 1)...]))
        self.commit(to: min(commit, lastNew))
        return lastNew
    }

    /// Advances the commit index; never moves it back.
    mutating func commit(to index: UInt64) {
        guard index > committed else { return }
        precondition(index <= lastIndex, "commit \(index) beyond the last index \(lastIndex)")
        committed = index
    }

    /// Replaces the whole log with a snapshot from the leader, to be persisted and applied.
    mutating func restore(_ newSnapshot: RaftSnapshot) {
        precondition(newSnapshot.index > committed, "restore: snapshot \(newSnapshot.index) not beyond commit \(committed)")
        snapshot = newSnapshot
        snapshotIndex = newSnapshot.index
        snapshotTerm = newSnapshot.term
        entries = RaftEntryChunks()
        unstableFrom = newSnapshot.index + 1
        pendingSnapshot = newSnapshot
        committed = newSnapshot.index
    }

    /// Drops the entries through `index`, which the caller applied and captured in `data`.
    mutating func compact(through index: UInt64, membership: RaftMembership, data: [UInt8]) {
        precondition(index <= applying, "compact: index \(index) was never handed out to apply (through \(applying))")
        guard index > snapshotIndex, let term = term(at: index) else { return }
        entries.removeFirst(Int(index - snapshotIndex))
        snapshot = RaftSnapshot(index: index, term: term, membership: membership, data: data)
        snapshotIndex = index
        snapshotTerm = term
    }

    /// The entries the caller has not yet acknowledged as persisted.
    var unstableEntries: [RaftEntry] {
        entries.slice(Int(unstableFrom - snapshotIndex - 1)..<entries.count)
    }

    /// The committed entries not yet handed out to apply.
    var committedEntriesToApply: [RaftEntry] {
        let from = max(applying, snapshotIndex) + 1
        guard committed >= from else { return [] }
        return entries.slice(Int(from - snapshotIndex - 1)..<Int(committed - snapshotIndex))
    }

    var hasWork: Bool {
        pendingSnapshot != nil || unstableFrom <= lastIndex || committed > max(applying, snapshotIndex)
    }

    mutating func markApplying(through index: UInt64) {
        applying = max(applying, index)
    }

    /// The caller persisted entries through (`index`, `term`); ignored if the log changed since.
    mutating func stable(through index: UInt64, term: UInt64) {
        guard index >= unstableFrom, matchesTerm(at: index, term) else { return }
        unstableFrom = index + 1
    }

    /// The caller persisted and applied the snapshot at `index`.
    mutating func stableSnapshot(at index: UInt64) {
        guard pendingSnapshot?.index == index else { return }
        pendingSnapshot = nil
        applying = max(applying, index)
        applied = max(applied, index)
    }

    mutating func markApplied(through index: UInt64) {
        precondition(index <= committed, "applied \(index) beyond commit \(committed)")
        applied = max(applied, index)
        applying = max(applying, applied)
    }
}
