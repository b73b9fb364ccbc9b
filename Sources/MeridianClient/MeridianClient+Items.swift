import MeridianAPIModel
import MeridianCore

extension MeridianClient {
    /// Creates a table, or confirms that an identical one exists.
    ///
    /// ```swift
    /// try await client.createTable("chat", definition: ["mode": .string("multi-primary"), "conflict": .string("merge")])
    /// ```
    ///
    /// - Throws: `MeridianClientError`, such as 409 `table_exists` for a different definition.
    @discardableResult
    public func createTable(_ name: String, definition: [String: JSONValue]) async throws -> TableResult {
        let answer = try await call("PUT", Self.tablePath(name), body: JSONValue.object(definition).canonicalBytes)
        let table = try answer.decode(TableBody.self)
        return TableResult(name: table.name, mode: table.mode, conflict: table.conflict, primary: table.primary, commit: table.commit,
                           regions: table.regions, created: answer.status == 201, region: answer.region)
    }

    /// Deletes a table and every item in it.
    public func deleteTable(_ name: String) async throws {
        _ = try await call("DELETE", Self.tablePath(name))
    }

    /// Writes a value.
    ///
    /// - Parameters:
    ///   - ifMatch: write only if the item's current version is exactly this token (412 otherwise).
    ///   - ifAbsent: write only if the item does not exist (412 otherwise).
    ///   - context: under `siblings`, the `context` of a read: replaces exactly the versions it saw.
    /// - Throws: `MeridianClientError`, such as 412 `precondition_failed` or 413 `value_too_large`.
    @discardableResult
    public func put(table: String, key: String, value: JSONValue, ifMatch: String? = nil, ifAbsent: Bool = false, context: String? = nil) async throws -> WriteResult {
        var headers: [String: String] = [:]
        if let ifMatch { headers["If-Match"] = ifMatch }
        if ifAbsent { headers["If-None-Match"] = "*" }
        if let context { headers[APIHeader.context] = context }
        let answer = try await call("PUT", Self.itemPath(table, key), body: value.canonicalBytes, headers: headers)
        return try answer.decode(WriteBody.self).result
    }

    /// Reads an item.
    ///
    /// - Parameters:
    ///   - consistency: how fresh the read must be; nil lets the server choose (`eventual`).
    ///     `session` reads everything this client's session has seen.
    ///   - maxStalenessMilliseconds: the bound for `.bounded`.
    /// - Throws: `MeridianClientError`, such as 404 `item_not_found`.
    public func get(table: String, key: String, consistency: ConsistencyLevel? = nil, maxStalenessMilliseconds: Int? = nil) async throws -> ItemResult {
        let query = PathEncoding.query([("consistency", consistency?.rawValue), ("max_staleness_ms", maxStalenessMilliseconds.map(String.init))])
        let answer = try await call("GET", Self.itemPath(table, key) + query)
        return try answer.decode(ItemBody.self).result(servedBy: answer.region)
    }

    /// Deletes an item (leaves a tombstone); `ifMatch` makes it conditional.
    @discardableResult
    public func delete(table: String, key: String, ifMatch: String? = nil) async throws -> WriteResult {
        let headers = ifMatch.map { ["If-Match": $0] } ?? [:]
        let answer = try await call("DELETE", Self.itemPath(table, key), headers: headers)
        return try answer.decode(WriteBody.self).result
    }

    /// Reads one page of items in key order.
    ///
    /// ```swift
    /// var page = try await client.scan(table: "users", prefix: "a")
    /// while let next = page.next { page = try await client.scan(table: "users", prefix: "a", startAfter: next) }
    /// ```
    ///
    /// - Parameter limit: 1 to 1000 items; nil for the server's default (100).
    public func scan(table: String, prefix: String? = nil, startAfter: String? = nil, limit: Int? = nil) async throws -> Page {
        let query = PathEncoding.query([("prefix", prefix), ("start_after", startAfter), ("limit", limit.map(String.init))])
        let answer = try await call("GET", Self.tablePath(table) + "/items" + query)
        let page = try answer.decode(PageBody.self)
        return Page(items: page.items.map { $0.result(servedBy: answer.region) }, next: page.next, region: answer.region)
    }

    /// Reads one page of a table's conflict ledger: the values concurrent writes overwrote.
    public func conflicts(table: String, startAfter: String? = nil, limit: Int? = nil) async throws -> ConflictPage {
        let query = PathEncoding.query([("start_after", startAfter), ("limit", limit.map(String.init))])
        let answer = try await call("GET", Self.tablePath(table) + "/conflicts" + query)
        let page = try answer.decode(ConflictPageBody.self)
        return ConflictPage(conflicts: page.conflicts, next: page.next, region: answer.region)
    }

    static func tablePath(_ table: String) -> String {
        "/v1/tables/" + PathEncoding.component(table)
    }

    static func itemPath(_ table: String, _ key: String) -> String {
        tablePath(table) + "/items/" + PathEncoding.component(key)
    }
}
