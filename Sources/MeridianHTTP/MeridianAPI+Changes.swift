import Foundation
import HTTPTypes
import Hummingbird
import MeridianAPIModel
import MeridianCore
import MeridianNode
import MeridianRegion
import MeridianStorage
import NIOCore
import ServiceLifecycle

/// `GET /v1/tables/{table}/changes`: the table's change feed (docs/changefeed.md), as
/// Server-Sent Events (`Accept: text/event-stream`) or as a JSON long poll.
///
/// Both read pages from the region (`RegionRequest.changes`) and wait for the next change
/// on the node's `ChangeNotifier`, which every step tells the feed's newest sequence:
/// nothing polls storage. A stream reads its next page only once the previous one was
/// written, so a subscriber holds at most one page (`ChangeFeedSettings.pageBytesMax`)
/// and a slow one never slows the region; one whose write takes longer than
/// `streamWriteMillisecondsMax` is cut off with a `cutoff` event naming its cursor (as is
/// every stream when the server shuts down gracefully).
extension MeridianAPI {
    /// How long a quiet stream waits before it sends a keep-alive with its latest cursor, in milliseconds.
    static let streamKeepAliveMilliseconds: UInt64 = 15_000
    /// The least time between two `cursor` events of a stream, in milliseconds.
    static let streamCursorIntervalMilliseconds: UInt64 = 1_000
    /// The longest one write to a stream may take before its subscriber is cut off, in milliseconds.
    static let streamWriteMillisecondsMax: UInt64 = 10_000

    @Sendable func changes(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let table = try tableName(context)
        let query = try QueryParameters(request.uri.query)
        let limit = try query.limit()
        let start = try Self.changeStart(query[ChangeFeedAPI.since], lastEventID: request.headers[Self.lastEventID])
        if request.headers[.accept]?.contains(ChangeFeedAPI.eventStream) == true {
            // A stream for a table stored elsewhere is refused (421 names the regions), not
            // relayed: the subscriber connects to one of them.
            return try await changeStream(table, start: start, limit: limit)
        }
        let wait = try query.integer(ChangeFeedAPI.waitMilliseconds).map(UInt64.init) ?? 0
        guard wait <= ChangeFeedAPI.waitMillisecondsMax else {
            throw APIError(.invalid("invalid_query", "\(ChangeFeedAPI.waitMilliseconds) must be at most \(ChangeFeedAPI.waitMillisecondsMax)"))
        }
        return try await forwardingIfMisdirected(request, table: table) {
            let (page, resumed) = try await changePage(table, from: start, limit: limit, waitMilliseconds: wait)
            let body = ChangePageBody(changes: page.changes.map { ChangeEventBody($0, cursor: page.cursor(after: $0), region: node.region) },
                                      cursor: page.cursor.description, caughtUp: page.caughtUp, resumed: resumed, region: node.region.name)
            return try json(.ok, body)
        }
    }

    static let lastEventID = HTTPField.Name(ChangeFeedAPI.lastEventID)!

    /// Where a request starts: the SSE reconnection header wins over `since`; neither, or
    /// `since=now`, starts after the region's latest change.
    static func changeStart(_ since: String?, lastEventID: String?) throws(MeridianError) -> ChangeStart {
        guard let text = lastEventID ?? since, text != "now" else { return .latest }
        return .cursor(try ChangeCursor(parsing: text))
    }

