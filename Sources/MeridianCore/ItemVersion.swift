/// The version of one write to an item: the timestamp and region that accepted it.
///
/// Every write gets a fresh timestamp from its region's hybrid logical clock, which
/// never issues the same value twice, so (timestamp, origin) names one write uniquely.
/// Clients see it as an opaque `token` and compare it exactly with `If-Match`.
public struct ItemVersion: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// When the write was accepted.
    public var timestamp: HLCTimestamp
    /// The region that accepted it.
    public var origin: RegionID

    public init(timestamp: HLCTimestamp, origin: RegionID) {
        self.timestamp = timestamp
        self.origin = origin
    }

    /// The opaque string clients see: sixteen hex digits, a dash, the origin region.
    public var token: String { "\(timestamp.hex)-\(origin.name)" }
    public var description: String { token }

    /// Parses a token; `nil` for anything this module did not produce.
    public init?(token: String) {
        let utf8 = Array(token.utf8)
        guard utf8.count > 17, utf8[16] == UInt8(ascii: "-"),
              let timestamp = HLCTimestamp(hex: String(decoding: utf8[0..<16], as: UTF8.self)),
              let origin = try? RegionID(String(decoding: utf8[17...], as: UTF8.self))
        else { return nil }
        self.init(timestamp: timestamp, origin: origin)
    }

    /// Orders by timestamp, then by region id (the last-writer-wins rule).
    public static func < (lhs: ItemVersion, rhs: ItemVersion) -> Bool {
        (lhs.timestamp, lhs.origin) < (rhs.timestamp, rhs.origin)
    }
}

/// The condition a write places on the item's current state.
public enum WritePrecondition: Sendable, Equatable {
    /// No condition.
    case none
    /// `If-Match`: the item's current version must be exactly this token.
    case versionMatches(String)
    /// `If-None-Match: *`: the item must not exist (a deleted item does not exist).
    case itemAbsent
}

/// How fresh a read must be.
public enum ConsistencyLevel: String, Sendable, Codable, CaseIterable {
    case strong
    case bounded
    case session
    case eventual
}

extension ItemVersion: Codable {
    public init(from decoder: any Decoder) throws {
        let token = try decoder.singleValueContainer().decode(String.self)
        guard let version = ItemVersion(token: token) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a version token"))
        }
        self = version
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(token)
    }
}
