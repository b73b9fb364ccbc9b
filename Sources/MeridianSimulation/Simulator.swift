// MeridianSimulation owns the deterministic cluster simulator: a single-threaded
// discrete-event scheduler with a virtual clock that drives the production
// `MeridianRegion` code for every region of a cluster, over simulated storage (with
// SQLite's durability rules), a simulated network (the latency matrix, jitter, loss,
// duplication, reordering, partitions) and simulated clocks (drift, jumps, excursions
// beyond the skew bound), with client workloads and fault injection, and the checkers
// that hold the cluster to its properties. One seed decides a whole run, which a failure
// prints and which replays the run exactly.
//
// It must never do I/O, read a clock, draw from a global random source or use the
// concurrency runtime: every random draw comes from the run's one `SimulationRandom`,
// every time is virtual. It must never import MeridianNode or NIO.

import MeridianCore
@_spi(Simulation) import MeridianRegion
import MeridianReplication
import MeridianStorage

/// What the scheduler runs.
enum SimulationEvent {
    /// A region creates one of the workload's tables (by index).
    case createTable(Int, RegionID)
    /// A client in the region sends its next request.
    case client(RegionID)
    /// Time passed for the region: heartbeats, retransmission, truncation.
    case tick(RegionID)
    case delivery(Envelope)
    /// The region runs one step over the inputs waiting in its queue.
    case runStep(RegionID)
    /// An attempt to bring a connection up.
    case reconnect(RegionPair)
    /// The region's storage syncs (under `SyncPolicy.normal`).
    case checkpoint(RegionID)
    /// One second of the region's clock drift.
    case clockDrift(RegionID)
    /// The fault injector's next decision.
    case injectFault
    /// A fault ends.
    case heal(faultID: Int)
    /// A call on a consensus table refused by one region reaches another (its leader, or
    /// the client's own region again); or a session read forwarded after its refusal.
    case resend(ClientRequest, to: RegionID)
    /// A session (by index) sends its next request.
    case session(Int)
}

/// Runs one simulated cluster from one seed.
///
/// A run has three phases:
/// 1. *writing*: `configuration.steps` events while clients write and faults come and go;
/// 2. *relay*: every fault heals except one cut link between two regions; each end writes
///    once more, and the cluster must converge through the third region;
/// 3. *final*: the last link heals; the cluster must converge (the `primary` and `strong`
///    tables' Raft groups too), the end-of-run checkers run over every region's storage,
///    and one strong read per key of the consensus tables ends their history, which must
///    be linearizable.
/// Checkers that watch each change (vectors, timestamps, residency, one Raft leader per
/// term, committed Raft entries) run throughout. The run stops at the first violation.
///
/// Usage: `let report = Simulator(configuration: SimulationConfiguration(seed: 7)).run()`.
public final class Simulator {
    enum Phase: String {
        case writing, relay, final
    }

    /// A fault with a duration, active until its heal.
    struct ActiveFault {
        enum Effect {
            case network(NetworkFault)
            case crash(RegionID)
            case excursion(RegionID)
        }

        let id: Int
        let kind: FaultKind
        let effect: Effect
    }

    public let configuration: SimulationConfiguration
    /// Virtual time at the start of a run, in milliseconds since the epoch (November 2023),
    /// so that timestamps look like real ones.
    static let startMilliseconds: UInt64 = 1_700_000_000_000
    /// How often each region ticks, in milliseconds (plus up to `tickJitterMilliseconds`).
    static let tickIntervalMilliseconds: UInt64 = 50
    static let tickJitterMilliseconds: UInt64 = 5
    /// When clients start writing, after the tables are created, in milliseconds from the start.
    static let clientsStartMilliseconds: UInt64 = 500
    /// The pause between one client's requests in one region, in milliseconds.
    static let clientPauseMilliseconds: ClosedRange<UInt64> = 10...150
    /// How long a connection takes to come back once nothing prevents it, in milliseconds.
    static let reconnectDelayMilliseconds: ClosedRange<UInt64> = 20...300
    /// How often a region's storage checkpoints under `SyncPolicy.normal`, in milliseconds.
    static let checkpointIntervalMilliseconds: ClosedRange<UInt64> = 200...1000
    /// How long one step takes (execution, commit and sync), in milliseconds.
    static let stepMilliseconds: ClosedRange<UInt64> = 1...3
    /// The relative chances that one client event sends one, two or three requests at once
    /// (concurrent clients, whose requests may share a step).
    static let requestsPerClientEventWeights = [60, 25, 15]
    /// How long an operator waits before creating a table again after a refusal, in milliseconds.
    static let createRetryMilliseconds: UInt64 = 200
    /// How often a fault that takes one region away (isolation, crash) picks a region that
    /// leads a consensus table, in percent.
    static let leaderVictimPercent = 60
    /// The most events a healing phase may process, on top of its virtual-time bound.
    static let healingEventsMax = 2_000_000