    /// A page after `start`; when it is empty and caught up, waits (up to `waitMilliseconds`)
    /// for the next change and reads again. Also says whether it resumed another region's cursor.
    func changePage(_ table: TableName, from start: ChangeStart, limit: Int, waitMilliseconds: UInt64) async throws -> (ChangePage, Bool) {
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(Int64(waitMilliseconds)))
        var page = try await readChanges(table, from: start, limit: limit)
        let resumed = page.resumedFromMark
        let changes = node.changes
        try await withGracefulShutdownHandler {
            while page.changes.isEmpty && page.caughtUp {
                let left = ContinuousClock.now.duration(to: deadline)
                guard left > .zero, !changes.isClosed else { break }
                _ = await changes.wait(above: page.cursor.sequence, timeoutMilliseconds: UInt64((left / .milliseconds(1)).rounded(.up)))
                page = try await readChanges(table, from: .cursor(page.cursor), limit: limit)
            }
        } onGracefulShutdown: {
            changes.close()
        }
        return (page, resumed)
    }

    private func readChanges(_ table: TableName, from start: ChangeStart, limit: Int) async throws -> ChangePage {
        guard case .changes(let page) = try await perform(.changes(table, start, limit: limit)) else {
            preconditionFailure("the region answered a change-feed request with another reply")
        }
        return page
    }

    /// The Server-Sent Events stream: `change` events (id: the cursor after the change),
    /// `cursor` events when the feed moved on with nothing for the table, comments as
    /// keep-alives, and a final `cutoff` or `error` event when the server ends it.
    private func changeStream(_ table: TableName, start: ChangeStart, limit: Int) async throws -> Response {
        // The first page is read before the answer starts: a bad cursor, a missing table or
        // one stored elsewhere, and an expired cursor get their usual status.
        let first = try await readChanges(table, from: start, limit: limit)
        guard node.changes.openStream() else {
            throw APIError(MeridianError(.unavailable, code: "too_many_streams",
                "this region serves \(ChangeNotifier.streamsMax) change-feed streams already; retry later, or use the long poll"))
        }
        let headers: HTTPFields = [.contentType: ChangeFeedAPI.eventStream, .cacheControl: "no-cache"]
        let changes = node.changes
        return Response(status: .ok, headers: headers, body: ResponseBody { [self] writer in
            defer { changes.closeStream() }
            // A graceful shutdown ends every stream (with a resumable cursor) rather than wait for them.
            try await withGracefulShutdownHandler {
                try await streamChanges(table, first: first, limit: limit, writer: &writer)
            } onGracefulShutdown: {
                changes.close()
            }
            try await writer.finish(nil)
        })
    }

    private func streamChanges(_ table: TableName, first: ChangePage, limit: Int, writer: inout any ResponseBodyWriter) async throws {
        var page = first
        var lastSent: ChangeCursor? = nil
        var cursorSentAt: ContinuousClock.Instant? = nil
        var keepAliveDue = false
        while true {
            var events = ByteBuffer()
            for change in page.changes {
                let cursor = page.cursor(after: change)
                events.writeString(Self.sseEvent("change", id: cursor.description, ChangeEventBody(change, cursor: cursor, region: node.region)))
                lastSent = cursor
            }
            // The cursor moves on after a page that caught up (a newer mark, or later changes of
            // other tables): sent after changes at once, otherwise at most once per interval.
            let cursorDue = cursorSentAt.map { $0.duration(to: .now) >= .milliseconds(Int64(Self.streamCursorIntervalMilliseconds)) } ?? true
            if page.caughtUp, page.cursor != lastSent, !page.changes.isEmpty || cursorDue || keepAliveDue {
                events.writeString(Self.sseEvent("cursor", id: page.cursor.description, ChangeCursorBody(cursor: page.cursor.description, region: node.region.name)))
                lastSent = page.cursor
                cursorSentAt = .now
            }
            if keepAliveDue { events.writeString(": keep-alive\n\n") }
            if events.readableBytes > 0 {
                let started = ContinuousClock.now
                try await writer.write(events)
                if started.duration(to: .now) > .milliseconds(Int64(Self.streamWriteMillisecondsMax)) {
                    // Too slow to keep up: cut off, resumable from the last event it got.
                    let last = (lastSent ?? first.cursor).description
                    try await writer.write(ByteBuffer(string: Self.sseEvent("cutoff", id: last, ChangeCursorBody(cursor: last, region: node.region.name))))
                    return
                }
            }
            keepAliveDue = false
            if page.caughtUp {
                let before = page.cursor.sequence
                let latest = await node.changes.wait(above: before, timeoutMilliseconds: Self.streamKeepAliveMilliseconds)
                if Task.isCancelled { return }
                if node.changes.isClosed {
                    let last = (lastSent ?? page.cursor).description
                    try await writer.write(ByteBuffer(string: Self.sseEvent("cutoff", id: last, ChangeCursorBody(cursor: last, region: node.region.name))))
                    return
                }
                keepAliveDue = latest <= before
            }
            do {
                page = try await readChanges(table, from: .cursor(page.cursor), limit: limit)
            } catch let error as APIError {
                try await writer.write(ByteBuffer(string: Self.sseEvent("error", id: nil, ErrorBody(code: error.error.code, message: error.error.message))))
                return
            }
        }
    }

    /// One Server-Sent Event: its type, its id (the cursor it resumes from), and its body as one line of JSON.
    static func sseEvent(_ type: String, id: String?, _ body: some Encodable) -> String {
        var json = (try? APIJSON.encode(body)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        while json.last == "\n" { json.removeLast() }
        return (id.map { "id: \($0)\n" } ?? "") + "event: \(type)\ndata: \(json)\n\n"
    }
}

extension ChangeEventBody {
    /// A recorded change as the feed shows it.
    init(_ change: ChangeRecord, cursor: ChangeCursor, region: RegionID) {
        switch change.change {
        case .item(let item):
            self.init(kind: item.isTombstone ? "delete" : "put", table: change.table.name, key: item.key.string, value: item.value,
                      version: item.version.token, origin: item.version.origin.name, timestamp: item.version.timestamp.description,
                      context: item.record?.vector.token, conflict: change.conflict, sequence: change.sequence, cursor: cursor.description,
                      appliedAtMilliseconds: change.appliedAtMilliseconds, region: region.name)
            if let siblings = item.record?.siblings, !siblings.isEmpty {
                self.siblings = siblings.map { SiblingBody(value: $0.value, deleted: $0.value == nil, version: $0.version.token, origin: $0.version.origin.name) }
            }
        case .tableCleared:
            self.init(kind: "cleared", table: change.table.name, conflict: change.conflict, sequence: change.sequence, cursor: cursor.description,
                      appliedAtMilliseconds: change.appliedAtMilliseconds, region: region.name)
        case .withheld:
            preconditionFailure("a withheld change is never served")
        }
    }
}
