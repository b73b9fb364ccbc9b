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
    static let secret = String(repeating: "7", count: 64)

    // MARK: The exchange

    /// Runs two exchanges against each other; returns what each ended with.
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

    @Test func twoSidesWithTheSameSecretAuthenticateEachOther() {
        var dialer = PeerAuthentication(secret: Self.secret, clusterID: "c", role: .dialer, nonce: PeerAuthentication.randomNonce())
        var acceptor = PeerAuthentication(secret: Self.secret, clusterID: "c", role: .acceptor, nonce: PeerAuthentication.randomNonce())
        let (dialerActions, acceptorActions) = run(&dialer, &acceptor)
        #expect(dialer.isAuthenticated && acceptor.isAuthenticated)
        #expect(dialerActions.last == .authenticated(leftover: []))
        #expect(acceptorActions.last == .authenticated(leftover: []))
    }

    @Test func aDifferentSecretOrClusterIsRefusedOnBothSides() {
        for (secret, cluster) in [(String(repeating: "8", count: 64), "c"), (Self.secret, "other")] {
            var dialer = PeerAuthentication(secret: secret, clusterID: cluster, role: .dialer, nonce: PeerAuthentication.randomNonce())
            var acceptor = PeerAuthentication(secret: Self.secret, clusterID: "c", role: .acceptor, nonce: PeerAuthentication.randomNonce())
            let (dialerActions, acceptorActions) = run(&dialer, &acceptor)
            #expect(!dialer.isAuthenticated && !acceptor.isAuthenticated)
            #expect(acceptorActions.contains { if case .refuse = $0 { true } else { false } })
            #expect(dialerActions.contains { if case .refuse = $0 { true } else { false } })
        }
    }

    @Test func aReflectedProofIsRefused() {
        // An attacker who does not know the secret answers with our own nonce, then
        // sends back the proof we computed: the role inside the proof makes it wrong.
        let nonce = PeerAuthentication.randomNonce()
        var acceptor = PeerAuthentication(secret: Self.secret, clusterID: "c", role: .acceptor, nonce: nonce)
        let echoed = acceptor.receive(acceptor.challenge)
        #expect(echoed.contains { if case .refuse = $0 { true } else { false } })

        var victim = PeerAuthentication(secret: Self.secret, clusterID: "c", role: .acceptor, nonce: PeerAuthentication.randomNonce())
        var helper = PeerAuthentication(secret: Self.secret, clusterID: "c", role: .acceptor, nonce: PeerAuthentication.randomNonce())
        // The attacker relays the victim's challenge to a second acceptor and replays its proof.
        let attackerNonce = Array(helper.challenge.suffix(PeerAuthentication.nonceBytes))
        let attackerChallenge = Array(victim.challenge.prefix(9)) + attackerNonce
        let victimProof = victim.receive(attackerChallenge)
        guard case .send(let proofBytes)? = victimProof.first else { Issue.record("no proof"); return }
        let helperActions = helper.receive(Array(victim.challenge))
        guard case .send(let helperProof)? = helperActions.first else { Issue.record("no helper proof"); return }
        let final = victim.receive(helperProof)
        #expect(final.contains { if case .refuse = $0 { true } else { false } }, "an acceptor's proof must not pass for a dialer's")
        #expect(!victim.isAuthenticated)
        #expect(!proofBytes.isEmpty)
    }

    @Test func garbageInsteadOfAChallengeIsRefused() {
        var acceptor = PeerAuthentication(secret: Self.secret, clusterID: "c", role: .acceptor, nonce: PeerAuthentication.randomNonce())
        let actions = acceptor.receive(encode(.hello(Hello(clusterID: "c", region: Self.apSouth))) + Array(repeating: 0, count: 64))
        #expect(actions.count == 1)
        #expect(actions.contains { if case .refuse = $0 { true } else { false } })
    }

    // MARK: A live transport

    @Test func aPeerWithTheWrongSecretIsDisconnectedAndItsFramesAreNotApplied() async throws {
        try await withAcceptor { transport, recorder, port in
            let attacker = try RawPeer(port: port)
            defer { attacker.close() }
            let challenge = try attacker.read(PeerAuthentication.challengeBytes)
            // Plays the dialer with a wrong secret, and sends its Hello and a message in the
            // same write as its proof, as an impatient attacker would.
            var forged = PeerAuthentication(secret: String(repeating: "x", count: 64), clusterID: "test", role: .dialer, nonce: PeerAuthentication.randomNonce())
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
            let challenge = try peer.read(PeerAuthentication.challengeBytes)
            var exchange = PeerAuthentication(secret: Self.secret, clusterID: "test", role: .dialer, nonce: PeerAuthentication.randomNonce())
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

    func close() { _ = Glibc.close(descriptor) }
}
