/// What kind of failure an error is; the HTTP layer maps each kind to one status.
public enum ErrorKind: String, Sendable, Equatable {
    /// The request is malformed or names an invalid value (400).
    case invalidArgument
    /// The named table or item does not exist (404).
    case notFound
    /// The method is not supported on the path (405).
    case methodNotAllowed
    /// A different definition already exists (409).
    case conflict
    /// This region does not serve the table and cannot forward the request (421).
    case misdirected
    /// A conditional write's precondition does not hold (412).
    case preconditionFailed
    /// What the request names is no longer kept, such as a change-feed cursor older than
    /// the feed's retention (410).
    case gone
    /// The body or a field is larger than its limit (413).
    case tooLarge
    /// The region cannot serve the request now (503).
    case unavailable
    /// A bug or an unexpected storage failure (500).
    case internalError
}

/// An expected failure with a stable machine-readable code and a sentence for people.
///
/// Codes are part of the API: clients match on them, so existing ones never change.
public struct MeridianError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The failure's kind, which decides its HTTP status.
    public var kind: ErrorKind
    /// A stable snake_case code, such as `table_not_found`.
    public var code: String
    /// A sentence that says what was wrong and, where it helps, what to do.
    public var message: String
    /// For a misdirected request: the region that can serve it (a table's leader).
    public var redirect: RegionID?

    /// Makes an error of a kind with a code and a message.
    public init(_ kind: ErrorKind, code: String, _ message: String, redirect: RegionID? = nil) {
        self.kind = kind
        self.code = code
        self.message = message
        self.redirect = redirect
    }

    public var description: String { "\(code): \(message)" }

    /// The request is malformed.
    public static func invalid(_ code: String, _ message: String) -> MeridianError {
        MeridianError(.invalidArgument, code: code, message)
    }

    /// No table of that name exists in this region's catalog.
    public static func tableNotFound(_ table: TableName) -> MeridianError {
        MeridianError(.notFound, code: "table_not_found", "table '\(table)' does not exist")
    }

    /// The item does not exist (or is deleted).
    public static let itemNotFound = MeridianError(.notFound, code: "item_not_found", "no item with that key")

    /// A conditional write failed.
    public static func preconditionFailed(_ message: String) -> MeridianError {
        MeridianError(.preconditionFailed, code: "precondition_failed", message)
    }

    /// The region's storage failed; nothing of the request was applied.
    public static func storageFailed(_ message: String) -> MeridianError {
        MeridianError(.unavailable, code: "storage_unavailable", message)
    }
}
