import Foundation
import Logging
import MeridianCore
import MeridianRegion
@testable import MeridianNode
import MeridianReplication
import MeridianWire
import NIOCore
import NIOPosix
import Testing

/// Live tests of the peer transport over loopback TCP.
struct PeerTransportTests {
    static let apSouth = try! RegionID("ap-south")
    static let euWest = try! RegionID("eu-west")
    static let usEast = try! RegionID("us-east")

    @Test func twoRegionsHandshakeAndExchangeMessagesBothWays() async throws {
        try await withCluster([Self.apSouth, Self.euWest]) { cluster in
            let ap = cluster[Self.apSouth], eu = cluster[Self.euWest]
            #expect(await eventually { ap.recorder.isConnected(Self.euWest) && eu.recorder.isConnected(Self.apSouth) })
            #expect(ap.transport.isConnected(Self.euWest) && eu.transport.isConnected(Self.apSouth))
            #expect(ap.transport.send(numbered(1), to: Self.euWest))
            #expect(eu.transport.send(.replication(.ack(Positions([Self.euWest: 9]))), to: Self.apSouth))
            #expect(await eventually { eu.recorder.messages(from: Self.apSouth) == [numbered(1)] })
            #expect(await eventually { ap.recorder.messages(from: Self.euWest) == [.replication(.ack(Positions([Self.euWest: 9])))] })
            #expect(ap.recorder.connectionEvents == [.connected(Self.euWest)])
        }
    }

    @Test func threeRegionsConnectEveryPair() async throws {
        let regions = [Self.apSouth, Self.euWest, Self.usEast]
        try await withCluster(regions) { cluster in
            for region in regions {
                let member = cluster[region]
                #expect(await eventually { regions.allSatisfy { $0 == region || member.transport.isConnected($0) } })
                for peer in regions where peer != region {
                    #expect(member.transport.send(.replication(.catchUp(Positions([region: 1]))), to: peer))
                }
            }
            for region in regions {
                let others = Set(regions.filter { $0 != region })
                #expect(await eventually { Set(cluster[region].recorder.senders) == others })
            }
        }
    }

    @Test func aMessageToAnUnconnectedPeerIsRefused() async throws {
        try await withCluster([Self.euWest]) { cluster in
            #expect(!cluster[Self.euWest].transport.send(numbered(1), to: Self.apSouth))
            #expect(!cluster[Self.euWest].transport.isConnected(Self.apSouth))
        }
    }

    @Test func anInjectedDelayHoldsEveryFrameAtLeastThatLong() async throws {
        let delayMilliseconds = 50.0
        try await withCluster([Self.apSouth, Self.euWest], delays: [Self.apSouth: [Self.euWest: delayMilliseconds]]) { cluster in
            let ap = cluster[Self.apSouth], eu = cluster[Self.euWest]
            #expect(await eventually { ap.transport.isConnected(Self.euWest) })
            for index in 0..<3 {
                let sent = ContinuousClock.now
                #expect(ap.transport.send(numbered(UInt64(index)), to: Self.euWest))
                #expect(await eventually { eu.recorder.messages(from: Self.apSouth).count == index + 1 })
                let arrival = try #require(eu.recorder.arrivals.last)
                #expect(arrival - sent >= .milliseconds(delayMilliseconds), "arrived after \(arrival - sent)")
            }
        }
    }

    @Test func orderIsPreservedUnderDelayForAThousandMessages() async throws {
        try await withCluster([Self.apSouth, Self.euWest], delays: [Self.euWest: [Self.apSouth: 20]]) { cluster in
            let ap = cluster[Self.apSouth], eu = cluster[Self.euWest]
            #expect(await eventually { eu.transport.isConnected(Self.apSouth) })
            let sequence = (0..<1000).map { numbered(UInt64($0)) }
            for message in sequence {
                #expect(eu.transport.send(message, to: Self.apSouth))
            }
            #expect(await eventually { ap.recorder.messages(from: Self.euWest).count == sequence.count })
            #expect(ap.recorder.messages(from: Self.euWest) == sequence)
        }
    }

