import MeridianCodec

/// Why bytes from a peer were refused.
///
/// Errors compare equal by kind only (`WireError.truncated == WireError.truncated`
/// whatever the detail), so callers and tests match on the static members; `detail` says
/// for people what exactly was wrong.
public struct WireError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Kind: String, Sendable, Hashable {
        case frameTooLarge = "frame_too_large"
        case truncated
        case unknownKind = "unknown_kind"
        case invalidPayload = "invalid_payload"
        case unsupportedVersion = "unsupported_version"
    }

    private let kind: Kind
    /// A sentence about this occurrence; not part of equality.
    public let detail: String

    private init(_ kind: Kind, _ detail: String) {
        self.kind = kind
        self.detail = detail
    }

    /// A length prefix declares a frame longer than `Wire.frameBytesMax`.
    public static let frameTooLarge = WireError(.frameTooLarge, "the frame is longer than \(Wire.frameBytesMax) bytes")
    /// A frame's payload ended before the value it encodes did.
    public static let truncated = WireError(.truncated, "the payload ended before the value did")
    /// A frame's kind byte names no known frame.
    public static let unknownKind = WireError(.unknownKind, "unknown frame kind")
    /// A payload is malformed: a bad tag, name, count, UTF-8 string or invariant, or bytes left over.
    public static let invalidPayload = WireError(.invalidPayload, "the payload is malformed")
    /// A `Hello` names a protocol version outside `Wire.protocolVersionMin...Wire.protocolVersion`.
    public static let unsupportedVersion = WireError(.unsupportedVersion,
        "the protocol version is outside \(Wire.protocolVersionMin)...\(Wire.protocolVersion)")

    /// The same error with a more precise detail.
    func detailed(_ detail: String) -> WireError { WireError(kind, detail) }

    /// A payload the codec refused: `truncated` stays `truncated`, anything else is `invalidPayload`.
    init(_ error: CodecError) {
        self.init(error == CodecError.truncated ? .truncated : .invalidPayload, error.detail)
    }

    /// A stable snake_case code, such as `frame_too_large`.
    public var code: String { kind.rawValue }
    public var description: String { "\(code): \(detail)" }

    public static func == (lhs: WireError, rhs: WireError) -> Bool { lhs.kind == rhs.kind }
    public func hash(into hasher: inout Hasher) { hasher.combine(kind) }
}
