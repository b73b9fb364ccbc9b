import MeridianCore
import MeridianStorage

/// `Property.acknowledgedWritesSurvive`, for `lww` tables: nothing acknowledged is lost silently.
///
/// An acknowledged write `w` must end in one of three places:
/// - current: some region's final record for the key has `w`'s version;
/// - in a ledger: some region's conflict ledger for the table lists `w`'s version as an
///   overwritten value of the key;
/// - knowingly replaced: a later acknowledged write replaced the record whose version was
///   `w`'s in its own region (its vector therefore dominates `w`'s: a causal overwrite).
///
/// This is sharper than "some later acknowledged write's vector dominates `w`'s": a value
/// that first lost to a concurrent write and was then overwritten by a write that had seen
/// the conflict passes that weaker test even when no ledger holds it. By induction over
/// merges, the ledger rule (a value is recorded by the merge that first decides against it
/// unless the winner had seen it) guarantees one of the three places for every write.
///
/// `merge` and `siblings` tables are checked for convergence only.
public enum AcknowledgedWriteChecker {
    struct Place: Hashable {
        var table: TableName
        var key: Key
        var version: ItemVersion
    }

    public static func check(_ writes: [AcknowledgedWrite], images: [RegionImage]) -> Violation? {
        var current: Set<Place> = []
        var ledgered: Set<Place> = []
        for image in images {
            for (table, items) in image.items {
                for item in items { current.insert(Place(table: table, key: item.key, version: item.version)) }
            }
            for (table, rows) in image.conflicts {
                for row in rows where row.overwritten.field == nil {
                    ledgered.insert(Place(table: table, key: row.key, version: row.overwritten.version))
                }
            }
        }
        // A write lost to a power loss still counts as evidence: it may have been shipped.
        let replaced = Set(writes.compactMap { write in write.replaced.map { Place(table: write.table, key: write.key, version: $0) } })
        for write in writes where write.policy == .lww && !write.lostToPowerLoss {
            let place = Place(table: write.table, key: write.key, version: write.version)
            if current.contains(place) || ledgered.contains(place) || replaced.contains(place) { continue }
            let value = write.value.map { String(decoding: $0.canonicalBytes, as: UTF8.self) } ?? "a delete"
            return Violation(.acknowledgedWritesSurvive,
                "\(write.table)/\(write.key) = \(value) at \(write.version.token) (vector \(write.vector.token)), acknowledged by \(write.region), is current nowhere, in no conflict ledger, and no acknowledged write replaced it")
        }
        return nil
    }
}
