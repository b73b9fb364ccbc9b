// Expected refusals, as named values.

/// Why a node refused a request. Compare with the static members (`error == .notLeader`);
/// the `leader` hint is advice and does not take part in equality.
public struct RaftError: Error, Sendable, Equatable, CustomStringConvertible {
    enum Code: String, Sendable {
        case notLeader, transferInProgress, tooManyPendingReads, compacted, unavailable, membershipChangePending, invalidMembershipChange
    }

    let code: Code
    /// The leader this node knows of, where the refusal means "ask the leader".
    public let leader: RaftNodeID?

    /// The node is not the leader; `leader` names the one it follows, if known.
    public static let notLeader = RaftError(code: .notLeader, leader: nil)
    /// The leader is handing leadership over and accepts no proposals until that ends.
    public static let transferInProgress = RaftError(code: .transferInProgress, leader: nil)
    /// The leader already holds `pendingReadsMax` unanswered reads.
    public static let tooManyPendingReads = RaftError(code: .tooManyPendingReads, leader: nil)
    /// The requested index was compacted into a snapshot.
    public static let compacted = RaftError(code: .compacted, leader: nil)
    /// The request cannot be answered now; for `.leaseBased` reads: the lease is not valid.
    public static let unavailable = RaftError(code: .unavailable, leader: nil)
    /// A membership change is not committed yet (or this leader has not committed an entry
    /// of its term): one change at a time.
    public static let membershipChangePending = RaftError(code: .membershipChangePending, leader: nil)
    /// The proposed membership is not one safe step from the current one (more than one
    /// voter added or removed).
    public static let invalidMembershipChange = RaftError(code: .invalidMembershipChange, leader: nil)

    /// `notLeader` with the known leader as a hint.
    static func notLeader(leader: RaftNodeID?) -> RaftError {
        RaftError(code: .notLeader, leader: leader)
    }

    public static func == (lhs: RaftError, rhs: RaftError) -> Bool {
        lhs.code == rhs.code
    }

    public var description: String {
        leader.map { "\(code.rawValue) (leader: \($0))" } ?? code.rawValue
    }
}
