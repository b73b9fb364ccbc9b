import Foundation
import MeridianCore

/// The answer to a put or a delete.
public struct WriteBody: Codable, Sendable, Equatable {
    public var key: String
    public var version: String
    public var region: String
    /// `true` on a delete; absent on a put.
    public var deleted: Bool?
    /// The item's version context after the write.
    public var context: String?

    public init(key: String, version: String, region: String, deleted: Bool? = nil, context: String? = nil) {
        self.key = key
        self.version = version
        self.region = region
        self.deleted = deleted
        self.context = context
    }
}

/// One item as the API shows it: a read, or an entry of a scan page.
public struct ItemBody: Codable, Sendable, Equatable {
    public var key: String
    public var value: JSONValue
    public var version: String
    /// The region that accepted the write that made this version.
    public var origin: String
    /// The write's hybrid-logical-clock timestamp as `milliseconds.logical`.
    public var timestamp: String
    /// The level a read was served at (absent on scan pages).
    public var consistency: String?
    /// The region that served a read (absent on scan pages).
    public var region: String?
    /// Siblings tables: every concurrent version kept.
    public var siblings: [SiblingBody]?
    /// The version context to send back as `Meridian-Context` to resolve siblings.
    public var context: String?

    public init(key: String, value: JSONValue, version: String, origin: String, timestamp: String, consistency: String? = nil,
                region: String? = nil, siblings: [SiblingBody]? = nil, context: String? = nil) {
        self.key = key
        self.value = value
        self.version = version
        self.origin = origin
        self.timestamp = timestamp
        self.consistency = consistency
        self.region = region
        self.siblings = siblings
        self.context = context
    }
}

/// One concurrent version of an item under the `siblings` policy.
public struct SiblingBody: Codable, Sendable, Equatable {
    /// The value; absent when this version is a delete.
    public var value: JSONValue?
    public var deleted: Bool
    public var version: String
    public var origin: String

    public init(value: JSONValue?, deleted: Bool, version: String, origin: String) {
        self.value = value
        self.deleted = deleted
        self.version = version
        self.origin = origin
    }
}

/// `GET /v1/tables/{table}/items`: one page of a scan.
public struct PageBody: Codable, Sendable, Equatable {
    public var items: [ItemBody]
    /// Pass as `start_after` to read the next page; absent on the last page.
    public var next: String?

    public init(items: [ItemBody], next: String?) {
        self.items = items
        self.next = next
    }

    /// The page's bytes in pieces, so that a server can send a page item by item and hold
    /// one encoded item at a time: `opening`, each item's `encodedItem(_:first:)`, then
    /// `closing(next:)` give, joined, exactly the bytes of `APIJSON.encode(page)`.
    public static let opening = Data(#"{"items":["#.utf8)

    /// One item of a page, after a comma unless it is the first.
    public static func encodedItem(_ item: ItemBody, first: Bool) throws -> Data {
        var data = first ? Data() : Data(",".utf8)
        data.append(try APIJSON.encodeFragment(item))
        return data
    }

    /// The end of a page: its `next` key when there is one, and the newline.
    public static func closing(next: String?) throws -> Data {
        var data = Data("]".utf8)
        if let next {
            data.append(Data(#","next":"#.utf8))
            data.append(try APIJSON.encodeFragment(next))
        }
        data.append(Data("}\n".utf8))
        return data
    }
}
