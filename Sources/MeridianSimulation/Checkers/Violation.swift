// The checkers: each states one property of the cluster, observed during a run or
// checked at its end, and returns a `Violation` when the property breaks. Each is a small
// value over plain data (acknowledged writes, region images, observed vectors), so a test
// can feed it a broken history and expect a violation.
//
// The Raft tables' properties follow the same pattern: one leader per term (from every
// region's group statuses after each step), committed entries that never change (from each
// region's stored Raft log), and linearizability of the `primary` and `strong` tables'
// history (Wing–Gong–Lowe, at the end of the run).

/// A property the simulator checks.
public enum Property: String, Sendable, CaseIterable, CustomStringConvertible {
    /// After every fault heals and the network quiesces, every region holding a table
    /// holds identical items (tombstones and replicated records included) and every region
    /// holds the same catalog. Checked also while one link stays cut: the two regions must
    /// converge through a third (relay).
    case convergence
    /// Every acknowledged write to a `lww` table is current somewhere, in some region's
    /// conflict ledger, or was knowingly replaced by a later acknowledged write.
    case acknowledgedWritesSurvive = "acknowledged-writes-survive"
    /// A region's version vector for one item never goes backwards.
    case versionVectorsGrow = "version-vectors-grow"
    /// Each region's change feed records every item its storage commits, in the same order,
    /// under sequences without gaps (ChangeFeedChecker).
    case changeFeedMatchesWrites = "change-feed-matches-writes"
    /// The versions one region returns to clients have strictly increasing timestamps.
    case timestampsIncrease = "timestamps-increase"
    /// No item of a table is stored in a region outside the table's `regions` list.
    case residency
    /// An origin never ships two different entries under one sequence number.
    case originLogsImmutable = "origin-logs-immutable"
    /// A `primary` or `strong` table's Raft group has at most one leader per term.
    case oneLeaderPerTerm = "one-leader-per-term"
    /// A committed Raft entry is the same in every region that commits its index, and is
    /// never replaced.
    case committedEntriesImmutable = "committed-entries-immutable"
    /// Every key of a `primary` or `strong` table behaves as one linearizable register.
    case linearizability
    /// A session reads its own writes, in whichever region serves the read.
    case readYourWrites = "read-your-writes"
    /// A session never reads an item older than one it read before, in whichever region.
    case monotonicReads = "monotonic-reads"
    /// A bounded-staleness read reflects every write acknowledged longer ago than its bound
    /// (up to the clocks' allowed disagreement).
    case boundedStaleness = "bounded-staleness"

    public var description: String { rawValue }
}

/// A property that broke, and the evidence.
public struct Violation: Error, Sendable, Equatable, CustomStringConvertible {
    public var property: Property
    /// What broke, naming regions, tables, keys and versions.
    public var detail: String

    public init(_ property: Property, _ detail: String) {
        self.property = property
        self.detail = detail
    }

    public var description: String { "\(property): \(detail)" }
}