    var random: SimulationRandom
    var queue = EventQueue()
    /// Virtual time, in milliseconds since the epoch.
    var now: UInt64 = startMilliseconds
    var phase = Phase.writing
    /// Events processed so far.
    var stepsRun = 0
    let nodes: [SimulatedNode]
    let nodesByID: [RegionID: SimulatedNode]
    /// Every pair of regions, sorted.
    let pairs: [RegionPair]
    var network: SimulatedNetwork
    /// Whether the `leak-residency` mutation already leaked its entry.
    var residencyLeaked = false
    var workload: Workload
    var activeFaults: [ActiveFault] = []
    var nextFaultID = 1
    var faultsInjected: [FaultKind: Int] = [:]
    /// While set, the pair's connection stays down: the relay phase's cut.
    var relayCut: RegionPair?
    var clientsActive = true

    // What the checkers hold the run to.
    var acknowledgedWrites: [AcknowledgedWrite] = []
    /// For each acknowledged write, its region's storage commit that made it.
    var acknowledgedCommits: [UInt64] = []
    var vectorChecker = VersionVectorChecker()
    /// The versions acknowledged in the step being recorded.
    var stepVersions: [ItemVersion] = []
    var changeFeedChecker = ChangeFeedChecker()
    var timestampChecker = TimestampChecker()
    let residencyChecker: ResidencyChecker
    var originLogChecker = OriginLogChecker()
    var leaderChecker = LeaderChecker()
    var committedEntryChecker = CommittedEntryChecker()
    /// Every call on the consensus tables, for the linearizability check.
    var consensusHistory: [HistoryEvent] = []
    /// The sessions, and the checkers of their reads and of bounded reads.
    var sessions: [SessionClient] = []
    var sessionChecker = SessionChecker()
    var boundedChecker: BoundedStalenessChecker
    /// When the last clock excursion ended, in virtual milliseconds.
    var lastClockExcursionEndMilliseconds: UInt64?
    /// The final strong reads not answered yet, by call, and the keys of those that failed.
    var finalReadsOutstanding: Set<Int> = []
    var finalReadsFailed: [String] = []
    var counters = SimulationCounters()
    var trace: TraceRecorder
    var failure: SimulationFailure?

    public init(configuration: SimulationConfiguration) {
        self.configuration = configuration
        var random = SimulationRandom(seed: configuration.seed)
        let regions = configuration.regions
        // Small retention in some runs, so that regions cut off for long catch up from snapshots.
        let retained: UInt64 = random.chance(percent: 40) ? random.uniform(in: 10...40) : 100_000
        let raftSeed = random.next()
        nodes = regions.map { id in
            var regionConfiguration = RegionConfiguration(id: id, clusterRegions: regions, clockSkewMillisecondsMax: configuration.clockSkewMillisecondsMax)
            regionConfiguration.replication.originLogEntriesRetainedMax = retained
            // The groups' election timeouts come from the run's seed (each region mixes in
            // its name and the table's); a Raft mutation is planted in every region.
            regionConfiguration.raft.randomSeed = raftSeed
            regionConfiguration.raft.fault = configuration.mutation?.raftFault
            regionConfiguration.fault = configuration.mutation?.regionFault
            let storage = SimulatedStorage(syncPolicy: configuration.syncPolicy, dropsConflictRows: configuration.mutation == .skipLedger)
            return SimulatedNode(id: id, configuration: regionConfiguration, storage: storage,
                                 clock: SimulatedClock(boundMilliseconds: configuration.clockOffsetMillisecondsMax, random: &random))
        }
        nodesByID = Dictionary(uniqueKeysWithValues: nodes.map { ($0.id, $0) })
        pairs = regions.indices.flatMap { first in regions.indices.filter { $0 > first }.map { RegionPair(regions[first], regions[$0]) } }.sorted()
        network = SimulatedNetwork(pairs: pairs, dropsRelayedEntries: configuration.mutation == .dropRelay)
        workload = Workload(regions: regions, keysPerTable: configuration.keysPerTable)
        var regionsByTable: [TableName: [RegionID]] = [:]
        for table in workload.tables { regionsByTable[table.name] = table.regions ?? regions }
        residencyChecker = ResidencyChecker(regionsByTable: regionsByTable)
        boundedChecker = BoundedStalenessChecker(clockOffsetMillisecondsMax: configuration.clockOffsetMillisecondsMax)
        trace = TraceRecorder(tailLinesMax: configuration.traceTailLines, recordsAll: configuration.recordsFullTrace)
        self.random = random
        record("seed \(configuration.seed): regions \(regions.map(\.name).joined(separator: ",")), faults \(configuration.faults.name), sync \(configuration.syncPolicy.rawValue), log retention \(retained)\(configuration.mutation.map { ", mutation \($0)" } ?? "")")
    }

