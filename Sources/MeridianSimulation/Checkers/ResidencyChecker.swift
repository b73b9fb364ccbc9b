import MeridianCore
import MeridianReplication

/// `Property.residency`: a table's items are stored only in the regions its `regions` list
/// names: neither as items nor as full log entries (a region outside the list may keep an
/// entry only in its withheld form, which carries no key and no value).
public struct ResidencyChecker: Sendable {
    /// For each table, the regions that may store it.
    public let regionsByTable: [TableName: [RegionID]]

    public init(regionsByTable: [TableName: [RegionID]]) {
        self.regionsByTable = regionsByTable
    }

    /// Checks one item a region's storage committed.
    public func observe(region: RegionID, table: TableName, key: Key) -> Violation? {
        guard let allowed = regionsByTable[table], !allowed.contains(region) else { return nil }
        return Violation(.residency, "\(region) stored \(table)/\(key), but \(table) may be stored only in \(allowed.map(\.name))")
    }

    /// Checks one entry on its way to `destination`: a full entry of a table may only go
    /// to a region the table lists (the others get it withheld).
    public func observeShipment(_ entry: LogEntry, from sender: RegionID, to destination: RegionID) -> Violation? {
        guard case .item(let table, let key, _) = entry.payload, let allowed = regionsByTable[table.name], !allowed.contains(destination) else { return nil }
        return Violation(.residency, "\(sender) shipped \(table.name)/\(key) (\(entry.origin)#\(entry.sequence)) to \(destination), but \(table.name) may be stored only in \(allowed.map(\.name))")
    }

    /// Scans every image for items and full log entries of tables it may not hold.
    public func check(_ images: [RegionImage]) -> Violation? {
        for image in images {
            for table in image.items.keys.sorted() {
                guard let key = image.items[table]?.first?.key, let violation = observe(region: image.region, table: table, key: key) else { continue }
                return violation
            }
            for origin in image.logs.keys.sorted() {
                for entry in image.logs[origin] ?? [] {
                    guard case .item(let table, let key, _) = entry.payload,
                          let violation = observe(region: image.region, table: table.name, key: key)
                    else { continue }
                    return Violation(.residency, "in its log of \(origin)#\(entry.sequence): \(violation.detail)")
                }
            }
        }
        return nil
    }
}
