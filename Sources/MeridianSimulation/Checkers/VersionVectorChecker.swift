import MeridianCore

/// `Property.versionVectorsGrow`: each region's vector for one item only grows.
///
/// Fed every item a region's storage commits; a new vector must equal or dominate the last
/// one the region committed for the key. A power loss legitimately rolls a region back, so
/// the simulator makes the checker `forget` that region.
public struct VersionVectorChecker: Sendable {
    struct ItemAddress: Hashable {
        var region: RegionID
        var table: TableName
        var key: Key
    }

    private var latest: [ItemAddress: VersionVector] = [:]

    public init() {}

    public mutating func observe(region: RegionID, table: TableName, key: Key, vector: VersionVector) -> Violation? {
        let address = ItemAddress(region: region, table: table, key: key)
        defer { latest[address] = vector }
        guard let previous = latest[address] else { return nil }
        switch vector.compare(previous) {
        case .equal, .dominates:
            return nil
        case .dominatedBy, .concurrent:
            return Violation(.versionVectorsGrow, "\(region) stored \(table)/\(key) with vector \(vector.token) after \(previous.token)")
        }
    }

    /// Drops what was observed of a region whose storage was rolled back.
    public mutating func forget(region: RegionID) {
        latest = latest.filter { $0.key.region != region }
    }
}