    /// Runs the whole simulation and reports what happened. Call once.
    public func run() -> SimulationReport {
        precondition(stepsRun == 0, "a simulator runs once")
        for node in nodes {
            do {
                node.region = try Region(configuration: node.configuration, storage: node.storage)
            } catch {
                preconditionFailure("a region over empty simulated storage failed to open: \(error)")
            }
        }
        scheduleStart()
        runWritingPhase()
        if failure == nil { runRelayPhase() }
        if failure == nil { runFinalPhase() }
        return makeReport()
    }

    func node(_ id: RegionID) -> SimulatedNode {
        guard let node = nodesByID[id] else { preconditionFailure("\(id) is not a simulated region") }
        return node
    }

    // MARK: Phases

    private func scheduleStart() {
        reconcileConnections()
        for node in nodes {
            queue.schedule(.tick(node.id), at: now + random.uniform(in: 0...Self.tickIntervalMilliseconds))
            queue.schedule(.clockDrift(node.id), at: now + random.uniform(in: 1...1000))
            queue.schedule(.client(node.id), at: now + Self.clientsStartMilliseconds + random.uniform(in: 0...100))
            if configuration.syncPolicy == .normal {
                queue.schedule(.checkpoint(node.id), at: now + random.uniform(in: Self.checkpointIntervalMilliseconds))
            }
        }
        for index in 0..<Self.sessionsCount {
            let home = random.element(of: configuration.regions)
            sessions.append(SessionClient(id: index, region: home))
            queue.schedule(.session(index), at: now + Self.clientsStartMilliseconds + random.uniform(in: 0...200))
        }
        // Each table is created by one region, and now and then concurrently by a second.
        for index in workload.tables.indices {
            let creator = random.element(of: configuration.regions)
            queue.schedule(.createTable(index, creator), at: now + random.uniform(in: 50...300))
            if random.chance(percent: 30) {
                queue.schedule(.createTable(index, random.element(of: configuration.regions)), at: now + random.uniform(in: 50...300))
            }
        }
        if configuration.faults.activeFaultsMax > 0 {
            queue.schedule(.injectFault, at: now + Self.clientsStartMilliseconds + random.uniform(in: configuration.faults.decisionIntervalMilliseconds))
        }
    }

    private func runWritingPhase() {
        while stepsRun < configuration.steps && failure == nil {
            guard processNextEvent() else { return }
        }
    }

    /// Heals everything but one link and checks that its two ends converge through the others.
    private func runRelayPhase() {
        phase = .relay
        clientsActive = false
        healAllFaults()
        guard let pair = relayPair() else { return }
        relayCut = pair
        record("relay: link \(pair) stays cut; every other fault healed")
        reconcileConnections()
        for end in [pair.first, pair.second] {
            guard let key = try? Key("relay-\(end.name)"), let table = workload.tables.first(where: { $0.policy == .lww && $0.regions == nil }) else {
                preconditionFailure("the workload has an lww table in every region")
            }
            let value = JSONValue.string("written in \(end.name) while the link \(pair) is cut")
            enqueue(.client(ClientRequest(operation: .put, table: table, key: key, value: value, request: .putItem(table.name, key, value, .none))),
                    for: node(end))
        }
        guard waitForQuiescence(what: "with the link \(pair) cut, through relay") else { return }
        // A Raft group's follower cut off from its leader stays behind: the consensus tables
        // converge only once the last link heals.
        checkConvergence(includesConsensusTables: false)
    }

    /// Heals the last link; checks convergence and every end-of-run property.
    private func runFinalPhase() {
        phase = .final
        relayCut = nil
        record("final: every link heals")
        reconcileConnections()
        guard waitForQuiescence(what: "after every fault healed") else { return }
        guard let images = checkConvergence(includesConsensusTables: true) else { return }
        if let violation = AcknowledgedWriteChecker.check(acknowledgedWrites, images: images) { return fail(violation) }
        if let violation = residencyChecker.check(images) { return fail(violation) }
        checkConsensusHistory()
    }

