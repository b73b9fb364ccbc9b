import MeridianCore
import MeridianStorage
@_spi(Simulation) import MeridianRaft
@_spi(Simulation) import MeridianRegion

/// A bug planted on purpose inside the simulated world, to prove that the checkers catch
/// what they claim to.
///
/// The first three live only in the simulator's own types (its storage and its network):
/// production code has no switch for them. The four Raft mutations are planted inside
/// MeridianRaft behind `RaftConfiguration.fault`, which only the simulator sets (through
/// `RegionConfiguration.raft.fault`, for every region of the run): no cluster-file field
/// or command-line flag of `meridian serve` reaches it.
public enum Mutation: String, Sendable, CaseIterable, CustomStringConvertible {
    /// The simulated storage silently drops every conflict-ledger row: a value a concurrent
    /// write overwrote is lost without a trace.
    case skipLedger = "skip-ledger"
    /// The simulated network discards relayed entries (those whose origin is not the
    /// sender), so two regions whose link is cut cannot converge through a third.
    case dropRelay = "drop-relay"
    /// The simulated network ships one full entry of a confined table to a region outside
    /// the table's `regions` list (the receiving region then refuses it, but it was sent).
    case leakResidency = "leak-residency"
    /// `RaftFault.voteTwice`: a region grants its vote to a second candidate in a term.
    case voteTwice = "vote-twice"
    /// `RaftFault.commitEarly`: a leader commits its whole log without a majority.
    case commitEarly = "commit-early"
    /// `RaftFault.skipReadConfirmation`: a leader answers strong reads without confirming
    /// that it still leads, so a deposed leader serves stale values.
    case staleRead = "stale-read"
    /// `RaftFault.ignoreLogRecency`: votes are granted to candidates whose log is behind.
    case ignoreLogRecency = "ignore-log-recency"
    /// `RegionFault.ignoreSessionToken`: regions serve session reads whatever the session
    /// has seen, so a session that moves to a region behind it misses its own writes.
    case ignoreSessionToken = "ignore-session-token"

    public var description: String { rawValue }

    /// The Raft fault the mutation plants in every region; `nil` for the simulator's own.
    var raftFault: RaftFault? {
        switch self {
        case .skipLedger, .dropRelay, .leakResidency, .ignoreSessionToken: return nil
        case .voteTwice: return .voteTwice
        case .commitEarly: return .commitEarly
        case .staleRead: return .skipReadConfirmation
        case .ignoreLogRecency: return .ignoreLogRecency
        }
    }

    /// The region fault the mutation plants in every region, if it is one.
    var regionFault: RegionFault? {
        self == .ignoreSessionToken ? .ignoreSessionToken : nil
    }
}

/// The kinds of fault the injector chooses from.
public enum FaultKind: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Two regions cannot reach each other; their connection goes down.
    case partition
    /// One direction between two regions drops everything; the connection stays up.
    case oneWay = "one-way"
    /// One region cannot reach any other.
    case isolation
    /// One direction drops a percentage of messages; the connection stays up.
    case lossyLink = "lossy-link"
    /// The whole network duplicates and reorders a percentage of messages.
    case noise
    /// A region's process dies and restarts later; committed writes survive.
    case crash
    /// A region's machine loses power and restarts later; under `SyncPolicy.normal` the
    /// commits since the last checkpoint are lost.
    case powerLoss = "power-loss"
    /// A region's clock is stepped to a new offset within the bound.
    case clockJump = "clock-jump"
    /// A region's clock leaves the bound (ahead or behind) for a while, so that peers
    /// reject its timestamps as too far ahead, or it rejects theirs.
    case clockExcursion = "clock-excursion"

    public var description: String { rawValue }
}

/// How often faults happen, which kinds, and how bad they are.
public struct FaultProfile: Sendable, Equatable {
    public var name: String
    /// Time between two decisions of the fault injector, in milliseconds.
    public var decisionIntervalMilliseconds: ClosedRange<UInt64>
    /// The most faults active at once (instant faults such as clock jumps do not count).
    public var activeFaultsMax: Int
    /// How long a fault lasts, in milliseconds.
    public var durationMilliseconds: ClosedRange<UInt64>
    /// Relative weights of the kinds; a kind without a weight is never chosen.
    public var weights: [FaultKind: Int]
    /// Loss of a lossy link, in percent.
    public var lossPercent: ClosedRange<Int>
    /// Duplication and reordering while noise lasts, in percent.
    public var duplicationPercent: ClosedRange<Int>
    public var reorderPercent: ClosedRange<Int>
    /// How far an excursion takes a clock beyond its offset, in milliseconds.
    public var excursionMilliseconds: ClosedRange<Int>

