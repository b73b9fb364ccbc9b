import MeridianCore

/// One change of a table's change feed (docs/changefeed.md): the data of a Server-Sent
/// Events `change` event, and one entry of a long-poll page.
public struct ChangeEventBody: Codable, Sendable, Equatable {
    /// `put` (the item's new value), `delete` (it became a tombstone), or `cleared` (every
    /// item of the table went at once, by a deletion or a snapshot: drop what you hold of it).
    public var kind: String
    public var table: String
    /// The item's key (absent when `cleared`).
    public var key: String?
    /// The item's value after the change (absent on `delete` and `cleared`).
    public var value: JSONValue?
    /// The item's version after the change, as reads show it.
    public var version: String?
    /// The region that accepted the write that made that version.
    public var origin: String?
    /// The version's hybrid-logical-clock timestamp as `milliseconds.logical`.
    public var timestamp: String?
    /// Multi-primary tables: the item's version vector after the change (`Meridian-Context`).
    /// A change whose context another already seen for the key includes is a repeat.
    public var context: String?
    /// Siblings tables: every concurrent version kept.
    public var siblings: [SiblingBody]?
    /// Whether applying the change overwrote a concurrent write (the table's conflict
    /// ledger holds what was overwritten).
    public var conflict: Bool
    /// The serving region's own order of the change.
    public var sequence: UInt64
    /// Resumes the feed right after this change (`since=`, or SSE `Last-Event-ID`).
    public var cursor: String
    /// The serving region's wall clock when it applied the change, in milliseconds since the epoch.
    public var appliedAtMilliseconds: UInt64
    /// The region that served the feed.
    public var region: String

    enum CodingKeys: String, CodingKey {
        case kind, table, key, value, version, origin, timestamp, context, siblings, conflict, sequence, cursor, region
        case appliedAtMilliseconds = "applied_at_ms"
    }

    public init(kind: String, table: String, key: String? = nil, value: JSONValue? = nil, version: String? = nil, origin: String? = nil,
                timestamp: String? = nil, context: String? = nil, siblings: [SiblingBody]? = nil, conflict: Bool = false,
                sequence: UInt64, cursor: String, appliedAtMilliseconds: UInt64, region: String) {
        self.kind = kind
        self.table = table
        self.key = key
        self.value = value
        self.version = version
        self.origin = origin
        self.timestamp = timestamp
        self.context = context
        self.siblings = siblings
        self.conflict = conflict
        self.sequence = sequence
        self.cursor = cursor
        self.appliedAtMilliseconds = appliedAtMilliseconds
        self.region = region
    }
}

/// `GET /v1/tables/{table}/changes` as JSON (long poll): one page of the feed.
public struct ChangePageBody: Codable, Sendable, Equatable {
    public var changes: [ChangeEventBody]
    /// Resumes after the page: pass it as `since` for the next one.
    public var cursor: String
    /// Whether the page holds every change the region had applied: ask again with
    /// `wait_ms` to wait for the next one.
    public var caughtUp: Bool
    /// Whether the page resumed a cursor another region issued: it may repeat changes seen
    /// there (drop a change whose `context` an earlier one for the key already includes).
    public var resumed: Bool
    /// The region that served the page.
    public var region: String

    enum CodingKeys: String, CodingKey {
        case changes, cursor, resumed, region
        case caughtUp = "caught_up"
    }

    public init(changes: [ChangeEventBody], cursor: String, caughtUp: Bool, resumed: Bool, region: String) {
        self.changes = changes
        self.cursor = cursor
        self.caughtUp = caughtUp
        self.resumed = resumed
        self.region = region
    }
}

/// The data of a Server-Sent Events `cursor` event: the feed moved on (other tables
/// changed, or time passed) with nothing for this table; resume from here.
public struct ChangeCursorBody: Codable, Sendable, Equatable {
    public var cursor: String
    public var region: String

    public init(cursor: String, region: String) {
        self.cursor = cursor
        self.region = region
    }
}

/// The query parameters, header and event names of the change feed, shared by server and client.
public enum ChangeFeedAPI {
    /// Resume after this cursor; `now` (the default) starts after the region's latest change.
    public static let since = "since"
    /// Long poll: how long to wait for a change when there is none, in milliseconds.
    public static let waitMilliseconds = "wait_ms"
    /// The most a long poll waits, in milliseconds (below a forwarded request's timeout).
    public static let waitMillisecondsMax: UInt64 = 25_000
    /// The SSE reconnection header a browser sends with the last event's id (a cursor).
    public static let lastEventID = "Last-Event-ID"
    /// The media type that asks for Server-Sent Events.
    public static let eventStream = "text/event-stream"
}
