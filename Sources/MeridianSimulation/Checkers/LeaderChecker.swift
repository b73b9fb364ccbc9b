import MeridianCore

/// `Property.oneLeaderPerTerm`: a `primary` or `strong` table's Raft group has at most one
/// leader in any term (Raft's election safety, §5.2).
///
/// Fed after every step of every region with what the step left: a region that leads a
/// term claims it for itself, and a follower that knows a leader claims the term for that
/// leader (it learned it from the leader's own messages of that term). Two different
/// regions claimed for one term of one table is a violation.
public struct LeaderChecker: Sendable {
    struct TermOfTable: Hashable {
        var table: TableName
        var term: UInt64
    }

    struct Claim {
        var leader: RegionID
        var observedBy: RegionID
    }

    private var claims: [TermOfTable: Claim] = [:]

    public init() {}

    /// Records that `observer` sees `leader` leading `table` in `term` (`observer == leader`:
    /// the region leads it itself).
    public mutating func observe(table: TableName, term: UInt64, leader: RegionID, observedBy observer: RegionID) -> Violation? {
        let key = TermOfTable(table: table, term: term)
        guard let earlier = claims[key] else {
            claims[key] = Claim(leader: leader, observedBy: observer)
            return nil
        }
        guard earlier.leader != leader else { return nil }
        return Violation(.oneLeaderPerTerm,
            "table \(table) has two leaders in term \(term): \(earlier.leader) (seen by \(earlier.observedBy)) and \(leader) (seen by \(observer))")
    }
}
