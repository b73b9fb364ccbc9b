// How writes to one item of a multi-primary table combine under its conflict policy.

/// The rules that turn writes and replicated records into an item's record.
///
/// - `localWrite` applies a write that a region accepted to the record it holds.
/// - `merge` joins a record that arrived from another region into the local one. The
///   `record` it returns is a join: commutative, associative and idempotent, so regions
///   converge whatever the order, duplication or relay path of delivery.
///
/// Both also return the values that a concurrent write overwrote, for the conflict ledger.
/// A value is reported only by the merge that first decides against it, and only when the
/// winner had not provably seen it; a value that a later write overwrote knowingly is a
/// causal overwrite, not a conflict.
public enum ConflictResolution {
    /// A resolved record and the values concurrent writes overwrote on the way.
    public typealias Outcome = (record: ItemRecord, overwritten: [OverwrittenValue])

    /// Applies a write that this region accepted: `value` (`nil` deletes) at `version`,
    /// whose origin is this region.
    ///
    /// - `lww`: the item becomes `value`.
    /// - `merge`: an object stamps only the fields it changes, adds or drops (a dropped
    ///   field gets a field tombstone); any other value, or a delete, replaces the item and
    ///   tombstones every live field.
    /// - `siblings`: the write replaces the siblings whose dots `context` covers and keeps
    ///   the others. `context` is the vector the client read; `nil` means everything this
    ///   region holds, which resolves every sibling.
    ///
    /// A local write causally follows everything it replaces, so `overwritten` is always
    /// empty; siblings that `context` does not cover stay in the record, not in the ledger.
    ///
    /// - Precondition: `version` exceeds `current.version` (the region's clock issued it
    ///   after observing every version in `current`), and `current` satisfies the policy's
    ///   invariants.
    public static func localWrite(current: ItemRecord?, value: JSONValue?, version: ItemVersion, policy: ConflictPolicy, context: VersionVector?) -> Outcome {
        if let current {
            precondition(version > current.version, "a local write at \(version) must follow the item's version \(current.version)")
            precondition(current.satisfiesInvariants(of: policy), "the current record breaks the \(policy) invariants")
        }
        let vector = (current?.vector ?? VersionVector()).incremented(for: version.origin)
        let record: ItemRecord
        switch policy {
        case .lww:
            record = ItemRecord(vector: vector, version: version, root: value)
        case .merge:
            let fields = stampedFields(current?.fields ?? [:], value: value, version: version)
            record = ItemRecord(vector: vector, version: version, root: mergeRoot(of: value), fields: fields)
        case .siblings:
            let dot = Dot(region: version.origin, counter: vector[version.origin])
            let seen = context ?? current?.vector ?? VersionVector()
            let kept = (current?.siblings ?? []).filter { !seen.covers($0.dot) }
            // `version` exceeds every kept sibling's, so appending keeps the order.
            let siblings = kept + [Sibling(value: value, version: version, dot: dot)]
            record = ItemRecord(vector: vector, version: version, root: value, siblings: siblings)
        }
        precondition(record.satisfiesInvariants(of: policy), "a local write broke the \(policy) invariants")
        return (record, [])
    }

    /// Joins `remote`, a record from another region, into `local`, this region's record.
    ///
    /// The vector is the pointwise maximum and the version the greater one.
    /// - `lww`: the root of the greater-version record.
    /// - `merge`: the root of the greater-version record; each field the entry with the
    ///   greater version (a field tombstone wins like a value).
    /// - `siblings`: a multi-value register join: a sibling survives when both records
    ///   hold it or when the other record has not seen its dot.
    ///
    /// `overwritten` is empty unless the vectors are concurrent (a dominated record is a
    /// duplicate or stale; a dominating one overwrites causally). Then it lists the losing
    /// writes the winner had not provably seen: under `lww` the losing record's value;
    /// under `merge` each losing field entry, and the losing record's whole value when the
    /// two roots are not both objects; under `siblings` nothing, since every version is kept.
    ///
    /// - Precondition: both records satisfy the policy's invariants (validate records read
    ///   from the wire with `satisfiesInvariants(of:)` first).
    public static func merge(local: ItemRecord?, remote: ItemRecord, policy: ConflictPolicy) -> Outcome {
        precondition(remote.satisfiesInvariants(of: policy), "the remote record breaks the \(policy) invariants")
        precondition(local.map { $0.satisfiesInvariants(of: policy) } ?? true, "the local record breaks the \(policy) invariants")
        guard let outcome = validatedMerge(local: local, remote: remote, policy: policy) else {
            preconditionFailure("a merge broke the \(policy) invariants")
        }
        return outcome
    }

