import MeridianCore
import NIOCore
import NIOSSL

/// How peer connections prove who they are, in pipeline order: mutual TLS (each side
/// presents a certificate signed by the cluster's CA and accepts only such a
/// certificate), then the peer secret's challenge-response (see `PeerAuthentication`).
/// Either may be off; with both, a peer needs the certificate and the secret.
public struct PeerSecurity: Sendable {
    /// The secret both sides must prove they know; `nil`: no challenge-response.
    public var peerSecret: String?
    /// Whether the proof covers the connection's addresses (the cluster file's
    /// `peer_address_binding`, default true; off only with mutual TLS, for networks that
    /// translate addresses between regions).
    public var bindsAddresses = true
    /// TLS for connections this region accepts (asks for and checks the dialer's certificate).
    public var acceptorTLS: NIOSSLContext?
    /// TLS for connections this region dials (presents its certificate, checks the acceptor's).
    public var dialerTLS: NIOSSLContext?

    public init(peerSecret: String? = nil, acceptorTLS: NIOSSLContext? = nil, dialerTLS: NIOSSLContext? = nil) {
        self.peerSecret = peerSecret
        self.acceptorTLS = acceptorTLS
        self.dialerTLS = dialerTLS
    }

    /// The peer security a cluster file asks for (paths already resolved).
    public init(cluster: ClusterConfiguration) throws {
        self.init(peerSecret: cluster.peerSecret)
        bindsAddresses = cluster.peerAddressBinding ?? true
        if let tls = cluster.tls, tls.peers ?? true {
            (acceptorTLS, dialerTLS) = try Self.mutualTLSContexts(tls)
        }
    }

    /// Contexts for mutual TLS between regions: the certificate chain must lead to `ca`.
    /// Host names are not checked (regions are named by address in the cluster file, and
    /// the CA is the cluster's own): possession of a certificate from the CA is the proof.
    public static func mutualTLSContexts(_ files: TLSFiles) throws -> (acceptor: NIOSSLContext, dialer: NIOSSLContext) {
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        let roots: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(files.certificate)
            key = try NIOSSLPrivateKey(file: files.key, format: .pem)
            roots = try NIOSSLCertificate.fromPEMFile(files.ca)
        } catch {
            throw MeridianError.invalid("invalid_tls_files", "cannot read the TLS files (\(files.certificate), \(files.key), \(files.ca)): \(error)")
        }
        var server = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        server.trustRoots = .certificates(roots)
        server.certificateVerification = .noHostnameVerification
        server.minimumTLSVersion = .tlsv12
        var client = TLSConfiguration.makeClientConfiguration()
        client.certificateChain = chain.map { .certificate($0) }
        client.privateKey = .privateKey(key)
        client.trustRoots = .certificates(roots)
        client.certificateVerification = .noHostnameVerification
        client.minimumTLSVersion = .tlsv12
        return (try NIOSSLContext(configuration: server), try NIOSSLContext(configuration: client))
    }
}

extension PeerTransport {
    /// Puts the handlers that must accept a peer before the peer protocol sees it at the
    /// front of a new connection's pipeline: TLS, then the challenge-response.
    func addSecurityHandlers(to channel: any Channel, role: PeerChannelHandler.Role) throws {
        switch role {
        case .dialer:
            if let context = security.dialerTLS {
                try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: context, serverHostname: nil))
            }
        case .acceptor:
            if let context = security.acceptorTLS {
                try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
            }
        }
        guard let secret = security.peerSecret else { return }
        let authenticationRole: PeerAuthentication.Role
        let acceptedPeers: Set<RegionID>
        switch role {
        case .dialer(let peer):
            authenticationRole = .dialer
            acceptedPeers = [peer]
        case .acceptor:
            authenticationRole = .acceptor
            acceptedPeers = Set(peerAddresses.keys)
        }
        let (clusterID, local, bindsAddresses) = (self.clusterID, self.local, security.bindsAddresses)
        try channel.pipeline.syncOperations.addHandler(
            PeerAuthenticationHandler(role: authenticationRole, logger: logger, timeoutMilliseconds: Self.handshakeTimeoutMilliseconds) { addresses in
                if bindsAddresses && addresses == nil { return nil }
                return PeerAuthentication(secret: secret, clusterID: clusterID, role: authenticationRole, local: local, acceptedPeers: acceptedPeers,
                                          addresses: bindsAddresses ? addresses : nil, nonce: PeerAuthentication.randomNonce())
            })
    }
}
