import MeridianAPIModel
import MeridianCore

/// One change of a table's change feed: `kind` (`put`, `delete`, `cleared`), key, value,
/// version, origin, context, `conflict`, and the `cursor` that resumes right after it.
public typealias ChangeEvent = ChangeEventBody

/// One page of a table's change feed as the long poll returns it.
public typealias ChangeFeedPage = ChangePageBody

extension MeridianClient {
    /// The longest a change-feed poll waits at the region for a change, in milliseconds
    /// (kept below the request timeout, which it must not reach).
    static let changePollWaitMillisecondsMax = 8_000

    /// A table's change feed after `cursor` (nil: after the region's latest change), as an
    /// endless `AsyncSequence` of changes in the serving region's apply order.
    ///
    /// ```swift
    /// for try await change in client.changes(table: "chat", since: savedCursor) {
    ///     render(change)
    ///     savedCursor = change.cursor
    /// }
    /// ```
    ///
    /// Each step long-polls `GET /v1/tables/{table}/changes` through the client's ranking and
    /// failover, so when the region it follows fails, the next poll goes to the next-nearest
    /// region with the same cursor, which resumes from what the cursor proves was seen
    /// (docs/changefeed.md). Within one region the feed has no gap and no repeat; after a
    /// move it has no gap but may repeat changes seen in the region before (their events
    /// carry `resumed`-page cursors of the new region): drop repeats with a
    /// `ChangeDeduplicator`, or apply changes idempotently by key.
    ///
    /// - Throws (from the iterator): `MeridianClientError` 410 `cursor_expired` when no region
    ///   can continue from the cursor (resync with a scan), 404, 421, or `unreachable`.
    public func changes(table: String, since cursor: String? = nil, limit: Int? = nil) -> ChangeSequence {
        ChangeSequence(client: self, table: table, cursor: cursor, limit: limit)
    }

    /// One long poll of a table's change feed: the changes after `cursor` (nil: only later
    /// ones); when there are none yet, the region waits up to `waitMilliseconds` for one.
    public func changePage(table: String, since cursor: String?, waitMilliseconds: Int = 0, limit: Int? = nil) async throws -> ChangeFeedPage {
        let query = PathEncoding.query([(ChangeFeedAPI.since, cursor ?? "now"), (ChangeFeedAPI.waitMilliseconds, waitMilliseconds > 0 ? String(waitMilliseconds) : nil),
                                        ("limit", limit.map(String.init))])
        let answer = try await call("GET", Self.tablePath(table) + "/changes" + query)
        return try answer.decode(ChangePageBody.self)
    }
}

/// A table's change feed as an `AsyncSequence` (`MeridianClient.changes(table:since:)`).
public struct ChangeSequence: AsyncSequence, Sendable {
    public typealias Element = ChangeEvent

    let client: MeridianClient
    let table: String
    let cursor: String?
    let limit: Int?

    public func makeAsyncIterator() -> Iterator {
        Iterator(client: client, table: table, cursor: cursor, limit: limit)
    }

    /// Reads pages and hands out their changes one by one.
    public struct Iterator: AsyncIteratorProtocol {
        let client: MeridianClient
        let table: String
        /// Resumes after every change handed out so far (and any the region skipped as not
        /// this table's).
        public private(set) var cursor: String?
        let limit: Int?
        private var buffered: [ChangeEvent] = []

        init(client: MeridianClient, table: String, cursor: String?, limit: Int?) {
            self.client = client
            self.table = table
            self.cursor = cursor
            self.limit = limit
        }

        public mutating func next() async throws -> ChangeEvent? {
            while buffered.isEmpty {
                try Task.checkCancellation()
                let wait = Swift.min(MeridianClient.changePollWaitMillisecondsMax, client.options.requestTimeoutMilliseconds / 2)
                let page = try await client.changePage(table: table, since: cursor, waitMilliseconds: wait, limit: limit)
                buffered = page.changes
                cursor = page.cursor
            }
            return buffered.removeFirst()
        }
    }
}

/// Drops the changes a subscriber already saw, as a feed that moved to another region may
/// repeat them: for each key it keeps the newest version context (multi-primary tables) or
/// timestamp (others) handed out, and a change whose context that one includes (or whose
/// timestamp is not newer) is a repeat. Remembers at most `keysMax` keys (the oldest go
/// first; a repeat of a forgotten key passes as new).
public struct ChangeDeduplicator: Sendable {
    /// The most keys remembered.
    public let keysMax: Int
    private var seen: [String: (counts: [String: UInt64], timestamp: String?)] = [:]
    private var order: [String] = []

    public init(keysMax: Int = 100_000) {
        precondition(keysMax > 0, "a deduplicator remembers at least one key")
        self.keysMax = keysMax
    }

    /// Whether `change` holds nothing newer than what was already handed out for its key;
    /// records it when it is new. `cleared` changes are never repeats, and forget every key.
    public mutating func isRepeat(_ change: ChangeEvent) -> Bool {
        guard let key = change.key else {
            seen = [:]
            order = []
            return false
        }
        let counts = Self.counts(change.context)
        if let previous = seen[key] {
            let repeated: Bool
            if let counts {
                repeated = counts.allSatisfy { previous.counts[$0.key, default: 0] >= $0.value }
            } else {
                repeated = !Self.timestampKey(previous.timestamp).lexicographicallyPrecedes(Self.timestampKey(change.timestamp))
            }
            if repeated { return true }
            var merged = previous.counts
            for (region, count) in counts ?? [:] { merged[region] = max(merged[region, default: 0], count) }
            seen[key] = (merged, change.timestamp)
            return false
        }
        seen[key] = (counts ?? [:], change.timestamp)
        order.append(key)
        if order.count > keysMax {
            seen[order.removeFirst()] = nil
        }
        return false
    }

    /// A context token (`region.count~region.count`) as counts; nil when absent or unreadable.
    static func counts(_ context: String?) -> [String: UInt64]? {
        guard let context, !context.isEmpty else { return nil }
        var counts: [String: UInt64] = [:]
        for part in context.split(separator: "~") {
            guard let dot = part.lastIndex(of: "."), let count = UInt64(part[part.index(after: dot)...]) else { return nil }
            counts[String(part[..<dot])] = count
        }
        return counts
    }

    /// A `milliseconds.logical` timestamp as a comparable pair.
    static func timestampKey(_ timestamp: String?) -> [UInt64] {
        (timestamp ?? "").split(separator: ".").map { UInt64($0) ?? 0 }
    }
}