    /// A pair whose link can be cut while the others carry everything between its ends: some
    /// third region must hold every table both ends hold (a region outside a table's list
    /// keeps only withheld entries, which it cannot relay to a holder).
    func relayPair() -> RegionPair? {
        let candidates = pairs.filter { pair in
            let shared = workload.tables.filter { table in
                let holders = table.regions ?? configuration.regions
                return holders.contains(pair.first) && holders.contains(pair.second)
            }
            return configuration.regions.contains { third in
                !pair.contains(third) && shared.allSatisfy { ($0.regions ?? configuration.regions).contains(third) }
            }
        }
        return candidates.isEmpty ? nil : random.element(of: candidates)
    }

    /// Processes events until every region has applied every origin's log; fails the run
    /// (a convergence violation: liveness) when that takes longer than the configured bound.
    private func waitForQuiescence(what: String) -> Bool {
        let deadline = now + configuration.quiesceMillisecondsMax
        var events = 0
        while !isQuiescent {
            guard failure == nil else { return false }
            guard now < deadline, events < Self.healingEventsMax, processNextEvent() else {
                let diagnosis = unreachableEntries().map { "; \($0)" } ?? ""
                let groups = phase == .final ? "; Raft groups: \(raftDescription)" : ""
                fail(Violation(.convergence, "the cluster did not converge \(what) within \(configuration.quiesceMillisecondsMax) ms: \(positionsDescription)\(diagnosis)\(groups)"))
                return false
            }
            events += 1
        }
        record("quiescent \(what): \(positionsDescription)")
        return failure == nil
    }

    /// Whether every region is up, every connection that may be up is up, every region
    /// has applied every origin's log through its end, and (in the final phase) the
    /// consensus tables' groups agree everywhere.
    var isQuiescent: Bool {
        guard nodes.allSatisfy(\.isAlive) else { return false }
        for pair in pairs where pair != relayCut && !network.connection(pair).isUp { return false }
        for origin in nodes {
            guard let head = origin.region?.appliedPositions[origin.id] else { return false }
            for node in nodes where (node.region?.appliedPositions[origin.id] ?? 0) < head { return false }
        }
        return phase != .final || consensusIsQuiescent
    }

    /// Why the cluster cannot quiesce, when the logs explain it: an origin's next entry that
    /// some region lacks and no region's log holds any more.
    func unreachableEntries() -> String? {
        for origin in nodes {
            guard let head = origin.region?.appliedPositions[origin.id] else { continue }
            let lagging = nodes.filter { ($0.region?.appliedPositions[origin.id] ?? head) < head }
            guard let lowest = lagging.compactMap({ $0.region?.appliedPositions[origin.id] }).min() else { continue }
            let holders = nodes.filter { node in
                let next = try? node.storage.read { try $0.logEntries(origin: origin.id, after: lowest, limit: 1) }
                return next?.first?.sequence == lowest + 1
            }
            guard holders.isEmpty else { continue }
            return "no region's log holds \(origin.id)#\(lowest + 1) any more, which \(lagging.map(\.id.name).joined(separator: " and ")) lack: they can only catch up from a snapshot"
        }
        return nil
    }

    var positionsDescription: String {
        nodes.map { node in "\(node.id) applied \(node.region.map { describe($0.appliedPositions) } ?? "(down)")" }.joined(separator: "; ")
    }

    /// Reads every region's image and checks that they converged; returns the images.
    @discardableResult
    private func checkConvergence(includesConsensusTables: Bool) -> [RegionImage]? {
        let images: [RegionImage]
        do {
            images = try nodes.map { node in
                try RegionImage.read(region: node.id, from: node.storage, tables: workload.tables.map(\.name), origins: configuration.regions)
            }
        } catch {
            preconditionFailure("simulated storage failed a read: \(error)")
        }
        let consensusTables = Set(workload.tables.filter(\.isConsensus).map(\.name))
        let holders = residencyChecker.regionsByTable.filter { includesConsensusTables || !consensusTables.contains($0.key) }
        if let violation = ConvergenceChecker.check(images, holders: holders) {
            fail(violation)
            return nil
        }
        return images
    }

    // MARK: Failures and trace

    func fail(_ violation: Violation) {
        guard failure == nil else { return }
        record("VIOLATION \(violation)")
        failure = SimulationFailure(step: stepsRun, simulatedMilliseconds: now - Self.startMilliseconds, phase: phase.rawValue,
                                    violation: violation, trace: trace.tailLines)
    }

    /// Adds a trace line, stamped with the virtual time since the start.
    func record(_ line: String) {
        trace.record("\(Self.formatElapsed(now - Self.startMilliseconds)) \(line)")
    }

    /// Milliseconds as seconds with three decimals, e.g. `+12.345`.
    static func formatElapsed(_ milliseconds: UInt64) -> String {
        let fraction = String(milliseconds % 1000)
        return "+\(milliseconds / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)"
    }
}