    @Test func cuttingOutboundDropsFramesAndHealingResumes() async throws {
        try await withCluster([Self.apSouth, Self.euWest]) { cluster in
            let ap = cluster[Self.apSouth], eu = cluster[Self.euWest]
            #expect(await eventually { ap.transport.isConnected(Self.euWest) })
            ap.transport.send(numbered(1), to: Self.euWest)
            ap.transport.setLinkCut(to: Self.euWest, direction: .outbound, cut: true)
            ap.transport.send(numbered(2), to: Self.euWest)
            #expect(ap.transport.isConnected(Self.euWest), "a cut keeps the connection up")
            ap.transport.setLinkCut(to: Self.euWest, direction: .outbound, cut: false)
            ap.transport.send(numbered(3), to: Self.euWest)
            // Frames on one connection arrive in order, so once 3 is in, 2 will never come.
            #expect(await eventually { eu.recorder.messages(from: Self.apSouth).count == 2 })
            #expect(eu.recorder.messages(from: Self.apSouth) == [numbered(1), numbered(3)])
        }
    }

    @Test func cuttingInboundDropsReceivedFramesAndHealingResumes() async throws {
        try await withCluster([Self.apSouth, Self.euWest]) { cluster in
            let ap = cluster[Self.apSouth], eu = cluster[Self.euWest]
            #expect(await eventually { eu.transport.isConnected(Self.apSouth) })
            eu.transport.setLinkCut(to: Self.apSouth, direction: .both, cut: true)
            ap.transport.send(numbered(1), to: Self.euWest)
            eu.transport.send(numbered(2), to: Self.apSouth)
            // A negative can only be observed by waiting; loopback delivers in well under this.
            try await Task.sleep(for: .milliseconds(200))
            #expect(eu.recorder.messages(from: Self.apSouth).isEmpty)
            #expect(ap.recorder.messages(from: Self.euWest).isEmpty)
            #expect(eu.transport.isConnected(Self.apSouth) && ap.transport.isConnected(Self.euWest))
            eu.transport.setLinkCut(to: Self.apSouth, direction: .both, cut: false)
            ap.transport.send(numbered(3), to: Self.euWest)
            eu.transport.send(numbered(4), to: Self.apSouth)
            #expect(await eventually { eu.recorder.messages(from: Self.apSouth) == [numbered(3)] })
            #expect(await eventually { ap.recorder.messages(from: Self.euWest) == [numbered(4)] })
        }
    }

    /// A peer that stops delivering (frozen, or cut off) keeps its connection but grows
    /// silent; one message makes it heard again. The forwarder reads this (issue 15, item 6).
    @Test func aPeerThatDeliversNothingGrowsSilentWhileItsConnectionStaysUp() async throws {
        try await withCluster([Self.apSouth, Self.euWest]) { cluster in
            let ap = cluster[Self.apSouth], eu = cluster[Self.euWest]
            #expect(await eventually { eu.transport.isConnected(Self.apSouth) })
            #expect(eu.transport.silenceMilliseconds(of: try RegionID("us-east")) == nil, "no connection: no silence to measure")
            eu.transport.setLinkCut(to: Self.apSouth, direction: .inbound, cut: true)
            let cut = ContinuousClock.now
            ap.transport.send(numbered(1), to: Self.euWest)
            try await Task.sleep(for: .milliseconds(300))
            let waited = Int64(((ContinuousClock.now - cut) / .milliseconds(1)).rounded(.down))
            #expect((eu.transport.silenceMilliseconds(of: Self.apSouth) ?? 0) >= waited - 1, "nothing was delivered since the cut")
            #expect(eu.transport.isConnected(Self.apSouth))
            eu.transport.setLinkCut(to: Self.apSouth, direction: .inbound, cut: false)
            ap.transport.send(numbered(2), to: Self.euWest)
            #expect(await eventually { eu.recorder.messages(from: Self.apSouth) == [numbered(2)] })
            #expect((eu.transport.silenceMilliseconds(of: Self.apSouth) ?? .max) < waited, "heard again")
        }
    }

