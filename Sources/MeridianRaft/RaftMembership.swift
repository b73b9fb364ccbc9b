// Who takes part in a group: voters, which elect and make quorums, and learners, which
// receive the log but neither vote nor count.

/// The members of a group at some point of its log.
///
/// Invariants: `voters` is not empty; voters and learners are sorted and disjoint.
public struct RaftMembership: Sendable, Equatable, CustomStringConvertible {
    /// The members that vote and whose majority commits, sorted.
    public let voters: [RaftNodeID]
    /// The members that receive the log without voting, sorted.
    public let learners: [RaftNodeID]

    /// Creates a membership; stops the program on an invalid one (callers validate remote
    /// input with `validated(voters:learners:)`).
    public init(voters: [RaftNodeID], learners: [RaftNodeID] = []) {
        guard let membership = Self.validated(voters: voters, learners: learners) else {
            preconditionFailure("membership: voters \(voters) must be non-empty and distinct, and disjoint from learners \(learners)")
        }
        self = membership
    }

    private init(sortedVoters: [RaftNodeID], sortedLearners: [RaftNodeID]) {
        voters = sortedVoters
        learners = sortedLearners
    }

    /// A membership, or nil when the lists break its invariants.
    public static func validated(voters: [RaftNodeID], learners: [RaftNodeID]) -> RaftMembership? {
        let voterSet = Set(voters)
        let learnerSet = Set(learners)
        guard !voters.isEmpty, voterSet.count == voters.count, learnerSet.count == learners.count, voterSet.isDisjoint(with: learnerSet),
              (voters + learners).allSatisfy({ !$0.isEmpty && !$0.contains(",") && !$0.contains(";") && !$0.contains("=") })
        else { return nil }
        return RaftMembership(sortedVoters: voters.sorted(), sortedLearners: learners.sorted())
    }

    /// Every member, voters then learners.
    public var members: [RaftNodeID] { voters + learners }

    public func contains(_ node: RaftNodeID) -> Bool { voters.contains(node) || learners.contains(node) }

    /// The smallest majority of the voters.
    public var quorum: Int { voters.count / 2 + 1 }

    /// Whether changing to `other` is one safe step: at most one voter added or removed (any
    /// two majorities of the two memberships then overlap), learners as they like.
    public func isSingleStep(to other: RaftMembership) -> Bool {
        Set(voters).symmetricDifference(Set(other.voters)).count <= 1
    }

    /// The payload of a membership entry: `voters=a,b,c;learners=d` in UTF-8.
    public var entryData: [UInt8] {
        Array("voters=\(voters.joined(separator: ","));learners=\(learners.joined(separator: ","))".utf8)
    }

    /// Decodes a membership entry's payload; nil for anything `entryData` does not produce.
    public init?(entryData: [UInt8]) {
        guard let text = String(validating: entryData, as: UTF8.self) else { return nil }
        let parts = text.split(separator: ";", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].hasPrefix("voters="), parts[1].hasPrefix("learners=") else { return nil }
        func names(_ part: Substring, after prefix: Int) -> [RaftNodeID] {
            let list = part.dropFirst(prefix)
            return list.isEmpty ? [] : list.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        }
        let voters = names(parts[0], after: "voters=".count)
        let learners = names(parts[1], after: "learners=".count)
        guard let membership = Self.validated(voters: voters, learners: learners), membership.entryData == entryData else { return nil }
        self = membership
    }

    public var description: String {
        learners.isEmpty ? "voters \(voters)" : "voters \(voters), learners \(learners)"
    }
}
