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

/// The peer secret's challenge-response: the exchange itself, and a real transport that
/// refuses a peer with the wrong secret before anything it sent is applied.
struct PeerAuthenticationTests {
    static let apSouth = try! RegionID("ap-south")
    static let euWest = try! RegionID("eu-west")
    static let usEast = try! RegionID("us-east")
    static let secret = String(repeating: "7", count: 64)

    // MARK: The exchange

    static let direct = PeerAuthentication.ConnectionAddresses(dialer: "10.0.0.1:40000", acceptor: "10.0.0.2:7101")

    /// An exchange as one side of a connection between ap-south (dialer) and eu-west.
    static func side(_ role: PeerAuthentication.Role, secret: String = secret, cluster: String = "c",
                     addresses: PeerAuthentication.ConnectionAddresses? = direct, nonce: [UInt8] = PeerAuthentication.randomNonce()) -> PeerAuthentication {
        role == .dialer
            ? PeerAuthentication(secret: secret, clusterID: cluster, role: .dialer, local: apSouth, acceptedPeers: [euWest], addresses: addresses, nonce: nonce)
            : PeerAuthentication(secret: secret, clusterID: cluster, role: .acceptor, local: euWest, acceptedPeers: [apSouth, usEast], addresses: addresses, nonce: nonce)
    }

    /// Runs two exchanges against each other, passing every byte each sends to the other
    /// as it is (a direct connection, or a relay that only copies); returns what each ended with.
    private func run(_ dialer: inout PeerAuthentication, _ acceptor: inout PeerAuthentication) -> (dialer: [PeerAuthentication.Action], acceptor: [PeerAuthentication.Action]) {
        let dialerChallenge = dialer.challenge, acceptorChallenge = acceptor.challenge
        var toAcceptor = dialerChallenge, toDialer = acceptorChallenge
        var dialerActions = dialer.receive(toDialer)
        var acceptorActions = acceptor.receive(toAcceptor)
        toAcceptor = dialerActions.compactMap { if case .send(let bytes) = $0 { bytes } else { nil } }.flatMap { $0 }
        toDialer = acceptorActions.compactMap { if case .send(let bytes) = $0 { bytes } else { nil } }.flatMap { $0 }
        if !dialer.isAuthenticated, !dialerActions.contains(where: { if case .refuse = $0 { true } else { false } }) { dialerActions += dialer.receive(toDialer) }
        if !acceptor.isAuthenticated, !acceptorActions.contains(where: { if case .refuse = $0 { true } else { false } }) { acceptorActions += acceptor.receive(toAcceptor) }
        return (dialerActions, acceptorActions)
    }

    private func refused(_ actions: [PeerAuthentication.Action]) -> Bool {
        actions.contains { if case .refuse = $0 { true } else { false } }
    }

    @Test func twoSidesWithTheSameSecretOnOneConnectionAuthenticateEachOther() {
        var dialer = Self.side(.dialer)
        var acceptor = Self.side(.acceptor)
        let (dialerActions, acceptorActions) = run(&dialer, &acceptor)
        #expect(dialer.isAuthenticated && acceptor.isAuthenticated)
        #expect(dialerActions.last == .authenticated(leftover: []))
        #expect(acceptorActions.last == .authenticated(leftover: []))
        #expect(dialer.authenticatedPeer == Self.euWest && acceptor.authenticatedPeer == Self.apSouth)
    }

    @Test func aDifferentSecretOrClusterIsRefusedOnBothSides() {
        for (secret, cluster) in [(String(repeating: "8", count: 64), "c"), (Self.secret, "other")] {
            var dialer = Self.side(.dialer, secret: secret, cluster: cluster)
            var acceptor = Self.side(.acceptor)
            let (dialerActions, acceptorActions) = run(&dialer, &acceptor)
            #expect(!dialer.isAuthenticated && !acceptor.isAuthenticated)
            #expect(refused(acceptorActions) && refused(dialerActions))
        }
    }