    /// `merge` for records that come from outside (a peer): `nil`, never a trap, when
    /// either record or their join breaks the policy's invariants (a bug or a hostile
    /// peer: honest histories always join).
    public static func validatedMerge(local: ItemRecord?, remote: ItemRecord, policy: ConflictPolicy) -> Outcome? {
        guard remote.satisfiesInvariants(of: policy) else { return nil }
        guard let local else { return (remote, []) }
        guard local.satisfiesInvariants(of: policy) else { return nil }
        // Equal versions name the same write, so the choice between them does not matter.
        let (winner, loser) = local.version >= remote.version ? (local, remote) : (remote, local)
        let record = joined(winner: winner, loser: loser, policy: policy)
        guard record.satisfiesInvariants(of: policy) else { return nil }
        guard local.vector.compare(remote.vector) == .concurrent else { return (record, []) }
        return (record, overwrittenValues(winner: winner, loser: loser, policy: policy))
    }

    /// The record re-expressed under `policy`, keeping its vector, version and visible
    /// value: for an item written under another policy (two regions created the same
    /// table concurrently with different policies, and the other definition won).
    public static func normalized(_ record: ItemRecord, for policy: ConflictPolicy) -> ItemRecord {
        if record.satisfiesInvariants(of: policy) { return record }
        let value = record.value
        switch policy {
        case .lww:
            return ItemRecord(vector: record.vector, version: record.version, root: value)
        case .merge:
            guard case .object(let object)? = value else { return ItemRecord(vector: record.vector, version: record.version, root: value) }
            let fields = object.mapValues { FieldEntry(value: $0, version: record.version) }
            return ItemRecord(vector: record.vector, version: record.version, root: .object([:]), fields: fields)
        case .siblings:
            let dot = Dot(region: record.version.origin, counter: max(1, record.vector[record.version.origin]))
            let vector = record.vector[record.version.origin] > 0 ? record.vector : record.vector.incremented(for: record.version.origin)
            return ItemRecord(vector: vector, version: record.version, root: value,
                              siblings: [Sibling(value: value, version: record.version, dot: dot)])
        }
    }

    /// The join of two records, `winner` having the greater (or an equal) version.
    private static func joined(winner: ItemRecord, loser: ItemRecord, policy: ConflictPolicy) -> ItemRecord {
        let vector = winner.vector.merged(with: loser.vector)
        switch policy {
        case .lww:
            return ItemRecord(vector: vector, version: winner.version, root: winner.root)
        case .merge:
            let fields = winner.fields.merging(loser.fields) { $0.version >= $1.version ? $0 : $1 }
            return ItemRecord(vector: vector, version: winner.version, root: winner.root, fields: fields)
        case .siblings:
            let siblings = joinedSiblings(winner, loser)
            // The greatest version is never dropped (only a later write can replace a
            // sibling), so the last sibling is the winner's.
            return ItemRecord(vector: vector, version: winner.version, root: siblings.last?.value, siblings: siblings)
        }
    }

    /// The siblings of two records that survive their join, sorted by version.
    ///
    /// A sibling one record holds and the other does not survives only when the other has
    /// not seen its dot; having seen it and dropped it means a later write replaced it.
    private static func joinedSiblings(_ left: ItemRecord, _ right: ItemRecord) -> [Sibling] {
        let leftDots = Set(left.siblings.map(\.dot))
        let rightDots = Set(right.siblings.map(\.dot))
        let fromLeft = left.siblings.filter { rightDots.contains($0.dot) || !right.vector.covers($0.dot) }
        let fromRight = right.siblings.filter { !leftDots.contains($0.dot) && !left.vector.covers($0.dot) }
        return (fromLeft + fromRight).sorted { $0.version < $1.version }
    }

    /// The losing writes of a merge of two concurrent records that `winner` had not seen.
    private static func overwrittenValues(winner: ItemRecord, loser: ItemRecord, policy: ConflictPolicy) -> [OverwrittenValue] {
        switch policy {
        case .lww:
            return lostRoot(winner: winner, loser: loser).map { [$0] } ?? []
        case .merge:
            let bothObjects = winner.root == mergeObjectMarker && loser.root == mergeObjectMarker
            let root = bothObjects ? nil : lostRoot(winner: winner, loser: loser)
            return (root.map { [$0] } ?? []) + lostFields(winner, loser)
        case .siblings:
            return []
        }
    }

    /// The loser's whole value, unless `winner` had seen the write that made it.
    private static func lostRoot(winner: ItemRecord, loser: ItemRecord) -> OverwrittenValue? {
        guard !winner.hasSeen(loser.version, heldBy: loser) else { return nil }
        return OverwrittenValue(value: loser.value, version: loser.version, winner: winner.version)
    }

