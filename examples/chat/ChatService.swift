import Foundation
import HTTPTypes
import Hummingbird
import MeridianClient
import MeridianCore
import NIOCore

/// The app's routes: the page, sending, editing and reacting, and a room's live events.
///
/// A message is one item keyed `<room>/<sent at, ms, 15 digits>-<random>` (so a scan of a
/// room's prefix lists it in order), whose top-level fields the `merge` policy resolves
/// one by one: `text` (with `editedBy`, `editedAt`), and one field per reaction,
/// `react:<emoji>:<user>`. So an edit in one region and a reaction added at the same moment
/// in another both survive, and two reactions never overwrite each other; two edits of the
/// same text do, and the overwritten one is in the conflict ledger, which the page shows.
final class ChatService: Sendable {
    let options: ChatOptions
    let client: MeridianClient

    /// The most bytes of a message's text.
    static let textBytesMax = 4_000
    /// The most bytes of a request body the app reads.
    static let requestBytesMax = 16_000
    /// How long a stream waits before it tries Meridian again after a failure, in milliseconds.
    static let retryMilliseconds = 500
    /// The most messages of a room the page gets when it joins.
    static let roomMessagesMax = 1_000

    init(options: ChatOptions) async throws {
        self.options = options
        var clientOptions = MeridianClient.Options(simulatedLocation: options.region, latencyMatrix: options.latency,
                                                   retriesMax: options.regions.count - 1, token: options.token)
        // A region that comes back is tried again within seconds, not half a minute.
        clientOptions.unhealthyBackoffMillisecondsMax = 5_000
        client = try MeridianClient(regions: options.regions, options: clientOptions)
        _ = await client.measure()
        try await ensureTable()
    }

