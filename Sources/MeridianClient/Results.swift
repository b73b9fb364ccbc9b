import MeridianAPIModel
import MeridianCore

/// One answer of the API as it arrived: what `MeridianClient.send` returns.
public struct MeridianResponse: Sendable {
    /// The HTTP status.
    public var status: Int
    /// The response headers, names in lower case (the first value of each).
    public var headers: [String: String]
    /// The body's bytes.
    public var body: [UInt8]
    /// The region that served the request: `Meridian-Region`, or the region the client
    /// sent it to when the header is missing.
    public var region: String

    /// The value of a header, whatever the case of `name`.
    public func header(_ name: String) -> String? {
        headers[name.lowercased()]
    }

    /// The `code` of an error answer (`{"error": {"code": ...}}`); `nil` for any other body.
    public var errorCode: String? {
        (try? APIJSON.decode(ErrorBody.self, from: body))?.error.code
    }

    /// The body as JSON.
    ///
    /// - Throws: `MeridianClientError.invalidResponse` when it is not.
    public func json() throws(MeridianClientError) -> JSONValue {
        do {
            return try JSONValue.parse(body, bytesMax: .max)
        } catch {
            throw MeridianClientError.invalidResponse.with(message: "the answer to a request is not JSON: \(error.message)", status: status, region: region)
        }
    }
}

/// An item as a read returned it.
public struct ItemResult: Sendable, Equatable {
    /// The item's key.
    public var key: String
    /// The current value (the winner's value under `siblings`).
    public var value: JSONValue
    /// The version token; pass it as `ifMatch` for a conditional write.
    public var version: String
    /// The region that accepted the write that made this version.
    public var origin: String
    /// The write's hybrid-logical-clock timestamp as `milliseconds.logical`.
    public var timestamp: String
    /// The region that served the read.
    public var region: String
    /// The level the read was served at (absent on scan pages).
    public var consistency: ConsistencyLevel?
    /// Every concurrent version, under the `siblings` conflict policy.
    public var siblings: [Sibling]?
    /// The version context to pass back as `context` when writing, to resolve siblings.
    public var context: String?
}

/// One concurrent version of an item under the `siblings` conflict policy.
public struct Sibling: Sendable, Equatable {
    /// The value; nil when this version is a delete.
    public var value: JSONValue?
    /// Whether this version is a delete.
    public var deleted: Bool
    /// The version token.
    public var version: String
    /// The region that accepted the write.
    public var origin: String
}

/// What a put or a delete did.
public struct WriteResult: Sendable, Equatable {
    /// The item's key.
    public var key: String
    /// The new version (of the value or of the tombstone).
    public var version: String
    /// The region that committed the write.
    public var region: String
    /// The item's version context after the write (`siblings` tables).
    public var context: String?
    /// Whether the write was a delete.
    public var deleted: Bool
}

/// One page of a scan.
public struct Page: Sendable, Equatable {
    /// The items in key order.
    public var items: [ItemResult]
    /// Pass as `startAfter` for the next page; nil on the last page.
    public var next: String?
    /// The region that served the page.
    public var region: String
}

/// A value that a concurrent write overwrote, from a table's conflict ledger: the row
/// exactly as the API sends it.
public typealias ConflictRecord = ConflictBody

/// One page of a conflict ledger.
public struct ConflictPage: Sendable, Equatable {
    /// The ledger rows in order.
    public var conflicts: [ConflictRecord]
    /// Pass as `startAfter` for the next page; nil on the last page.
    public var next: String?
    /// The region that served the page.
    public var region: String
}

/// A table's definition as the cluster holds it.
public struct TableResult: Sendable, Equatable {
    /// The table's name.
    public var name: String
    /// `multi-primary`, `primary` or `strong`.
    public var mode: String
    /// The conflict policy of a multi-primary table (`lww`, `merge`, `siblings`).
    public var conflict: String?
    /// The primary region of a `primary` table.
    public var primary: String?
    /// `local` or `quorum`, for `primary` tables.
    public var commit: String?
    /// The regions that store the table.
    public var regions: [String]
    /// True when this request created the table; false when an identical one existed.
    public var created: Bool
    /// The region that served the request.
    public var region: String
}
