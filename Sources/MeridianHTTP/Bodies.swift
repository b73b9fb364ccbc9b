import Foundation
import MeridianCore
import MeridianStorage

/// JSON encoding of response bodies.
enum JSONBodies {
    static func encode(_ body: some Encodable) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(body)
        data.append(UInt8(ascii: "\n"))
        return data
    }
}

/// A table definition as the API shows it.
struct TableBody: Encodable {
    var name: String
    var mode: String
    var conflict: String?
    var primary: String?
    var commit: String?
    var regions: [String]
    var status: TableStatusBody?

    init(_ definition: TableDefinition) {
        name = definition.name.name
        mode = definition.mode.rawValue
        conflict = definition.conflict?.rawValue
        primary = definition.primary?.name
        commit = definition.commit?.rawValue
        regions = definition.regions.map(\.name)
    }
}

/// What the serving region holds of a table.
struct TableStatusBody: Encodable {
    var region: String
    var items: Int
    var bytes: Int
}

struct TableListBody: Encodable {
    var tables: [TableBody]
}

/// The answer to a put or a delete.
struct WriteBody: Encodable {
    var key: String
    var version: String
    var region: String
    var deleted: Bool?
}

/// One item as the API shows it.
struct ItemBody: Encodable {
    var key: String
    var value: JSONValue
    var version: String
    var origin: String
    /// The write's hybrid-logical-clock timestamp as `milliseconds.logical`.
    var timestamp: String
    var consistency: String?
    var region: String?

    init(_ item: StoredItem) {
        guard let value = item.value else { preconditionFailure("a tombstone is never shown as an item") }
        key = item.key.string
        self.value = value
        version = item.version.token
        origin = item.version.origin.name
        timestamp = item.version.timestamp.description
    }
}

struct PageBody: Encodable {
    var items: [ItemBody]
    /// Pass as `start_after` to read the next page; absent on the last page.
    var next: String?
}

struct ClusterRegionBody: Encodable {
    var name: String
    var api: String
    var reachable: Bool
    var self_: Bool

    enum CodingKeys: String, CodingKey {
        case name, api, reachable
        case self_ = "self"
    }
}

struct ClusterBody: Encodable {
    var region: String
    var regions: [ClusterRegionBody]
}