    @Test func aFullSendQueueRefusesFurtherMessages() async throws {
        // A long delay keeps every frame queued, so the bound is reached without a slow socket.
        try await withCluster([Self.apSouth, Self.euWest], delays: [Self.apSouth: [Self.euWest: 60_000]]) { cluster in
            let ap = cluster[Self.apSouth]
            #expect(await eventually { ap.transport.isConnected(Self.euWest) })
            let large = PeerMessage.replication(.snapshot(SnapshotChunk(transfer: 1, index: 0, positions: Positions(), catalog: [], items: [
                SnapshotItem(table: try TableName("t"), key: try Key("k"), record: ItemRecord(
                    vector: VersionVector([Self.apSouth: 1]), version: ItemVersion(timestamp: .zero, origin: Self.apSouth),
                    root: .string(String(repeating: "x", count: 1 << 20)))),
            ], isFinal: true)))
            let frameBytes = encode(.message(large)).count
            let fitting = PeerTransport.sendQueueBytesMax / frameBytes
            for _ in 0..<fitting {
                #expect(ap.transport.send(large, to: Self.euWest))
            }
            #expect(!ap.transport.send(large, to: Self.euWest), "the queue holds \(fitting) frames of \(frameBytes) bytes")
            #expect(ap.transport.isConnected(Self.euWest))
        }
    }

    @Test func anEntriesBatchLargerThanAFrameArrivesSplitInOrder() async throws {
        try await withCluster([Self.apSouth, Self.euWest]) { cluster in
            let ap = cluster[Self.apSouth], eu = cluster[Self.euWest]
            #expect(await eventually { ap.transport.isConnected(Self.euWest) })
            let table = CatalogRecord(name: try TableName("t"), definition: nil,
                                      version: ItemVersion(timestamp: .zero, origin: Self.apSouth), deletedBefore: .zero)
            let entries = try (1...9).map { sequence in
                LogEntry(origin: Self.apSouth, sequence: UInt64(sequence), timestamp: .zero, payload: .item(
                    table: table, key: try Key("k\(sequence)"), record: ItemRecord(
                        vector: VersionVector([Self.apSouth: UInt64(sequence)]), version: ItemVersion(timestamp: .zero, origin: Self.apSouth),
                        root: .string(String(repeating: "v", count: 1 << 20)))))
            }
            #expect(encode(.message(.replication(.entries(entries)))).count > Wire.frameBytesMax)
            #expect(ap.transport.send(.replication(.entries(entries)), to: Self.euWest))
            let received = { eu.recorder.messages(from: Self.apSouth).flatMap { message -> [LogEntry] in
                guard case .replication(.entries(let batch)) = message else { return [] }
                return batch
            } }
            #expect(await eventually { received().count == entries.count })
            #expect(received() == entries)
            #expect(eu.recorder.messages(from: Self.apSouth).count > 1)
        }
    }

