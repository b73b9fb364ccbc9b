import MeridianCore

/// `Property.timestampsIncrease`: the versions a region returns to clients, in the order it
/// returns them, carry the region's name and strictly increasing timestamps, across
/// restarts too (the clock's high-water mark is persisted with every write).
public struct TimestampChecker: Sendable {
    private var latest: [RegionID: ItemVersion] = [:]

    public init() {}

    public mutating func observe(region: RegionID, version: ItemVersion) -> Violation? {
        guard version.origin == region else {
            return Violation(.timestampsIncrease, "\(region) returned version \(version.token), which names another region")
        }
        defer { latest[region] = version }
        guard let previous = latest[region], version.timestamp <= previous.timestamp else { return nil }
        return Violation(.timestampsIncrease, "\(region) returned version \(version.token) after \(previous.token)")
    }

    /// Drops what was observed of a region whose storage was rolled back by a power loss:
    /// the versions it issued after its last sync were lost with the writes that carried them.
    public mutating func forget(region: RegionID) {
        latest[region] = nil
    }
}