    /// Creates the messages table unless it exists (every instance asks; identical definitions agree).
    func ensureTable() async throws {
        for attempt in 1...10 {
            do {
                try await client.createTable(options.table, definition: ["mode": .string("multi-primary"), "conflict": .string("merge")])
                return
            } catch let error as MeridianClientError where error.status == nil || error.status == 503 {
                if attempt == 10 { throw error }
                try await Task.sleep(for: .seconds(1))
            }
        }
    }

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: ChatPage.html)))
        }
        router.get("/api/info") { _, _ in try self.json(["region": .string(self.options.region), "table": .string(self.options.table)]) }
        router.post("/api/rooms/:room/messages") { request, context in try await self.send(request, context) }
        router.post("/api/edit") { request, context in try await self.edit(request, context) }
        router.post("/api/react") { request, context in try await self.react(request, context) }
        router.get("/api/rooms/:room/events") { _, context in try self.events(context) }
        return router
    }

    // MARK: Writes

    struct Failure: HTTPResponseError {
        let status: HTTPResponse.Status
        let message: String
        func response(from request: Request, context: some RequestContext) throws -> Response {
            Response(status: status, headers: [.contentType: "application/json"],
                     body: .init(byteBuffer: ByteBuffer(bytes: JSONValue.object(["error": .string(message)]).canonicalBytes)))
        }
    }

    func body(_ request: Request) async throws -> [String: JSONValue] {
        let bytes = try await request.body.collect(upTo: Self.requestBytesMax)
        guard case .object(let fields) = try JSONValue.parse(bytes.readableBytesView, bytesMax: Self.requestBytesMax) else {
            throw Failure(status: .badRequest, message: "send a JSON object")
        }
        return fields
    }

    func string(_ fields: [String: JSONValue], _ name: String, bytesMax: Int = 100) throws -> String {
        guard case .string(let value)? = fields[name], !value.isEmpty, value.utf8.count <= bytesMax else {
            throw Failure(status: .badRequest, message: "'\(name)' must be a string of 1 to \(bytesMax) bytes")
        }
        return value
    }

    static func room(_ context: BasicRequestContext) throws -> String {
        guard let room = context.parameters.get("room"), !room.isEmpty, room.utf8.count <= 64,
              room.unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == "_" }) else {
            throw Failure(status: .badRequest, message: "a room name is 1 to 64 letters, digits, '-' or '_'")
        }
        return room
    }

    /// `POST /api/rooms/{room}/messages` with `{"author", "text", "sentAt"}` (the page's clock, ms).
    func send(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let room = try Self.room(context)
        let fields = try await body(request)
        let author = try string(fields, "author")
        let text = try string(fields, "text", bytesMax: Self.textBytesMax)
        guard case .integer(let sentAt)? = fields["sentAt"], sentAt > 0 else { throw Failure(status: .badRequest, message: "'sentAt' must be the page's clock in milliseconds") }
        let suffix = String((0..<6).map { _ in "abcdefghijklmnopqrstuvwxyz0123456789".randomElement()! })
        let key = "\(room)/" + String(format: "%015lld", sentAt) + "-" + suffix
        let value: JSONValue = .object(["room": .string(room), "author": .string(author), "text": .string(text), "sentAt": .integer(sentAt),
                                        "fromRegion": .string(options.region)])
        let written = try await client.put(table: options.table, key: key, value: value)
        return try json(["key": .string(key), "region": .string(written.region)])
    }

    /// `POST /api/edit` with `{"key", "text", "editor"}`: the message's text, and who edited it.
    func edit(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let fields = try await body(request)
        let key = try string(fields, "key", bytesMax: 200)
        let text = try string(fields, "text", bytesMax: Self.textBytesMax)
        let editor = try string(fields, "editor")
        return try await update(key) { message in
            message["text"] = .string(text)
            message["editedBy"] = .string(editor)
            message["editedIn"] = .string(self.options.region)
        }
    }

    /// `POST /api/react` with `{"key", "emoji", "user"}`: adds the user's reaction, or takes it back.
    func react(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let fields = try await body(request)
        let key = try string(fields, "key", bytesMax: 200)
        let emoji = try string(fields, "emoji", bytesMax: 16)
        let user = try string(fields, "user")
        return try await update(key) { message in
            let field = "react:\(emoji):\(user)"
            message[field] = message[field] == nil ? .bool(true) : nil
        }
    }

    /// Reads a message where the app sits and writes it back changed: under `merge` only the
    /// fields the change touched are stamped, so what other regions changed meanwhile stays.
    func update(_ key: String, _ change: (inout [String: JSONValue]) -> Void) async throws -> Response {
        let current: ItemResult
        do {
            current = try await client.get(table: options.table, key: key)
        } catch let error as MeridianClientError where error.code == "item_not_found" {
            throw Failure(status: .notFound, message: "no message \(key)")
        }
        guard case .object(var message) = current.value else { throw Failure(status: .conflict, message: "\(key) is not a message") }
        change(&message)
        let written = try await client.put(table: options.table, key: key, value: .object(message))
        return try json(["key": .string(key), "region": .string(written.region)])
    }

    func json(_ fields: [String: JSONValue]) throws -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: JSONValue.object(fields).canonicalBytes)))
    }

    // MARK: Events

    /// `GET /api/rooms/{room}/events`: Server-Sent Events for one page. `messages` (the room
    /// when the page joins), then `message` for every change of one of the room's messages,
    /// `conflict` for every concurrent edit the ledger shows overwritten, and `status`
    /// (which Meridian region the feed is read from).
    func events(_ context: BasicRequestContext) throws -> Response {
        let room = try Self.room(context)
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: ResponseBody { writer in
            var stream = RoomStream(service: self, room: room)
            try await stream.run(writer: &writer)
        })
    }
}

/// One page's view of a room: the messages when it joined, then the table's change feed
/// filtered to the room, repeats dropped, conflicts looked up when a change reports one.
struct RoomStream {
    let service: ChatService
    let room: String
    var deduplicator = ChangeDeduplicator()
    /// Conflict-ledger rows already shown, by identity (ids differ between regions).
    var shownConflicts: Set<String> = []
    var servedBy: String?

    init(service: ChatService, room: String) {
        self.service = service
        self.room = room
    }

    var client: MeridianClient { service.client }
    var table: String { service.options.table }

