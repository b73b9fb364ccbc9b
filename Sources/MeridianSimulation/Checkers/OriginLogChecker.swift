import MeridianCore

/// `Property.originLogsImmutable`: once an entry has left its region, no other entry ever
/// carries its origin and sequence. Receivers treat a sequence they applied as a duplicate,
/// so an origin that reused one (after losing its log's tail) would have its new write
/// silently ignored everywhere the old one arrived.
///
/// Fed every entry a region sends, and every restart; entries are compared by origin,
/// sequence and timestamp (a relayed copy may be withheld, so payloads legitimately differ).
public struct OriginLogChecker: Sendable {
    struct Position: Hashable {
        var origin: RegionID
        var sequence: UInt64
    }

    private var shipped: [Position: (timestamp: HLCTimestamp, sender: RegionID)] = [:]
    /// Per origin, the greatest sequence that left any region.
    private var shippedThrough: [RegionID: UInt64] = [:]

    public init() {}

    /// Checks a region that restarted over its storage: it must still hold every entry of
    /// its own log that it had shipped, or its next writes reuse their sequences.
    public func restarted(origin: RegionID, ownSequence: UInt64) -> Violation? {
        guard let through = shippedThrough[origin], through > ownSequence else { return nil }
        let forgotten = through == ownSequence + 1 ? "#\(through)" : "#\(ownSequence + 1)-\(through)"
        return Violation(.originLogsImmutable,
            "\(origin) restarted with its log ending at \(origin)#\(ownSequence), but \(origin)\(forgotten) had left it: its next writes reuse sequences its peers hold")
    }

    public mutating func observe(_ entry: LogEntry, sentBy sender: RegionID) -> Violation? {
        let position = Position(origin: entry.origin, sequence: entry.sequence)
        shippedThrough[entry.origin] = max(shippedThrough[entry.origin] ?? 0, entry.sequence)
        guard let first = shipped[position] else {
            shipped[position] = (entry.timestamp, sender)
            return nil
        }
        guard first.timestamp != entry.timestamp else { return nil }
        return Violation(.originLogsImmutable,
            "\(sender) sent \(entry.origin)#\(entry.sequence) stamped \(entry.timestamp), but \(first.sender) had sent \(entry.origin)#\(entry.sequence) stamped \(first.timestamp): the origin reused a sequence")
    }
}