    @Test func hostileConnectionsAreClosedAndTheRealPeerIsStillServed() async throws {
        try await withCluster([Self.apSouth, Self.euWest]) { cluster in
            let ap = cluster[Self.apSouth], eu = cluster[Self.euWest]
            #expect(await eventually { eu.transport.isConnected(Self.apSouth) })
            let port = try #require(eu.transport.boundPort)
            let inputs: [(String, [UInt8])] = [
                ("text instead of frames", Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8)),
                ("an oversized frame", [0x7f, 0xff, 0xff, 0xff, 1]),
                ("an unknown frame kind", [0, 0, 0, 1, 0xee]),
                ("a message before the handshake", encode(.message(.replication(.ack(Positions()))))),
                ("another cluster", encode(.hello(Hello(clusterID: "other", region: Self.apSouth)))),
                ("an unknown region", encode(.hello(Hello(clusterID: "test", region: Self.usEast)))),
                ("its own region", encode(.hello(Hello(clusterID: "test", region: Self.euWest)))),
                ("an unsupported version", encode(.hello(Hello(protocolVersion: Wire.protocolVersion + 1, clusterID: "test", region: Self.apSouth)))),
            ]
            for (name, bytes) in inputs {
                let channel = try await rawConnection(port: port)
                try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
                // Well inside the handshake timeout, so that only the refusal can close it in time.
                #expect(await eventually(within: 2) { !channel.isActive }, "the transport closes a connection sending \(name)")
            }
            #expect(eu.transport.isConnected(Self.apSouth))
            #expect(ap.transport.send(numbered(7), to: Self.euWest))
            #expect(await eventually { eu.recorder.messages(from: Self.apSouth) == [numbered(7)] })
        }
    }

    @Test func aSecondConnectionFromTheSamePeerLeavesOneConnection() async throws {
        try await withCluster([Self.apSouth, Self.euWest]) { cluster in
            let ap = cluster[Self.apSouth], eu = cluster[Self.euWest]
            #expect(await eventually { eu.transport.isConnected(Self.apSouth) })
            // An impostor handshakes as ap-south: the newer connection wins, the real one is
            // closed, the real dialer reconnects and wins in turn.
            let impostor = try await rawConnection(port: try #require(eu.transport.boundPort))
            try await impostor.writeAndFlush(ByteBuffer(bytes: encode(.hello(Hello(clusterID: "test", region: Self.apSouth)))))
            #expect(await eventually { !impostor.isActive })
            #expect(await eventually { eu.transport.isConnected(Self.apSouth) && ap.transport.isConnected(Self.euWest) })
            #expect(await eventually {
                ap.transport.send(numbered(1), to: Self.euWest)
                return !eu.recorder.messages(from: Self.apSouth).isEmpty
            })
        }
    }

    @Test func aRestartedAcceptorIsReconnectedAutomatically() async throws {
        try await withCluster([Self.apSouth, Self.euWest]) { cluster in
            let ap = cluster[Self.apSouth], eu = cluster[Self.euWest]
            #expect(await eventually { ap.transport.isConnected(Self.euWest) })
            let port = try #require(eu.transport.boundPort)
            await eu.transport.shutdown()
            #expect(await eventually { !ap.transport.isConnected(Self.euWest) })
            #expect(await eventually { ap.recorder.connectionEvents == [.connected(Self.euWest), .disconnected(Self.euWest)] })
            let restarted = try await cluster.restart(Self.euWest, port: port)
            #expect(await eventually { ap.transport.isConnected(Self.euWest) && restarted.transport.isConnected(Self.apSouth) })
            #expect(await eventually {
                ap.transport.send(numbered(2), to: Self.euWest)
                return !restarted.recorder.messages(from: Self.apSouth).isEmpty
            })
        }
    }

    @Test func aRestartedDialerReconnects() async throws {
        try await withCluster([Self.apSouth, Self.euWest]) { cluster in
            let eu = cluster[Self.euWest]
            #expect(await eventually { eu.transport.isConnected(Self.apSouth) })
            let port = try #require(cluster[Self.apSouth].transport.boundPort)
            await cluster[Self.apSouth].transport.shutdown()
            #expect(await eventually { !eu.transport.isConnected(Self.apSouth) })
            let restarted = try await cluster.restart(Self.apSouth, port: port)
            #expect(await eventually { eu.transport.isConnected(Self.apSouth) && restarted.transport.isConnected(Self.euWest) })
            #expect(eu.transport.send(numbered(5), to: Self.apSouth))
            #expect(await eventually { restarted.recorder.messages(from: Self.euWest) == [numbered(5)] })
        }
    }

    @Test func theReconnectDelayDoublesUpToItsCap() {
        let delays = (0..<100).map(PeerTransport.reconnectDelay(attempt:))
        #expect(delays.first == PeerTransport.reconnectDelayMillisecondsMin)
        #expect(delays[1] == 2 * PeerTransport.reconnectDelayMillisecondsMin)
        #expect(zip(delays, delays.dropFirst()).allSatisfy { $0 <= $1 })
        #expect(delays.last == PeerTransport.reconnectDelayMillisecondsMax)
    }
}

// MARK: - Harness

/// A numbered message, to check order and loss.
private func numbered(_ number: UInt64) -> PeerMessage {
    .replication(.heartbeat(Heartbeat(latestSequence: number, latestTimestamp: .zero, wallMilliseconds: 0, applied: Positions())))
}

/// Polls `condition` every few milliseconds until it holds or `seconds` pass.
private func eventually(within seconds: Double = 5, _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(seconds * 1000)
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return condition()
}

/// Records what a transport tells its delegate.
private final class Recorder: PeerTransportDelegate, @unchecked Sendable {
    enum ConnectionEvent: Equatable {
        case connected(RegionID)
        case disconnected(RegionID)
    }

