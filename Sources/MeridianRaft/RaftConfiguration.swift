// What a node is told when it starts: who it is, who votes, and its limits.

/// How a leader confirms that it still leads before it answers a ReadIndex request.
public enum ReadOnlyOption: Sendable {
    /// The read index is confirmed by a heartbeat round acknowledged by a majority. Costs one
    /// round trip; correct whatever the clocks do.
    case safe
    /// A leader with check-quorum trusts its lease and answers at once. Correct only while the
    /// voters' tick rates stay within a bounded drift of each other.
    case leaseBased
}

/// Bugs planted on purpose so that the simulator's checkers can show they catch them.
/// Never set one outside a test: the type and the switch are SPI (`@_spi(Simulation)`).
@_spi(Simulation) public enum RaftFault: String, Sendable, CaseIterable {
    /// A node grants a vote to a second candidate in the same term.
    case voteTwice
    /// The leader advances its commit index to its own last index without a majority.
    case commitEarly
    /// ReadIndex is answered at once, even in `.safe` mode and even by a deposed leader that
    /// has not heard from a majority.
    case skipReadConfirmation
    /// Votes are granted without checking that the candidate's log is at least as up to date.
    case ignoreLogRecency
}

/// The configuration of one node of a group.
public struct RaftConfiguration: Sendable {
    /// This node.
    public var id: RaftNodeID
    /// The fixed membership of the group, including `id`.
    public var voters: [RaftNodeID]
    /// The election timeout, in ticks: a follower's timeout is drawn uniformly from
    /// `[electionTicks, 2 * electionTicks)`; a leader checks its quorum every `electionTicks`.
    public var electionTicks: Int = 10
    /// The interval between a leader's heartbeats, in ticks.
    public var heartbeatTicks: Int = 1
    /// Whether a node asks for pre-votes before it raises its term.
    public var preVote: Bool = true
    /// Whether a leader that has not heard from a majority within an election timeout steps
    /// down, and followers that heard from a leader within it ignore vote requests.
    public var checkQuorum: Bool = true
    /// How ReadIndex requests are confirmed.
    public var readOnly: ReadOnlyOption = .safe
    /// The most entries an append message carries.
    public var entriesPerAppendMax: Int = 256
    /// The most data bytes an append message carries (it carries at least one entry).
    public var bytesPerAppendMax: Int = 1 << 20
    /// The most append messages in flight to one follower in the replicate state.
    public var inflightAppendsMax: Int = 64
    /// The most ReadIndex requests the leader holds unanswered.
    public var pendingReadsMax: Int = 4096
    /// The seed of the generator that draws election timeouts.
    public var randomSeed: UInt64
    /// A planted bug, for the simulator's checkers only: outside the public API, reached
    /// only through `@_spi(Simulation) import` (the simulator and the tests).
    @_spi(Simulation) public var fault: RaftFault? = nil

    /// Creates a configuration with the default limits.
    public init(id: RaftNodeID, voters: [RaftNodeID], randomSeed: UInt64) {
        self.id = id
        self.voters = voters
        self.randomSeed = randomSeed
    }

    /// Stops the program if the configuration cannot describe a working node.
    func validate() {
        precondition(voters.contains(id), "configuration: voters \(voters) must include the node itself (\(id))")
        precondition(Set(voters).count == voters.count, "configuration: voters \(voters) must be distinct")
        precondition(electionTicks > 0, "configuration: electionTicks must be positive")
        precondition(heartbeatTicks > 0 && heartbeatTicks < electionTicks, "configuration: heartbeatTicks must be in 1..<electionTicks")
        precondition(entriesPerAppendMax > 0, "configuration: entriesPerAppendMax must be positive")
        precondition(bytesPerAppendMax > 0, "configuration: bytesPerAppendMax must be positive")
        precondition(inflightAppendsMax > 0, "configuration: inflightAppendsMax must be positive")
        precondition(pendingReadsMax > 0, "configuration: pendingReadsMax must be positive")
    }
}