    /// A healthy world: latency and jitter, clocks within their bound, no faults.
    public static let none = FaultProfile(
        name: "none", decisionIntervalMilliseconds: 1000...1000, activeFaultsMax: 0, durationMilliseconds: 0...0,
        weights: [:], lossPercent: 0...0, duplicationPercent: 0...0, reorderPercent: 0...0, excursionMilliseconds: 0...0)

    /// Every kind of fault, one or two at a time.
    public static let standard = FaultProfile(
        name: "standard", decisionIntervalMilliseconds: 300...1200, activeFaultsMax: 2, durationMilliseconds: 200...2500,
        weights: [.partition: 20, .oneWay: 12, .isolation: 10, .lossyLink: 15, .noise: 12, .crash: 10, .powerLoss: 5,
                  .clockJump: 10, .clockExcursion: 6],
        lossPercent: 10...50, duplicationPercent: 5...20, reorderPercent: 10...30, excursionMilliseconds: 600...1500)

    /// Many faults at once, long and severe.
    public static let heavy = FaultProfile(
        name: "heavy", decisionIntervalMilliseconds: 100...600, activeFaultsMax: 4, durationMilliseconds: 300...4000,
        weights: [.partition: 20, .oneWay: 15, .isolation: 12, .lossyLink: 15, .noise: 15, .crash: 12, .powerLoss: 8,
                  .clockJump: 10, .clockExcursion: 8],
        lossPercent: 20...80, duplicationPercent: 10...40, reorderPercent: 20...50, excursionMilliseconds: 600...3000)

    /// The profiles by name, for the command line.
    public static let all: [FaultProfile] = [.none, .standard, .heavy]
}

/// Everything that decides a simulated run. Two runs with equal configurations are
/// identical, event for event.
public struct SimulationConfiguration: Sendable {
    /// The seed of the run's one random generator.
    public var seed: UInt64
    /// Events processed while clients write and faults are injected; the healing and
    /// checking phases that follow have their own bounds.
    public var steps: Int
    /// The regions of the cluster (at least three, so that relay can be exercised).
    public var regions: [RegionID]
    public var faults: FaultProfile
    public var syncPolicy: SyncPolicy
    /// A planted bug, to check the checkers; `nil` in every real run.
    public var mutation: Mutation?
    /// Lines of trace kept for a failure report.
    public var traceTailLines: Int
    /// Whether the report carries every trace line (for replay comparisons), not only the tail.
    public var recordsFullTrace: Bool
    /// How far each region's clock may stray from virtual time outside excursion faults, in
    /// milliseconds; twice this stays below `clockSkewMillisecondsMax`.
    public var clockOffsetMillisecondsMax: Int64
    /// The regions' bound on remote timestamps ahead of local wall time, in milliseconds.
    public var clockSkewMillisecondsMax: UInt64
    /// Keys per table: few, so that concurrent writes to one key are frequent.
    public var keysPerTable: Int
    /// How long the healing phases may take to converge before the run fails, in virtual milliseconds.
    public var quiesceMillisecondsMax: UInt64

    /// The events of the writing phase in a default run: small enough for twenty seeds in a
    /// few seconds of a debug build, long enough for about ten faults.
    public static let stepsDefault = 6000
    /// The most events of the writing phase one run may ask for.
    public static let stepsMax = 10_000_000
    /// The regions of a default run.
    public static let regionsDefault: [RegionID] = ["us-east", "eu-west", "ap-south"].map { name in
        guard let region = try? RegionID(name) else { preconditionFailure("'\(name)' is a valid region name") }
        return region
    }

    public init(seed: UInt64, steps: Int = stepsDefault, regions: [RegionID] = regionsDefault, faults: FaultProfile = .standard,
                syncPolicy: SyncPolicy = .full, mutation: Mutation? = nil) {
        precondition((0...Self.stepsMax).contains(steps), "steps must be 0 to \(Self.stepsMax)")
        precondition(regions.count >= 3 && Set(regions).count == regions.count, "a simulation needs at least three distinct regions")
        self.seed = seed
        self.steps = steps
        self.regions = regions
        self.faults = faults
        self.syncPolicy = syncPolicy
        self.mutation = mutation
        traceTailLines = 40
        recordsFullTrace = false
        clockOffsetMillisecondsMax = 200
        clockSkewMillisecondsMax = Limits.clockSkewMillisecondsMaxDefault
        keysPerTable = 8
        quiesceMillisecondsMax = 20_000
    }
}