    /// Issue 15, item 7: a relay with an address of its own copies every byte between two
    /// real regions; each region sees the relay's address where the other sees its peer's,
    /// so the proofs cover different connections and both sides refuse.
    @Test func aRelayBetweenTwoRegionsCannotPassTheChallenge() {
        var dialer = Self.side(.dialer, addresses: .init(dialer: "10.0.0.1:40000", acceptor: "10.0.0.66:7101"))
        var acceptor = Self.side(.acceptor, addresses: .init(dialer: "10.0.0.66:51000", acceptor: "10.0.0.2:7101"))
        let (dialerActions, acceptorActions) = run(&dialer, &acceptor)
        #expect(!dialer.isAuthenticated && !acceptor.isAuthenticated)
        #expect(refused(dialerActions) && refused(acceptorActions))
        // The same relay passes an exchange bound to no address: what version 1 allowed.
        var unboundDialer = Self.side(.dialer, addresses: nil)
        var unboundAcceptor = Self.side(.acceptor, addresses: nil)
        _ = run(&unboundDialer, &unboundAcceptor)
        #expect(unboundDialer.isAuthenticated && unboundAcceptor.isAuthenticated)
    }

    @Test func aPeerNamingAnotherRegionThanTheOneDialedIsRefused() {
        var dialer = Self.side(.dialer)
        var impostor = PeerAuthentication(secret: Self.secret, clusterID: "c", role: .acceptor, local: Self.usEast,
                                          acceptedPeers: [Self.apSouth], addresses: Self.direct, nonce: PeerAuthentication.randomNonce())
        let (dialerActions, _) = run(&dialer, &impostor)
        #expect(refused(dialerActions), "ap-south dialed eu-west; us-east answered")
        #expect(!dialer.isAuthenticated)
    }

    @Test func aReflectedProofIsRefused() {
        // An attacker who does not know the secret answers with our own nonce: refused.
        let nonce = PeerAuthentication.randomNonce()
        var acceptor = Self.side(.acceptor, nonce: nonce)
        var echoing = Self.side(.dialer, nonce: nonce)
        #expect(refused(acceptor.receive(echoing.challenge)))
        #expect(refused(echoing.receive(Self.side(.acceptor, nonce: nonce).challenge)))

        // The attacker dials two acceptors and hands each one's proof to the other: an
        // acceptor's proof never passes for a dialer's.
        var victim = Self.side(.acceptor)
        var helper = Self.side(.acceptor)
        let attacker = Self.side(.dialer)
        _ = victim.receive(attacker.challenge)
        guard case .send(let helperProof)? = helper.receive(attacker.challenge).first else { Issue.record("no helper proof"); return }
        #expect(refused(victim.receive(helperProof)), "an acceptor's proof must not pass for a dialer's")
        #expect(!victim.isAuthenticated)
    }

    @Test func garbageInsteadOfAChallengeIsRefused() {
        var acceptor = Self.side(.acceptor)
        let actions = acceptor.receive(encode(.hello(Hello(clusterID: "c", region: Self.apSouth))) + Array(repeating: 0, count: 64))
        #expect(actions.count == 1)
        #expect(refused(actions))
    }

    // MARK: A live transport

    @Test func aPeerWithTheWrongSecretIsDisconnectedAndItsFramesAreNotApplied() async throws {
        try await withAcceptor { transport, recorder, port in
            let attacker = try RawPeer(port: port)
            defer { attacker.close() }
            let challenge = try attacker.read(PeerAuthentication.challengeHeaderBytes + "eu-west".utf8.count)
            // Plays the dialer with a wrong secret, and sends its Hello and a message in the
            // same write as its proof, as an impatient attacker would.
            var forged = PeerAuthentication(secret: String(repeating: "x", count: 64), clusterID: "test", role: .dialer, local: Self.apSouth,
                                            acceptedPeers: [Self.euWest], addresses: attacker.addresses(acceptorPort: port), nonce: PeerAuthentication.randomNonce())
            var bytes = forged.challenge
            for case .send(let proof) in forged.receive(challenge) { bytes += proof }
            bytes += encode(.hello(Hello(clusterID: "test", region: Self.apSouth)))
            bytes += encode(.message(.replication(.ack(Positions([Self.apSouth: 42])))))
            try attacker.write(bytes)
            #expect(try attacker.readUntilClosed(), "the acceptor closes the connection")
            #expect(recorder.events.isEmpty, "nothing reached the region: \(recorder.events)")
            #expect(!transport.isConnected(Self.apSouth))
        }
    }

