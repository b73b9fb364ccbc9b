import MeridianCore
import MeridianRegion
import MeridianReplication
@testable import MeridianSimulation
import MeridianStorage
import Testing

/// The simulated world's parts: random source, scheduler, clocks, network and storage.
struct WorldTests {
    static let east = try! RegionID("us-east")
    static let west = try! RegionID("eu-west")

    // MARK: Random source

    @Test func oneSeedDrawsOneSequence() {
        var first = SimulationRandom(seed: 42)
        var second = SimulationRandom(seed: 42)
        var other = SimulationRandom(seed: 43)
        let draws = (0..<100).map { _ in first.next() }
        #expect(draws == (0..<100).map { _ in second.next() })
        #expect(draws != (0..<100).map { _ in other.next() })
    }

    @Test func boundedDrawsStayInTheirRangesAndReachBothEnds() {
        var random = SimulationRandom(seed: 1)
        var seen: Set<Int> = []
        for _ in 0..<2000 {
            let draw = random.integer(in: -3...3)
            #expect((-3...3).contains(draw))
            seen.insert(draw)
        }
        #expect(seen == Set(-3...3))
        for _ in 0..<100 {
            let never = random.chance(percent: 0), always = random.chance(percent: 100), index = random.weightedIndex([0, 5, 0])
            #expect(!never && always && index == 1)
        }
    }

    // MARK: Scheduler

    @Test func eventsRunByTimeThenBySchedulingOrder() {
        var queue = EventQueue()
        queue.schedule(.tick(Self.west), at: 20)
        queue.schedule(.tick(Self.east), at: 10)
        queue.schedule(.client(Self.east), at: 20)
        queue.schedule(.injectFault, at: 10)
        var order: [String] = []
        while let next = queue.next() { order.append("\(next.time) \(next.event)") }
        #expect(order == ["10 tick(us-east)", "10 injectFault", "20 tick(eu-west)", "20 client(us-east)"])
    }

    // MARK: Clocks

    @Test func clockOffsetsStayWithinTheirBoundThroughDriftAndJumps() {
        var random = SimulationRandom(seed: 9)
        var clock = SimulatedClock(boundMilliseconds: 200, random: &random)
        for step in 0..<5000 {
            if step % 50 == 0 { _ = clock.jump(random: &random) } else { clock.driftOneSecond(random: &random) }
            #expect(abs(clock.offsetMilliseconds) <= 200)
        }
        clock.excursionMilliseconds = 900
        #expect(clock.wallMilliseconds(at: 1_000_000) == UInt64(1_000_000 + 900 + clock.offsetMilliseconds))
    }

    // MARK: Network

    static func connectedNetwork(dropsRelayedEntries: Bool = false) -> SimulatedNetwork {
        let pair = RegionPair(east, west)
        var network = SimulatedNetwork(pairs: [pair], dropsRelayedEntries: dropsRelayedEntries)
        network.bringUp(pair)
        return network
    }

    @Test func aHealthyLinkDeliversInOrderAfterItsDelay() {
        var network = Self.connectedNetwork()
        var random = SimulationRandom(seed: 3)
        var times: [UInt64] = []
        for index in 0..<50 {
            let deliveries = network.transmit(.replication(.ack(Positions([Self.east: UInt64(index + 1)]))), from: Self.east, to: Self.west, now: 1000 + UInt64(index), random: &random)
            #expect(deliveries.count == 1)
            times += deliveries.map(\.time)
        }
        #expect(times == times.sorted(), "a connection is FIFO")
        #expect(times.allSatisfy { $0 >= 1000 + 35 }, "us-east to eu-west takes at least 35 ms")
    }

    @Test func aOneWayCutDropsOneDirectionOnly() {
        var network = Self.connectedNetwork()
        var random = SimulationRandom(seed: 3)
        network.begin(.oneWay(Link(from: Self.east, to: Self.west)), id: 1)
        #expect(network.transmit(.replication(.ack(Positions())), from: Self.east, to: Self.west, now: 0, random: &random).isEmpty)
        #expect(network.transmit(.replication(.ack(Positions())), from: Self.west, to: Self.east, now: 0, random: &random).count == 1)
        #expect(!network.isCut(RegionPair(Self.east, Self.west)), "the connection stays up")
        network.end(faultID: 1)
        #expect(network.transmit(.replication(.ack(Positions())), from: Self.east, to: Self.west, now: 0, random: &random).count == 1)
    }

