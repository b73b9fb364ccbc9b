/// `Property.linearizability`: every key of the `primary` and `strong` tables behaves as one
/// register whose operations (strong reads, puts, deletes, compare-and-set) take effect
/// atomically, each at some instant between its call and its return, in virtual time.
///
/// The history holds every call a client made and how it ended: a result, or an unknown
/// outcome (`commit_timeout`, a crash of the region holding the request, no answer before
/// the end). Calls refused before they could take effect (`not_leader`, `no_leader`,
/// `write_dropped`...) are left out. The run ends with one strong read per key once every
/// fault healed, so an acknowledged write the group lost shows up as a read no order explains.
public enum LinearizabilityHistoryChecker {
    /// The most memo entries the search of one key may use before it gives up (`undecided`).
    public static let searchStatesMax = 1_000_000

    /// What checking a history found.
    public struct Outcome: Sendable, Equatable {
        public var violation: Violation?
        /// A key whose search exceeded `searchStatesMax` before deciding (not a violation).
        public var undecidedKey: String?
    }

    public static func check(_ history: [HistoryEvent]) -> Outcome {
        switch LinearizabilityChecker.check(history, searchStatesMax: searchStatesMax) {
        case .linearizable:
            return Outcome(violation: nil, undecidedKey: nil)
        case .undecided(let key):
            return Outcome(violation: nil, undecidedKey: key)
        case .violation(let key, let explanation):
            return Outcome(violation: Violation(.linearizability, "\(key): no sequential order explains these calls (virtual ms since the start):\n\(explanation)"),
                           undecidedKey: nil)
        }
    }
}