    @Test func aPeerWithTheRightSecretIsServed() async throws {
        try await withAcceptor { transport, recorder, port in
            let peer = try RawPeer(port: port)
            defer { peer.close() }
            let challenge = try peer.read(PeerAuthentication.challengeHeaderBytes + "eu-west".utf8.count)
            var exchange = PeerAuthentication(secret: Self.secret, clusterID: "test", role: .dialer, local: Self.apSouth,
                                              acceptedPeers: [Self.euWest], addresses: peer.addresses(acceptorPort: port), nonce: PeerAuthentication.randomNonce())
            var bytes = exchange.challenge
            for case .send(let proof) in exchange.receive(challenge) { bytes += proof }
            bytes += encode(.hello(Hello(clusterID: "test", region: Self.apSouth)))
            bytes += encode(.message(.replication(.ack(Positions([Self.apSouth: 42])))))
            try peer.write(bytes)
            let acceptorProof = try peer.read(PeerAuthentication.proofBytes)
            #expect(exchange.receive(acceptorProof).last == .authenticated(leftover: []), "the acceptor proves the secret too")
            #expect(await eventually { recorder.events == ["connected ap-south", "ack from ap-south"] })
            #expect(transport.isConnected(Self.apSouth))
        }
    }

    /// Issue 15, item 7, with real transports: ap-south dials eu-west through a relay that
    /// copies every byte. The relay's own address is in what each side proves, so eu-west
    /// refuses every relayed connection and neither region ever sees the other; with the
    /// address binding off (as version 1 was) the same relay passes.
    @Test(arguments: [true, false])
    func aRelayBetweenTwoLiveTransportsCannotPassTheChallenge(bindsAddresses: Bool) async throws {
        var security = PeerSecurity(peerSecret: Self.secret)
        security.bindsAddresses = bindsAddresses
        let acceptorEvents = EventRecorder(), dialerEvents = EventRecorder()
        let acceptor = Self.transport(Self.euWest, peers: [Self.apSouth: "127.0.0.1:1"], security: security, delegate: acceptorEvents)
        try await acceptor.start()
        let relay = try TCPRelay(targetPort: try #require(acceptor.boundPort))
        let dialer = Self.transport(Self.apSouth, peers: [Self.euWest: "127.0.0.1:\(relay.port)"], security: security, delegate: dialerEvents)
        try await dialer.start()
        if bindsAddresses {
            #expect(await eventually { relay.connectionsEnded >= 2 }, "eu-west refuses each relayed connection, and ap-south dials again")
            #expect(acceptorEvents.events.isEmpty && dialerEvents.events.isEmpty, "\(acceptorEvents.events) \(dialerEvents.events)")
            #expect(!acceptor.isConnected(Self.apSouth) && !dialer.isConnected(Self.euWest))
        } else {
            #expect(await eventually { acceptor.isConnected(Self.apSouth) && dialer.isConnected(Self.euWest) }, "without the binding a relay passes")
        }
        await dialer.shutdown()
        await acceptor.shutdown()
        relay.stop()
    }

    private static func transport(_ region: RegionID, peers: [RegionID: String], security: PeerSecurity, delegate: EventRecorder) -> PeerTransport {
        var logger = Logger(label: "peer-relay-test")
        logger.logLevel = .critical
        return PeerTransport(local: region, listen: HostAndPort("127.0.0.1:0")!, peers: peers.mapValues { HostAndPort($0)! },
                             clusterID: "test", oneWayDelayMilliseconds: [:], delegate: delegate,
                             group: MultiThreadedEventLoopGroup.singleton, logger: logger, security: security)
    }

    /// Starts an `eu-west` transport with the peer secret that accepts `ap-south`.
    private func withAcceptor(_ body: (PeerTransport, EventRecorder, Int) async throws -> Void) async throws {
        let recorder = EventRecorder()
        var logger = Logger(label: "peer-authentication-test")
        logger.logLevel = .critical
        let transport = PeerTransport(local: Self.euWest, listen: HostAndPort("127.0.0.1:0")!, peers: [Self.apSouth: HostAndPort("127.0.0.1:1")!],
                                      clusterID: "test", oneWayDelayMilliseconds: [:], delegate: recorder,
                                      group: MultiThreadedEventLoopGroup.singleton, logger: logger,
                                      security: PeerSecurity(peerSecret: Self.secret))
        try await transport.start()
        do {
            try await body(transport, recorder, try #require(transport.boundPort))
        } catch {
            await transport.shutdown()
            throw error
        }
        await transport.shutdown()
    }
}

/// Polls `condition` every few milliseconds until it holds or five seconds pass.
private func eventually(_ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .seconds(5)
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return condition()
}

/// What the transport told its delegate, as text.
private final class EventRecorder: PeerTransportDelegate, @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [String] = []

    var events: [String] { lock.withLock { recorded } }
    func peerConnected(_ peer: RegionID) { lock.withLock { recorded.append("connected \(peer)") } }
    func peerDisconnected(_ peer: RegionID) { lock.withLock { recorded.append("disconnected \(peer)") } }
    func received(_ message: PeerMessage, from peer: RegionID) {
        let kind = if case .replication(.ack) = message { "ack" } else { "message" }
        lock.withLock { recorded.append("\(kind) from \(peer)") }
    }
}

/// A blocking TCP socket to a transport's listener (reads give up after five seconds).
private struct RawPeer {
    let descriptor: Int32