    /// The field entries of either record that lost to the other's and were not seen by it.
    private static func lostFields(_ left: ItemRecord, _ right: ItemRecord) -> [OverwrittenValue] {
        Set(left.fields.keys).union(right.fields.keys).sorted().compactMap { name in
            guard let leftEntry = left.fields[name], let rightEntry = right.fields[name],
                  leftEntry.version != rightEntry.version
            else { return nil }
            let (won, lost, lostRecord, wonRecord) = leftEntry.version > rightEntry.version
                ? (leftEntry, rightEntry, right, left)
                : (rightEntry, leftEntry, left, right)
            guard !wonRecord.hasSeen(lost.version, heldBy: lostRecord) else { return nil }
            return OverwrittenValue(value: lost.value, version: lost.version, field: name, winner: won.version)
        }
    }

    /// The root register under `merge`: the marker for an object, else the value itself.
    private static func mergeRoot(of value: JSONValue?) -> JSONValue? {
        if case .object = value { return mergeObjectMarker }
        return value
    }

    /// `fields` after a write of `value` at `version` under `merge`: every field the write
    /// sets to a new value is stamped, every live field it drops gets a tombstone, and
    /// unchanged fields keep their entries. A non-object value or a delete drops every field.
    private static func stampedFields(_ fields: [String: FieldEntry], value: JSONValue?, version: ItemVersion) -> [String: FieldEntry] {
        let written: [String: JSONValue]
        if case .object(let object) = value { written = object } else { written = [:] }
        var stamped = fields
        for (name, entry) in fields where entry.value != nil && written[name] == nil {
            stamped[name] = FieldEntry(value: nil, version: version)
        }
        for (name, fieldValue) in written where fields[name]?.value != fieldValue {
            stamped[name] = FieldEntry(value: fieldValue, version: version)
        }
        return stamped
    }
}

/// Under `merge`, the root of an item whose value is an object (the content is in `fields`).
let mergeObjectMarker: JSONValue = .object([:])

extension ItemRecord {
    /// The value clients see; `nil` when the item is deleted.
    ///
    /// Under `merge`, when the root is the object marker, the object of the live fields;
    /// otherwise (and always under `lww` and `siblings`) the root. Under `siblings` the root
    /// is the greatest sibling's value; the others are in `siblings`.
    public var value: JSONValue? {
        guard root == mergeObjectMarker else { return root }
        return .object(fields.compactMapValues(\.value))
    }

    /// Whether the visible value is a delete.
    public var isDeleted: Bool { value == nil }

    /// Whether the record holds the invariants that `ItemRecord` documents for `policy`, as
    /// far as they can be checked on one record.
    ///
    /// Records read from storage or the wire should pass before `ConflictResolution` sees
    /// them: its functions trap on a record that does not.
    public func satisfiesInvariants(of policy: ConflictPolicy) -> Bool {
        guard vector.covers(Dot(region: version.origin, counter: 1)) else { return false }
        switch policy {
        case .lww:
            return fields.isEmpty && siblings.isEmpty
        case .merge:
            let rootIsRegister: Bool
            if case .object = root { rootIsRegister = root == mergeObjectMarker } else { rootIsRegister = true }
            return siblings.isEmpty && rootIsRegister && fields.values.allSatisfy { $0.version <= version }
        case .siblings:
            return fields.isEmpty && siblingsAreWellFormed
        }
    }

    /// Under `siblings`: non-empty, strictly sorted by version, each dot the write of its
    /// version's origin and seen by the vector, the last one the record's version and root.
    private var siblingsAreWellFormed: Bool {
        guard let last = siblings.last, last.version == version, last.value == root else { return false }
        return zip(siblings, siblings.dropFirst()).allSatisfy { $0.version < $1.version }
            && siblings.allSatisfy { $0.dot.region == $0.version.origin && $0.dot.counter > 0 && vector.covers($0.dot) }
    }

    /// Whether this record has provably merged the write at `version`, which `holder` holds.
    ///
    /// Entries carry versions, not dots, so this reasons from a fact the rules guarantee: a
    /// region numbers its writes to an item with its count and stamps each with a version
    /// above every one the record holds, so among one region's writes the version order is
    /// the count order. The answer is exact when it is `true`; `false` means "not provably",
    /// so the ledger may list a write the winner had in fact seen, but never misses one it
    /// had not.
    fileprivate func hasSeen(_ version: ItemVersion, heldBy holder: ItemRecord) -> Bool {
        let origin = version.origin
        let seenCount = vector[origin]
        let holderCount = holder.vector[origin]
        // Every write of `origin` the holder knows, this record knows.
        if holderCount <= seenCount { return true }
        // This record holds a write of `origin` at least as late.
        if versions(from: origin).contains(where: { $0 >= version }) { return true }
        // The holder knows this many later writes of `origin`, so the write's count is at
        // most `holderCount - later`.
        let later = UInt64(Set(holder.versions(from: origin)).filter { $0 > version }.count)
        return later >= holderCount - seenCount
    }

    /// Every version this record holds whose write was made at `origin`.
    private func versions(from origin: RegionID) -> [ItemVersion] {
        ([version] + fields.values.map(\.version) + siblings.map(\.version)).filter { $0.origin == origin }
    }
}