    @Test func aMessageNeverOutlivesItsConnection() {
        var network = Self.connectedNetwork()
        var random = SimulationRandom(seed: 3)
        let pair = RegionPair(Self.east, Self.west)
        let envelope = network.transmit(.replication(.ack(Positions())), from: Self.east, to: Self.west, now: 0, random: &random)[0].envelope
        network.bringDown(pair)
        network.bringUp(pair)
        let admitted = network.admits(envelope)
        #expect(!admitted, "sent on epoch 1, arriving on epoch 2")
    }

    @Test func theDropRelayMutationKeepsOnlyTheSendersOwnEntries() {
        var network = Self.connectedNetwork(dropsRelayedEntries: true)
        var random = SimulationRandom(seed: 3)
        let own = LogEntry(origin: Self.east, sequence: 1, timestamp: .zero, payload: .withheld(table: try! TableName("t")))
        let relayed = LogEntry(origin: Self.west, sequence: 1, timestamp: .zero, payload: .withheld(table: try! TableName("t")))
        let mixed = network.transmit(.replication(.entries([relayed, own])), from: Self.east, to: Self.west, now: 0, random: &random)
        #expect(mixed.map(\.envelope.message) == [.replication(.entries([own]))])
        #expect(network.transmit(.replication(.entries([relayed])), from: Self.east, to: Self.west, now: 0, random: &random).isEmpty)
        #expect(network.counters.relayDiscarded == 2)
    }

    // MARK: Storage

    @Test(arguments: StorageConformance.cases, SyncPolicy.allCases)
    func simulatedStorageConforms(_ check: StorageConformance.Case, policy: SyncPolicy) throws {
        try check.run(makeStorage: { SimulatedStorage(syncPolicy: policy) })
    }

    static func putMetadata(_ storage: SimulatedStorage, _ value: UInt8) throws {
        try storage.write { try $0.setMetadata("m", [value]) }
    }

    static func metadata(_ storage: SimulatedStorage) throws -> [UInt8]? {
        try storage.read { try $0.metadata("m") }
    }

    @Test func fullSyncLosesNothingToAPowerLoss() throws {
        let storage = SimulatedStorage(syncPolicy: .full)
        try Self.putMetadata(storage, 1)
        #expect(storage.losePower() == 0)
        #expect(try Self.metadata(storage) == [1])
    }

    @Test func normalSyncLosesTheCommitsSinceTheLastCheckpoint() throws {
        let storage = SimulatedStorage(syncPolicy: .normal)
        try Self.putMetadata(storage, 1)
        storage.checkpoint()
        try Self.putMetadata(storage, 2)
        try Self.putMetadata(storage, 3)
        #expect(try Self.metadata(storage) == [3], "a process crash keeps every commit: readers see them")
        #expect(storage.losePower() == 2)
        #expect(try Self.metadata(storage) == [1])
        #expect(storage.durableCommitCount == 1 && storage.commitCount == 3)
    }

    @Test func theSkipLedgerMutationDropsConflictRowsSilently() throws {
        let storage = SimulatedStorage(syncPolicy: .full, dropsConflictRows: true)
        let table = try TableName("t")
        let version = ItemVersion(timestamp: .zero, origin: Self.east)
        try storage.write { writer in
            try writer.appendConflict(table: table, ConflictEntry(key: try Key("k"), overwritten: OverwrittenValue(value: nil, version: version, winner: version),
                                                                  detectedBy: Self.east))
        }
        #expect(try storage.read { try $0.conflicts(table: table, afterID: 0, limit: 10) }.isEmpty)
    }

    @Test func committedItemsAreReportedOnceForTheCheckers() throws {
        let storage = SimulatedStorage(syncPolicy: .full)
        let table = try TableName("t")
        let item = StoredItem(key: try Key("k"), value: .integer(1), version: ItemVersion(timestamp: .zero, origin: Self.east))
        try storage.write { try $0.putItem(table: table, item) }
        #expect(storage.takeItemWrites() == [SimulatedStorage.ItemWrite(table: table, item: item)])
        #expect(storage.takeItemWrites().isEmpty)
    }
}
