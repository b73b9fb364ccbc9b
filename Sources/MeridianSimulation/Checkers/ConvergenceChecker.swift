import MeridianCore
import MeridianStorage

/// `Property.convergence`: regions that have applied the same entries hold the same state.
public enum ConvergenceChecker {
    /// Checks that every image holds the same catalog and that, for every table, the
    /// images of the regions in `holders[table]` hold identical items, tombstones and
    /// replicated records included. Ledgers are not compared: each region records the
    /// losses it decided itself.
    public static func check(_ images: [RegionImage], holders: [TableName: [RegionID]]) -> Violation? {
        guard let reference = images.first else { return nil }
        for image in images.dropFirst() where image.catalog != reference.catalog {
            return Violation(.convergence, "catalogs differ: \(reference.region) holds \(describe(reference.catalog)), \(image.region) holds \(describe(image.catalog))")
        }
        for table in holders.keys.sorted() {
            let holding = images.filter { holders[table]?.contains($0.region) == true }
            guard let first = holding.first else { continue }
            let expected = first.items[table] ?? []
            for image in holding.dropFirst() {
                let actual = image.items[table] ?? []
                if actual != expected {
                    return Violation(.convergence, "table \(table): \(difference(expected, in: first.region, actual, in: image.region))")
                }
            }
        }
        return nil
    }

    /// The first key whose items differ between two regions, described.
    static func difference(_ left: [StoredItem], in leftRegion: RegionID, _ right: [StoredItem], in rightRegion: RegionID) -> String {
        let leftByKey = Dictionary(left.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
        let rightByKey = Dictionary(right.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
        let keys = Set(leftByKey.keys).union(rightByKey.keys).sorted()
        for key in keys where leftByKey[key] != rightByKey[key] {
            return "key \(key): \(leftRegion) holds \(describe(leftByKey[key])), \(rightRegion) holds \(describe(rightByKey[key]))"
        }
        return "\(leftRegion) and \(rightRegion) hold the same keys in a different order"
    }

    static func describe(_ item: StoredItem?) -> String {
        guard let item else { return "nothing" }
        let vector = item.record.map { " vector \($0.vector.token)" } ?? ""
        let siblings = item.record.map { $0.siblings.isEmpty ? "" : " siblings \($0.siblings.map(\.version.token))" } ?? ""
        return "\(item.isTombstone ? "a tombstone" : "a value") at \(item.version.token)\(vector)\(siblings)"
    }

    static func describe(_ catalog: [CatalogRecord]) -> String {
        "[" + catalog.map { "\($0.name)@\($0.version.token)\($0.definition == nil ? " deleted" : "")" }.joined(separator: ", ") + "]"
    }
}
