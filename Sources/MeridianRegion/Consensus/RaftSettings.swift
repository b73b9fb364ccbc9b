@_spi(Simulation) import MeridianRaft

/// Raft timing and limits, in the units their names say.
public struct RaftSettings: Sendable {
    /// The length of one Raft tick.
    public var tickMilliseconds: UInt64 = 50
    /// Election timeout, drawn from [electionTicks, 2 × electionTicks) ticks.
    public var electionTicks = 6
    /// Heartbeat interval.
    public var heartbeatTicks = 1
    /// How long a write waits for its commit, or a read for its read index, before it
    /// fails with an unknown outcome.
    public var proposalTimeoutMilliseconds: UInt64 = 5_000
    /// Seed of the groups' election timeouts (the node draws one at start; the simulator
    /// passes its seed).
    public var randomSeed: UInt64 = 0
    /// How strong reads confirm leadership.
    public var readOnly: ReadOnlyOption = .leaseBased
    /// A planted bug, set only by the simulator to check its checkers (SPI, not public API).
    @_spi(Simulation) public var fault: RaftFault? = nil
    /// A group's log is compacted once it holds more entries than this.
    public var logEntriesRetainedMax = 10_000
    /// A leader keeps at most this many entries for a follower that is behind; a follower
    /// further behind catches up from a snapshot.
    public var logEntriesRetainedHardMax = 100_000

    /// The election timeout, in ticks, for groups whose longest round trip is
    /// `roundTripMilliseconds`: at least `electionTicks`, and long enough (1.2 round trips)
    /// for a candidate to gather its votes before its own timeout sends it campaigning again
    /// (with an 800 ms round trip and the default 300 ms, no leader was ever elected).
    public func electionTicks(forRoundTripMilliseconds roundTripMilliseconds: Double) -> Int {
        guard roundTripMilliseconds.isFinite, roundTripMilliseconds > 0 else { return electionTicks }
        let needed = (1.2 * roundTripMilliseconds / Double(tickMilliseconds)).rounded(.up)
        return max(electionTicks, Int(min(needed, 1_000)))
    }

    /// The most items a snapshot carries, and its most bytes (it travels in one frame).
    static let snapshotItemsMax = 100_000
    static let snapshotBytesMax = 3 << 20

    /// The most Raft ticks one step catches up on after a stall.
    static let ticksPerStepMax: UInt64 = 3
    /// The most Ready rounds one step processes per group.
    static let readyRoundsPerStepMax = 4

    public init() {}
}
