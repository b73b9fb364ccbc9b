import MeridianAPIModel

/// A failed request: the server's error object, or a failure to reach any region.
///
/// `code` is the server's stable snake_case code (`item_not_found`, `precondition_failed`,
/// `invalid_session`, ...) or one of the client's own (`unreachable`, `invalid_response`,
/// `response_too_large`, `invalid_options`). Match on a code with the static members:
///
/// ```swift
/// do {
///     _ = try await client.get(table: "users", key: "ada")
/// } catch MeridianClientError.unreachable {
///     // no region answered
/// } catch let error as MeridianClientError where error.code == "item_not_found" {
///     // ...
/// }
/// ```
public struct MeridianClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The HTTP status of the answer; nil when no answer arrived.
    public var status: Int?
    /// A stable snake_case code.
    public var code: String
    /// A sentence for people; for `unreachable`, what each region tried did.
    public var message: String
    /// The region that answered (its `Meridian-Region`); nil when none did.
    public var region: String?

    /// An error with a status, a code and a message.
    public init(status: Int?, code: String, message: String, region: String? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.region = region
    }

    public var description: String {
        let answer = status.map { "HTTP \($0)" + (region.map { " from \($0)" } ?? "") + ": " } ?? ""
        return "\(answer)\(code): \(message)"
    }

    /// No region answered within the retry budget (connection failures and timeouts).
    public static let unreachable = MeridianClientError(status: nil, code: "unreachable", message: "no region answered")

    /// An answer that is not the JSON the API promises.
    public static let invalidResponse = MeridianClientError(status: nil, code: "invalid_response", message: "the answer is not the JSON the API promises")

    /// An answer larger than `Options.responseBytesMax`.
    public static let responseTooLarge = MeridianClientError(status: nil, code: "response_too_large", message: "the answer is larger than the client's limit")

    /// Options or addresses the client cannot work with.
    public static let invalidOptions = MeridianClientError(status: nil, code: "invalid_options", message: "the client's options are invalid")

    /// Matches an error against one of the static members by code: `catch MeridianClientError.unreachable`.
    public static func ~= (pattern: MeridianClientError, value: any Error) -> Bool {
        guard let error = value as? MeridianClientError else { return false }
        return pattern ~= error
    }

    /// Matches by code in a `switch` over a `MeridianClientError` (`==` compares every field).
    public static func ~= (pattern: MeridianClientError, value: MeridianClientError) -> Bool {
        value.code == pattern.code
    }

    /// This kind of error with another message.
    func with(message: String, status: Int? = nil, region: String? = nil) -> MeridianClientError {
        MeridianClientError(status: status ?? self.status, code: code, message: message, region: region ?? self.region)
    }

    /// The error of a non-2xx answer, from its `{"error": {"code", "message"}}` body.
    init(answer: MeridianResponse) {
        status = answer.status
        region = answer.region
        if let body = try? APIJSON.decode(ErrorBody.self, from: answer.body) {
            code = body.error.code
            message = body.error.message
        } else {
            code = "http_\(answer.status)"
            message = String(decoding: answer.body.prefix(Self.messageBytesMax), as: UTF8.self)
        }
    }

    /// The most bytes of an unparsable error body kept as the message.
    static let messageBytesMax = 512
}