    mutating func run(writer: inout any ResponseBodyWriter) async throws {
        while !Task.isCancelled {
            do {
                try await follow(writer: &writer)
            } catch let error as MeridianClientError {
                // Meridian unreachable, or the cursor expired: join again (a new snapshot).
                try await writer.write(event("status", ["error": .string("\(error.code): \(error.message)")]))
                try await Task.sleep(for: .milliseconds(ChatService.retryMilliseconds))
            }
        }
    }

    /// Takes a cursor, sends the room as it is, then follows the feed from the cursor: the
    /// cursor comes first, so nothing written during the scan is missed.
    mutating func follow(writer: inout any ResponseBodyWriter) async throws {
        let start = try await client.changePage(table: table, since: nil)
        var messages: [JSONValue] = []
        var page = try await client.scan(table: table, prefix: room + "/", limit: 1_000)
        while true {
            for item in page.items {
                messages.append(message(key: item.key, value: item.value, context: item.context, conflict: false))
                // What the scan showed counts as seen: the feed from the earlier cursor repeats it.
                _ = deduplicator.isRepeat(ChangeEvent(kind: "put", table: table, key: item.key, timestamp: item.timestamp, context: item.context,
                                                      sequence: 0, cursor: start.cursor, appliedAtMilliseconds: 0, region: page.region))
            }
            guard let next = page.next, messages.count < ChatService.roomMessagesMax else { break }
            page = try await client.scan(table: table, prefix: room + "/", startAfter: next, limit: 1_000)
        }
        try await writer.write(event("messages", ["messages": .array(messages)]))
        try await report(start.region, writer: &writer)
        try await showConflicts(writer: &writer)
        var changes = client.changes(table: table, since: start.cursor).makeAsyncIterator()
        while let change = try await changes.next() {
            try await report(change.region, writer: &writer)
            if change.kind == "cleared" {
                deduplicator = ChangeDeduplicator()
                try await writer.write(event("messages", ["messages": .array([])]))
                continue
            }
            guard let key = change.key, key.hasPrefix(room + "/"), !deduplicator.isRepeat(change) else { continue }
            let value = change.kind == "delete" ? JSONValue.null : change.value ?? .null
            try await writer.write(event("message", ["message": message(key: key, value: value, context: change.context, conflict: change.conflict),
                                                     "appliedAt": .integer(Int64(change.appliedAtMilliseconds))]))
            if change.conflict { try await showConflicts(writer: &writer) }
        }
    }

    func message(key: String, value: JSONValue, context: String?, conflict: Bool) -> JSONValue {
        .object(["key": .string(key), "value": value, "context": context.map(JSONValue.string) ?? .null, "conflict": .bool(conflict)])
    }

    /// Sends which region serves the feed, when it changes.
    mutating func report(_ region: String, writer: inout any ResponseBodyWriter) async throws {
        guard region != servedBy else { return }
        servedBy = region
        try await writer.write(event("status", ["servedBy": .string(region), "appRegion": .string(service.options.region)]))
    }

    /// Reads the serving region's conflict ledger and sends the rows about this room not shown yet.
    mutating func showConflicts(writer: inout any ResponseBodyWriter) async throws {
        var startAfter: String? = nil
        for _ in 0..<10 {
            let page = try await client.conflicts(table: table, startAfter: startAfter, limit: 1_000)
            for row in page.conflicts where row.key.hasPrefix(room + "/") {
                let identity = "\(row.key)|\(row.version)|\(row.field ?? "")"
                guard shownConflicts.insert(identity).inserted else { continue }
                try await writer.write(event("conflict", ["key": .string(row.key), "field": row.field.map(JSONValue.string) ?? .null,
                                                          "overwritten": row.value ?? .null, "version": .string(row.version),
                                                          "origin": .string(row.origin), "winner": .string(row.winner)]))
            }
            guard let next = page.next else { return }
            startAfter = next
        }
    }

    func event(_ type: String, _ fields: [String: JSONValue]) -> ByteBuffer {
        ByteBuffer(string: "event: \(type)\ndata: \(String(decoding: JSONValue.object(fields).canonicalBytes, as: UTF8.self))\n\n")
    }
}
