import MeridianCore
import MeridianStorage

/// `Property.changeFeedMatchesWrites`: a region's change feed is its item writes, in order.
///
/// Fed, after every step, the items the region's storage committed and the changes it
/// recorded: the changes that carry an item must be those items, one for one and in the
/// same order, and sequences must follow each other without a gap across steps. A power
/// loss legitimately rolls a region's feed back, so the simulator makes the checker
/// `forget` that region (its next change starts the count again).
public struct ChangeFeedChecker: Sendable {
    private var latest: [RegionID: UInt64] = [:]

    public init() {}

    public mutating func observe(region: RegionID, writes: [SimulatedStorage.ItemWrite], changes: [ChangeRecord]) -> Violation? {
        for change in changes {
            if let previous = latest[region], change.sequence != previous + 1 {
                return Violation(.changeFeedMatchesWrites, "\(region) recorded change \(change.sequence) after \(previous)")
            }
            latest[region] = change.sequence
        }
        // A table that left the region in this step had its changes of the step withheld:
        // its item writes are not compared.
        let withheld = Set(changes.filter { !$0.isServed }.map(\.table))
        let recorded = changes.compactMap { change -> SimulatedStorage.ItemWrite? in
            guard case .item(let item) = change.change else { return nil }
            return SimulatedStorage.ItemWrite(table: change.table, item: item)
        }
        guard recorded == writes.filter({ !withheld.contains($0.table) }) else {
            return Violation(.changeFeedMatchesWrites,
                "\(region) committed \(writes.count) item writes but recorded \(recorded.count) item changes, or not the same ones in the same order")
        }
        return nil
    }

    /// Drops what was observed of a region whose storage was rolled back.
    public mutating func forget(region: RegionID) {
        latest[region] = nil
    }
}
