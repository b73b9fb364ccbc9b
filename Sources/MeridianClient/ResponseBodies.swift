import MeridianAPIModel
import MeridianCore

// The bodies themselves are MeridianAPIModel's, the types the server encodes; here only
// the decoding step with the client's error, and the mapping to the client's results.

extension MeridianResponse {
    /// Decodes the answer's body as `Body`.
    ///
    /// - Throws: `MeridianClientError.invalidResponse` when it is not one.
    func decode<Body: Decodable>(_ type: Body.Type) throws(MeridianClientError) -> Body {
        do {
            return try APIJSON.decode(Body.self, from: body)
        } catch {
            throw MeridianClientError.invalidResponse.with(
                message: "the answer is not a \(Body.self): \(String(decoding: body.prefix(MeridianClientError.messageBytesMax), as: UTF8.self))",
                status: status, region: region)
        }
    }
}

extension ItemBody {
    /// The item as the client returns it; `region` served it unless the body names another.
    func result(servedBy region: String) -> ItemResult {
        ItemResult(key: key, value: value, version: version, origin: origin, timestamp: timestamp,
                   region: self.region ?? region, consistency: consistency.flatMap(ConsistencyLevel.init(rawValue:)),
                   siblings: siblings?.map { Sibling(value: $0.value, deleted: $0.deleted, version: $0.version, origin: $0.origin) },
                   context: context)
    }
}

extension WriteBody {
    /// The write as the client returns it.
    var result: WriteResult {
        WriteResult(key: key, version: version, region: region, context: context, deleted: deleted ?? false)
    }
}

extension TransportResponse {
    /// The value of a header, whatever the case of `name` (the transport keeps names in lower case).
    func header(_ name: String) -> String? {
        headers[name.lowercased()]
    }
}
