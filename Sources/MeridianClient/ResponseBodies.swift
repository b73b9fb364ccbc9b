import Foundation
import MeridianCore

/// The JSON bodies of the API's answers, as the client decodes them.
enum ResponseBodies {
    /// Decodes `Body` from an answer's bytes.
    static func decode<Body: Decodable>(_ type: Body.Type, from answer: MeridianResponse) throws(MeridianClientError) -> Body {
        do {
            return try JSONDecoder().decode(Body.self, from: Data(answer.body))
        } catch {
            throw MeridianClientError.invalidResponse.with(
                message: "the answer is not a \(Body.self): \(String(decoding: answer.body.prefix(MeridianClientError.messageBytesMax), as: UTF8.self))",
                status: answer.status, region: answer.region)
        }
    }

    struct Item: Decodable {
        var key: String
        var value: JSONValue
        var version: String
        var origin: String
        var timestamp: String
        var consistency: String?
        var region: String?
        var siblings: [SiblingBody]?
        var context: String?

        func result(servedBy region: String) -> ItemResult {
            ItemResult(key: key, value: value, version: version, origin: origin, timestamp: timestamp,
                       region: self.region ?? region, consistency: consistency.flatMap(ConsistencyLevel.init(rawValue:)),
                       siblings: siblings?.map { Sibling(value: $0.value, deleted: $0.deleted, version: $0.version, origin: $0.origin) },
                       context: context)
        }
    }

    struct SiblingBody: Decodable {
        var value: JSONValue?
        var deleted: Bool
        var version: String
        var origin: String
    }

    struct Write: Decodable {
        var key: String
        var version: String
        var region: String
        var deleted: Bool?
        var context: String?
    }

    struct ItemPage: Decodable {
        var items: [Item]
        var next: String?
    }

    struct Conflict: Decodable {
        var id: Int64
        var key: String
        var value: JSONValue?
        var version: String
        var origin: String
        var field: String?
        var winner: String
        var detectedBy: String

        enum CodingKeys: String, CodingKey {
            case id, key, value, version, origin, field, winner
            case detectedBy = "detected_by"
        }
    }

    struct ConflictPage: Decodable {
        var conflicts: [Conflict]
        var next: String?
    }

    struct Table: Decodable {
        var name: String
        var mode: String
        var conflict: String?
        var primary: String?
        var commit: String?
        var regions: [String]
    }

    /// `GET /v1/cluster`: only what discovery needs.
    struct Cluster: Decodable {
        var region: String?
        var regions: [ClusterRegion]
        var latencyMilliseconds: [String: [String: Double]]?

        enum CodingKeys: String, CodingKey {
            case region, regions
            case latencyMilliseconds = "latency_ms"
        }
    }

    struct ClusterRegion: Decodable {
        var name: String
        var api: String
    }
}
