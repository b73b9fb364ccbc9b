/// A hybrid-logical-clock timestamp: 48 bits of wall-clock milliseconds since the Unix
/// epoch and a 16-bit logical counter, packed so that integer order is time order.
public struct HLCTimestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The largest physical part, in milliseconds (48 bits: the year 10889).
    public static let physicalMillisecondsMax: UInt64 = (1 << 48) - 1
    /// The largest logical counter.
    public static let logicalMax: UInt16 = .max
    /// The zero timestamp, before every issued one.
    public static let zero = HLCTimestamp(rawValue: 0)
    /// A bound after every timestamp a clock issues before the year 6400 that still fits a
    /// signed 64-bit storage column: "every item", for deleting a table's incarnation.
    public static let incarnationsEnd = HLCTimestamp(rawValue: UInt64(Int64.max))

    /// The packed value: physical milliseconds in the high 48 bits, the counter in the low 16.
    public let rawValue: UInt64

    /// Wraps a packed value.
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Packs a physical time and a counter.
    public init(physicalMilliseconds: UInt64, logical: UInt16) {
        precondition(physicalMilliseconds <= Self.physicalMillisecondsMax, "HLC physical time exceeds 48 bits")
        rawValue = physicalMilliseconds << 16 | UInt64(logical)
    }

    /// Milliseconds since the Unix epoch.
    public var physicalMilliseconds: UInt64 { rawValue >> 16 }
    /// The logical counter within one millisecond.
    public var logical: UInt16 { UInt16(truncatingIfNeeded: rawValue) }

    public static func < (lhs: HLCTimestamp, rhs: HLCTimestamp) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Sixteen lowercase hexadecimal digits, which sort as the timestamps do.
    public var hex: String {
        let digits = String(rawValue, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// Parses `hex`: exactly sixteen lowercase hexadecimal digits, as `hex` writes them.
    /// (`UInt64(_:radix:)` alone would also take a sign and uppercase digits.)
    public init?(hex: some StringProtocol) {
        guard hex.utf8.count == 16,
              hex.utf8.allSatisfy({ isDigit($0) || ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "f")) }),
              let raw = UInt64(hex, radix: 16)
        else { return nil }
        rawValue = raw
    }

    public var description: String { "\(physicalMilliseconds).\(logical)" }
}

/// A hybrid logical clock: timestamps that never go backwards and stay close to wall time.
///
/// The clock never reads a wall clock itself: every call takes the caller's current
/// wall time in milliseconds, so the node passes real time and the simulator virtual time.
///
/// Rules:
/// - `now` returns a timestamp strictly greater than every one it issued or observed.
/// - When wall time stands still or goes backwards, the logical counter advances; when
///   the counter would overflow, the physical part advances by one millisecond instead.
/// - `observe` adopts a remote timestamp only when it is at most `clockSkewMillisecondsMax`
///   ahead of local wall time; a timestamp further ahead is rejected and never adopted.
public struct HybridLogicalClock: Sendable {
    /// The greatest timestamp issued or observed.
    public private(set) var latest: HLCTimestamp
    /// How far ahead of local wall time a remote timestamp may be, in milliseconds.
    public let clockSkewMillisecondsMax: UInt64

    /// Makes a clock that continues after `latest` (zero for a new region; the persisted
    /// high-water mark after a restart).
    public init(latest: HLCTimestamp = .zero, clockSkewMillisecondsMax: UInt64 = Limits.clockSkewMillisecondsMaxDefault) {
        self.latest = latest
        self.clockSkewMillisecondsMax = clockSkewMillisecondsMax
    }

    /// Issues a timestamp for a local event at the given wall time.
    public mutating func now(wallMilliseconds: UInt64) -> HLCTimestamp {
        let wall = min(wallMilliseconds, HLCTimestamp.physicalMillisecondsMax)
        let next: HLCTimestamp
        if wall > latest.physicalMilliseconds {
            next = HLCTimestamp(physicalMilliseconds: wall, logical: 0)
        } else {
            next = Self.successor(of: latest)
        }
        precondition(next > latest, "HLC must be strictly increasing")
        latest = next
        return next
    }

    /// Folds a remote timestamp into the clock, or rejects it when it is too far ahead.
    ///
    /// - Throws: `clock_skew` when `remote` is more than `clockSkewMillisecondsMax` ahead of `wallMilliseconds`.
    public mutating func observe(_ remote: HLCTimestamp, wallMilliseconds: UInt64) throws(MeridianError) {
        guard remote.physicalMilliseconds <= wallMilliseconds + clockSkewMillisecondsMax else {
            throw MeridianError(.invalidArgument, code: "clock_skew",
                "remote timestamp \(remote) is \(remote.physicalMilliseconds - wallMilliseconds) ms ahead of local wall time; the bound is \(clockSkewMillisecondsMax) ms")
        }
        if remote > latest { latest = remote }
    }

    /// Moves the clock past a timestamp this region already holds in its own storage (so
    /// was accepted once), without the skew check: the next `now` exceeds it.
    public mutating func advance(past timestamp: HLCTimestamp) {
        if timestamp > latest { latest = timestamp }
    }

    /// The smallest timestamp after `timestamp`: the next logical tick, or the next
    /// millisecond when the counter is full.
    static func successor(of timestamp: HLCTimestamp) -> HLCTimestamp {
        if timestamp.logical == HLCTimestamp.logicalMax {
            return HLCTimestamp(physicalMilliseconds: timestamp.physicalMilliseconds + 1, logical: 0)
        }
        return HLCTimestamp(physicalMilliseconds: timestamp.physicalMilliseconds, logical: timestamp.logical + 1)
    }
}

extension HLCTimestamp: Codable {
    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(UInt64.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
