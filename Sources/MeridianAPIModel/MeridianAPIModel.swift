// MeridianAPIModel owns the shape of the native HTTP API (v1) as both ends see it: the
// header names and the JSON body of every request and answer the server renders and the
// Swift client reads. The server encodes these types, the client decodes the same ones,
// so the wire schema is written once; the field names are the API (README.md), so a
// coding key here never changes.
//
// It must never depend on the server (Hummingbird, MeridianNode, MeridianHTTP) or on a
// client transport: it is Foundation and MeridianCore only, so that any edge may import it.

import Foundation

/// The API's own header names.
public enum APIHeader {
    /// The session token: sent by the server on item reads and writes, sent back by the
    /// client for read-your-writes (docs/consistency.md).
    public static let session = "Meridian-Session"
    /// The region that served the request: on every answer.
    public static let region = "Meridian-Region"
    /// An item's version context under `siblings`: on reads, sent back on the write that
    /// resolves them.
    public static let context = "Meridian-Context"
    /// The region that forwarded a request it could not serve itself.
    public static let forwardedBy = "Meridian-Forwarded-By"
}

/// The JSON coding every body uses: keys sorted and slashes unescaped on the way out, so
/// that an answer's bytes are the same for the same content.
public enum APIJSON {
    /// The body's bytes, ending with a newline (for `curl` at a terminal).
    public static func encode(_ body: some Encodable) throws -> Data {
        var data = try encodeFragment(body)
        data.append(UInt8(ascii: "\n"))
        return data
    }

    /// A value's bytes as they appear inside a body: the same coding, no newline.
    public static func encodeFragment(_ value: some Encodable) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(value)
    }

    /// Decodes a body of type `Body`.
    public static func decode<Body: Decodable>(_ type: Body.Type, from bytes: some Collection<UInt8>) throws -> Body {
        try JSONDecoder().decode(Body.self, from: Data(bytes))
    }
}

/// Every error answer of the native API: `{"error": {"code": "...", "message": "..."}}`.
public struct ErrorBody: Codable, Sendable, Equatable {
    /// The stable machine-readable code and the sentence for people.
    public struct Detail: Codable, Sendable, Equatable {
        public var code: String
        public var message: String

        public init(code: String, message: String) {
            self.code = code
            self.message = message
        }
    }

    public var error: Detail

    public init(code: String, message: String) {
        error = Detail(code: code, message: message)
    }
}

/// `GET /v1/health`.
public struct HealthBody: Codable, Sendable, Equatable {
    public var region: String
    /// `ok`, or `degraded` when the region serves reads but its storage does not take
    /// writes (a full disk, an I/O error): `problems` says why.
    public var status: String
    /// What is wrong when `degraded`; absent when `ok`.
    public var problems: [String]?

    public init(region: String, status: String = "ok", problems: [String]? = nil) {
        self.region = region
        self.status = status
        self.problems = problems
    }
}
