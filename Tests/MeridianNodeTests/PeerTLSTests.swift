import Foundation
import Logging
import MeridianCore
import MeridianRegion
@testable import MeridianNode
import MeridianReplication
import MeridianWire
import NIOCore
import NIOPosix
import NIOSSL
import Testing

/// Mutual TLS between regions, with certificates made by `.ci/make-test-certificates.sh`
/// (openssl): a pair of regions talks over it, and a certificate from another CA is
/// refused before anything its holder sent reaches the region.
@Suite(.serialized)
struct PeerTLSTests {
    static let apSouth = try! RegionID("ap-south")
    static let euWest = try! RegionID("eu-west")
    static let isCI = ProcessInfo.processInfo.environment["CI"] == "true"
    static let hasOpenSSL = FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl")

    /// The folder of test certificates: `MERIDIAN_TEST_CERTIFICATES`, else made now.
    static let certificates: URL? = {
        if let folder = ProcessInfo.processInfo.environment["MERIDIAN_TEST_CERTIFICATES"] { return URL(fileURLWithPath: folder) }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".ci/make-test-certificates.sh")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-certificates-\(getpid())")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script.path, folder.path]
        process.standardOutput = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        process.waitUntilExit()
        return process.terminationStatus == 0 ? folder : nil
    }()

    static func files(certificate: String, ca: String = "cluster-ca") throws -> TLSFiles {
        let folder = try #require(certificates, "the test certificates could not be made (is openssl installed?)")
        return TLSFiles(ca: folder.appendingPathComponent("\(ca).pem").path, certificate: folder.appendingPathComponent("\(certificate).pem").path,
                        key: folder.appendingPathComponent("\(certificate).key").path)
    }

    @Test(.enabled(if: hasOpenSSL || isCI, "openssl is not installed: TLS tests skipped (.ci/run installs it)"))
    func twoRegionsTalkOverMutualTLS() async throws {
        let (acceptorTLS, dialerTLS) = try PeerSecurity.mutualTLSContexts(try Self.files(certificate: "node"))
        let euRecorder = TLSRecorder(), apRecorder = TLSRecorder()
        let eu = try await Self.transport(Self.euWest, peers: [Self.apSouth: "127.0.0.1:1"], recorder: euRecorder,
                                          security: PeerSecurity(acceptorTLS: acceptorTLS, dialerTLS: dialerTLS))
        let ap = try await Self.transport(Self.apSouth, peers: [Self.euWest: "127.0.0.1:\(eu.boundPort!)"], recorder: apRecorder,
                                          security: PeerSecurity(acceptorTLS: acceptorTLS, dialerTLS: dialerTLS))
        #expect(await eventually { ap.isConnected(Self.euWest) && eu.isConnected(Self.apSouth) })
        #expect(ap.send(.replication(.ack(Positions([Self.apSouth: 7]))), to: Self.euWest))
        #expect(await eventually { euRecorder.events.contains("ack from ap-south") })
        await ap.shutdown()
        await eu.shutdown()
    }

    @Test(.enabled(if: hasOpenSSL || isCI, "openssl is not installed: TLS tests skipped (.ci/run installs it)"))
    func aCertificateFromAnotherCAIsRefusedAndNothingItSentIsApplied() async throws {
        let (acceptorTLS, dialerTLS) = try PeerSecurity.mutualTLSContexts(try Self.files(certificate: "node"))
        let recorder = TLSRecorder()
        let eu = try await Self.transport(Self.euWest, peers: [Self.apSouth: "127.0.0.1:1"], recorder: recorder,
                                          security: PeerSecurity(acceptorTLS: acceptorTLS, dialerTLS: dialerTLS))
        let port = try #require(eu.boundPort)

        // The stranger trusts the cluster's CA but holds a certificate from another one.
        let (_, strangerTLS) = try PeerSecurity.mutualTLSContexts(try Self.files(certificate: "stranger"))
        let stranger = try await Self.dial(port: port, tls: strangerTLS)
        try await stranger.closeFuture.get()
        #expect(recorder.events.isEmpty, "the acceptor closed the connection and heard nothing: \(recorder.events)")

        // The same exchange with the cluster's certificate is served: the refusal above was the certificate.
        let member = try await Self.dial(port: port, tls: dialerTLS)
        #expect(await eventually { recorder.events == ["connected ap-south", "ack from ap-south"] })
        try? await member.close()
        await eu.shutdown()
    }

    /// Dials `port` over TLS and sends a valid `Hello` from ap-south and one message.
    static func dial(port: Int, tls: NIOSSLContext) async throws -> any Channel {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: nil))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        let bytes = encode(.hello(Hello(clusterID: "test", region: apSouth))) + encode(.message(.replication(.ack(Positions([apSouth: 1])))))
        channel.writeAndFlush(ByteBuffer(bytes: bytes), promise: nil)
        return channel
    }

    static func transport(_ region: RegionID, peers: [RegionID: String], recorder: TLSRecorder, security: PeerSecurity) async throws -> PeerTransport {
        var logger = Logger(label: "peer-tls-test")
        logger.logLevel = .critical
        let transport = PeerTransport(local: region, listen: HostAndPort("127.0.0.1:0")!, peers: peers.mapValues { HostAndPort($0)! },
                                      clusterID: "test", oneWayDelayMilliseconds: [:], delegate: recorder,
                                      group: MultiThreadedEventLoopGroup.singleton, logger: logger, security: security)
        try await transport.start()
        return transport
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

/// What a transport told its delegate, as text.
final class TLSRecorder: PeerTransportDelegate, @unchecked Sendable {
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