    private let lock = NSLock()
    private var events: [ConnectionEvent] = []
    private var received: [(message: PeerMessage, peer: RegionID, arrival: ContinuousClock.Instant)] = []

    func peerConnected(_ peer: RegionID) { lock.withLock { events.append(.connected(peer)) } }
    func peerDisconnected(_ peer: RegionID) { lock.withLock { events.append(.disconnected(peer)) } }
    func received(_ message: PeerMessage, from peer: RegionID) {
        let now = ContinuousClock.now
        lock.withLock { received.append((message, peer, now)) }
    }

    var connectionEvents: [ConnectionEvent] { lock.withLock { events } }
    var senders: [RegionID] { lock.withLock { received.map(\.peer) } }
    var arrivals: [ContinuousClock.Instant] { lock.withLock { received.map(\.arrival) } }

    /// Whether the last connection event for `peer` is a connection.
    func isConnected(_ peer: RegionID) -> Bool {
        lock.withLock { events.last { $0 == .connected(peer) || $0 == .disconnected(peer) } == .connected(peer) }
    }

    func messages(from peer: RegionID) -> [PeerMessage] {
        lock.withLock { received.filter { $0.peer == peer }.map(\.message) }
    }
}

/// Transports on loopback, one per region, with the addresses of each other.
private final class TestCluster: @unchecked Sendable {
    struct Member {
        let transport: PeerTransport
        let recorder: Recorder
    }

    let regions: [RegionID]
    let delays: [RegionID: [RegionID: Double]]
    private let lock = NSLock()
    private var members: [RegionID: Member] = [:]
    private var ports: [RegionID: Int] = [:]
    /// Every transport ever started, for shutdown.
    private var started: [PeerTransport] = []

    init(regions: [RegionID], delays: [RegionID: [RegionID: Double]]) {
        self.regions = regions
        self.delays = delays
    }

    subscript(region: RegionID) -> Member { lock.withLock { members[region]! } }

    /// Starts every region on port 0, highest name first: a region dials only the regions
    /// named above it, whose ports are then known.
    func start() async throws {
        for region in regions.sorted(by: >) {
            _ = try await start(region, port: 0)
        }
    }

    /// Starts a new transport for `region` on `port`, replacing the old member.
    func restart(_ region: RegionID, port: Int) async throws -> Member {
        try await start(region, port: port)
    }

    private func start(_ region: RegionID, port: Int) async throws -> Member {
        let knownPorts = lock.withLock { ports }
        var peers: [RegionID: HostAndPort] = [:]
        for peer in regions where peer != region {
            // Only the addresses of higher-named peers are dialed; the others are placeholders.
            peers[peer] = HostAndPort("127.0.0.1:\(peer > region ? knownPorts[peer]! : 1)")!
        }
        let recorder = Recorder()
        var logger = Logger(label: "peer-transport-test.\(region)")
        logger.logLevel = .critical
        let transport = PeerTransport(local: region, listen: HostAndPort("127.0.0.1:\(port)")!, peers: peers, clusterID: "test",
                                      oneWayDelayMilliseconds: delays[region] ?? [:], delegate: recorder,
                                      group: MultiThreadedEventLoopGroup.singleton, logger: logger)
        lock.withLock { started.append(transport) }
        try await transport.start()
        let member = Member(transport: transport, recorder: recorder)
        lock.withLock {
            members[region] = member
            ports[region] = transport.boundPort
        }
        return member
    }

    func shutdown() async {
        for transport in lock.withLock({ started }) {
            await transport.shutdown()
        }
    }
}

/// Runs `body` against a started cluster and always shuts it down.
private func withCluster(_ regions: [RegionID], delays: [RegionID: [RegionID: Double]] = [:],
                         _ body: (TestCluster) async throws -> Void) async throws {
    let cluster = TestCluster(regions: regions, delays: delays)
    do {
        try await cluster.start()
        try await body(cluster)
    } catch {
        await cluster.shutdown()
        throw error
    }
    await cluster.shutdown()
}

/// A plain TCP connection to a transport's listener, to send it arbitrary bytes.
private func rawConnection(port: Int) async throws -> any Channel {
    try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: port).get()
}
