import MeridianCore
import MeridianRegion

/// An input waiting in a region's queue.
enum PendingInput {
    /// A client's request, with what the checkers need to know about it.
    case client(ClientRequest)
    /// The creation of one of the workload's tables (by index).
    case createTable(Int)
    /// A peer message, a connection event or a tick.
    case input(RegionInput)

    /// Whether this is a tick (at most one waits in a region's queue).
    var isTick: Bool {
        if case .input(.tick) = self { return true }
        return false
    }
}

/// One region in the simulated world: its storage outlives its process.
final class SimulatedNode {
    let id: RegionID
    let configuration: RegionConfiguration
    let storage: SimulatedStorage
    /// The running region; `nil` while it is down.
    var region: Region?
    var clock: SimulatedClock
    /// Inputs waiting for the region's next step, in arrival order: the executor's queue,
    /// lost when the process dies.
    var inbox = InputQueue<PendingInput>()
    /// Whether a `runStep` event is scheduled.
    var stepScheduled = false
    /// When the step in progress finishes (its commit and sync), in virtual milliseconds:
    /// inputs that arrive earlier wait and run together in the next step (group commit).
    var busyUntil: UInt64 = 0
    /// Calls on consensus tables the running region answered `.pending`, by ticket: their
    /// results come in a later step's completions; a crash leaves their outcome unknown.
    var pendingCalls: [UInt64: ClientRequest] = [:]
    /// Table creations the running region answered `.pending` (they wait for the catalog
    /// group), by ticket: the workload table's index.
    var pendingCreations: [UInt64: Int] = [:]
    /// What region processes that have died counted, so totals survive restarts.
    var countersOfEarlierProcesses = ProcessTotals()

    init(id: RegionID, configuration: RegionConfiguration, storage: SimulatedStorage, clock: SimulatedClock) {
        self.id = id
        self.configuration = configuration
        self.storage = storage
        self.clock = clock
    }

    var isAlive: Bool { region != nil }

    /// The region's counts over every process it ran.
    var totalCounters: ProcessTotals {
        var total = countersOfEarlierProcesses
        if let counters = region?.counters { total.add(counters) }
        return total
    }
}

/// The region counters a run reports, summed over a region's processes.
struct ProcessTotals {
    var clockSkewRejections = 0
    var entriesApplied = 0
    var snapshotsInstalled = 0
    var invalidRecords = 0
    var residencyRefusals = 0

    mutating func add(_ counters: RegionCounters) {
        invalidRecords += counters.invalidRecords
        residencyRefusals += counters.residencyRefusals
        clockSkewRejections += counters.clockSkewRejections
        entriesApplied += counters.entriesApplied
        snapshotsInstalled += counters.snapshotsInstalled
    }
}
