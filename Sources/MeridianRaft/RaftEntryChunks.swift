// The log's entries in fixed-size chunks, so that copying a log (a Raft node is a value,
// and the region keeps the state of the step before as its rollback copy) shares all
// but the chunk a mutation touches instead of copying every entry.

/// A sequence of entries stored as chunks of at most `chunkEntriesMax` entries.
///
/// Invariants: no chunk is empty; every chunk but the first and the last holds exactly
/// `chunkEntriesMax` entries. Appending touches only the last chunk, dropping from the
/// front only the first, truncating at the end only the last ones: each copies at most
/// one chunk plus the outer array of chunk references.
struct RaftEntryChunks: Sendable {
    /// The most entries in one chunk.
    static let chunkEntriesMax = 256

    private var chunks: [[RaftEntry]] = []
    private(set) var count = 0

    init() {}

    init(_ entries: [RaftEntry]) {
        append(contentsOf: entries)
    }

    var last: RaftEntry? { chunks.last?.last }

    subscript(position: Int) -> RaftEntry {
        precondition(position >= 0 && position < count, "entry position \(position) outside 0..<\(count)")
        let first = chunks[0].count
        if position < first { return chunks[0][position] }
        let rest = position - first
        return chunks[1 + rest / Self.chunkEntriesMax][rest % Self.chunkEntriesMax]
    }

    /// The entries at `range`, as an array.
    func slice(_ range: Range<Int>) -> [RaftEntry] {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "entry range \(range) outside 0..<\(count)")
        var result: [RaftEntry] = []
        result.reserveCapacity(range.count)
        for position in range { result.append(self[position]) }
        return result
    }

    mutating func append(_ entry: RaftEntry) {
        if chunks.isEmpty || chunks[chunks.count - 1].count == Self.chunkEntriesMax {
            var chunk: [RaftEntry] = []
            chunk.reserveCapacity(Self.chunkEntriesMax)
            chunk.append(entry)
            chunks.append(chunk)
        } else {
            chunks[chunks.count - 1].append(entry)
        }
        count += 1
    }

    mutating func append(contentsOf entries: [RaftEntry]) {
        for entry in entries { append(entry) }
    }

    /// Drops the first `dropped` entries.
    mutating func removeFirst(_ dropped: Int) {
        precondition(dropped >= 0 && dropped <= count, "cannot drop \(dropped) of \(count) entries")
        var left = dropped
        while left > 0 {
            let first = chunks[0].count
            if left >= first {
                chunks.removeFirst()
                left -= first
            } else {
                chunks[0].removeFirst(left)
                left = 0
            }
        }
        count -= dropped
    }

    /// Drops the last `dropped` entries.
    mutating func removeLast(_ dropped: Int) {
        precondition(dropped >= 0 && dropped <= count, "cannot drop \(dropped) of \(count) entries")
        var left = dropped
        while left > 0 {
            let last = chunks[chunks.count - 1].count
            if left >= last {
                chunks.removeLast()
                left -= last
            } else {
                chunks[chunks.count - 1].removeLast(left)
                left = 0
            }
        }
        count -= dropped
    }

}
