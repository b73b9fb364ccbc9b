import NIOCore

/// How peer connections prove who they are: the cluster's peer secret (a
/// challenge-response before the peer protocol, see `PeerAuthentication`) and, later in
/// the pipeline's order, TLS.
public struct PeerSecurity: Sendable {
    /// The secret both sides must prove they know; `nil`: no challenge-response.
    public var peerSecret: String?

    public init(peerSecret: String? = nil) {
        self.peerSecret = peerSecret
    }
}

extension PeerTransport {
    /// Puts the handlers that must accept a peer before the peer protocol sees it at the
    /// front of a new connection's pipeline.
    func addSecurityHandlers(to channel: any Channel, role: PeerChannelHandler.Role) throws {
        guard let secret = security.peerSecret else { return }
        let authenticationRole: PeerAuthentication.Role = if case .dialer = role { .dialer } else { .acceptor }
        let exchange = PeerAuthentication(secret: secret, clusterID: clusterID, role: authenticationRole, nonce: PeerAuthentication.randomNonce())
        try channel.pipeline.syncOperations.addHandler(
            PeerAuthenticationHandler(exchange: exchange, logger: logger, timeoutMilliseconds: Self.handshakeTimeoutMilliseconds))
    }
}

extension PeerSecurity {
    /// The peer security a cluster file asks for.
    public init(cluster: ClusterConfiguration) throws {
        self.init(peerSecret: cluster.peerSecret)
    }
}