    init(port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw MeridianError.invalid("test", "cannot connect to port \(port)") }
    }

    func write(_ bytes: [UInt8]) throws {
        let written = bytes.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard written == bytes.count else { throw MeridianError.invalid("test", "short write") }
    }

    /// Exactly `count` bytes.
    func read(_ count: Int) throws -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: count)
        while bytes.count < count {
            let got = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, count - bytes.count, 0) }
            guard got > 0 else { throw MeridianError.invalid("test", "the connection ended after \(bytes.count) of \(count) bytes") }
            bytes += chunk.prefix(got)
        }
        return bytes
    }

    /// Reads until the other side closes; `false` when it is still open after the timeout.
    func readUntilClosed() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let got = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, 4096, 0) }
            if got == 0 { return true }
            if got < 0 { return errno == ECONNRESET }
        }
    }

    /// This connection as the dialer sees it: its own port, and the acceptor's.
    func addresses(acceptorPort: Int) -> PeerAuthentication.ConnectionAddresses {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        return .init(dialer: "127.0.0.1:\(UInt16(bigEndian: address.sin_port))", acceptor: "127.0.0.1:\(acceptorPort)")
    }

    func close() { _ = Glibc.close(descriptor) }
}

/// A TCP relay on 127.0.0.1 that copies every byte between each connection it accepts and
/// a new connection to `targetPort`, both ways, and ends both when either ends: a proxy
/// between two regions, with an address of its own.
private final class TCPRelay: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    private let lock = NSLock()
    private var ended = 0

    /// Relayed connections that have ended.
    var connectionsEnded: Int { lock.withLock { ended } }

    init(targetPort: Int) throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) == 0 && listen(listener, 16) == 0 && getsockname(listener, $0, &length) == 0 }
        }
        guard bound else { throw MeridianError.invalid("test", "the relay cannot listen") }
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread { [self] in
            while true {
                let accepted = accept(listener, nil, nil)
                guard accepted >= 0 else { return }
                guard let target = try? RawPeer(port: targetPort) else { _ = Glibc.close(accepted); continue }
                relay(accepted, target.descriptor)
            }
        }.start()
    }

    private func relay(_ first: Int32, _ second: Int32) {
        let group = DispatchGroup()
        for (from, to) in [(first, second), (second, first)] {
            group.enter()
            Thread {
                var buffer = [UInt8](repeating: 0, count: 4096)
                while true {
                    let count = buffer.withUnsafeMutableBytes { recv(from, $0.baseAddress, 4096, 0) }
                    if count <= 0 { break }
                    let sent = buffer.withUnsafeBytes { send(to, $0.baseAddress, count, Int32(MSG_NOSIGNAL)) }
                    if sent != count { break }
                }
                shutdown(first, Int32(SHUT_RDWR))
                shutdown(second, Int32(SHUT_RDWR))
                group.leave()
            }.start()
        }
        group.notify(queue: .global()) { [self] in
            _ = Glibc.close(first)
            _ = Glibc.close(second)
            lock.withLock { ended += 1 }
        }
    }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        _ = Glibc.close(listener)
    }
}
