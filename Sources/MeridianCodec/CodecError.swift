/// Why bytes were refused by a decoder: a peer's frame payload or a stored row.
///
/// Errors compare equal by kind only (`CodecError.truncated == CodecError.truncated`
/// whatever the detail), so callers and tests match on the static members; `detail` says
/// for people what exactly was wrong.
public struct CodecError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Kind: String, Sendable, Hashable {
        case truncated
        case invalidPayload = "invalid_payload"
        case checksumMismatch = "checksum_mismatch"
        case unknownFormat = "unknown_format"
    }

    private let kind: Kind
    /// A sentence about this occurrence; not part of equality.
    public let detail: String

    private init(_ kind: Kind, _ detail: String) {
        self.kind = kind
        self.detail = detail
    }

    /// The bytes ended before the value they encode did.
    public static let truncated = CodecError(.truncated, "the bytes ended before the value did")
    /// The bytes are malformed: a bad tag, name, count, UTF-8 string or invariant, or bytes left over.
    public static let invalidPayload = CodecError(.invalidPayload, "the bytes are malformed")
    /// A stored record's checksum does not match its bytes: they changed after they were written.
    public static let checksumMismatch = CodecError(.checksumMismatch, "the record's checksum does not match its bytes")
    /// A stored record names a format or format version this build does not know.
    public static let unknownFormat = CodecError(.unknownFormat, "the record's format is unknown to this build")

    /// The same error with a more precise detail.
    public func detailed(_ detail: String) -> CodecError { CodecError(kind, detail) }

    /// A stable snake_case code, such as `truncated`.
    public var code: String { kind.rawValue }
    public var description: String { "\(code): \(detail)" }

    public static func == (lhs: CodecError, rhs: CodecError) -> Bool { lhs.kind == rhs.kind }
    public func hash(into hasher: inout Hasher) { hasher.combine(kind) }
}
