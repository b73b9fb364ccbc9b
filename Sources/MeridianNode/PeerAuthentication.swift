import Crypto
import Foundation
import MeridianCore

/// The challenge-response that opens every peer connection when the cluster file sets a
/// `peer_secret`: each side proves it knows the secret, on this very connection, before a
/// single frame of the peer protocol (not even the `Hello`) is read from it.
///
/// Exchange, the same in both directions:
/// 1. Each side sends a challenge: `magic` (8 bytes, "MRDNAUTH"), version (1 byte), a
///    nonce of `nonceBytes` from the system's secure generator, then its own region's name
///    (a length byte, 1 to 63, and the name's bytes).
/// 2. On the peer's challenge, each side checks the name (the dialer: the region it
///    dialed; the acceptor: a region of the cluster other than itself) and sends its
///    proof: HMAC-SHA256, keyed with SHA-256 of the secret, over the transcript of the
///    connection (`transcript(by:)`): `label`, the sender's role (1 dialer, 2 acceptor),
///    the cluster id, the dialer's and the acceptor's region names, the dialer's and the
///    acceptor's nonces, and the connection's two addresses (dialer's, acceptor's) as
///    this side sees them.
/// 3. A side that verified the peer's proof (in constant time) is authenticated; the
///    bytes after the proof are the peer protocol, and its `Hello` must name the region
///    the challenge named.
///
/// What the binding buys (docs/operations.md, "Threat model"): a relay that sits between
/// two regions with an address of its own (a proxy, or an attacker who redirected a dial)
/// passes the regions' bytes along, but the dialer sees the relay's address as the
/// acceptor's and the acceptor sees it as the dialer's, so the two transcripts differ and
/// both sides refuse. A relay that also forges the regions' own addresses (an on-path
/// attacker rewriting packets) is stopped only by TLS (`tls.peers`), which the proof does
/// not replace. The role in the proof stops a reflected proof; a peer nonce equal to ours
/// is refused for the same reason. A wrong magic, version, name, proof or a too-slow peer
/// closes the connection: nothing the peer sent reaches the region.
public struct PeerAuthentication: Sendable {
    /// The bytes that open a challenge.
    static let magic = Array("MRDNAUTH".utf8)
    /// The version of this exchange (1 proved nothing about the connection).
    static let version: UInt8 = 2
    /// The bytes of each side's nonce.
    public static let nonceBytes = 32
    /// The bytes of a challenge before the region's name: magic, version, nonce, the name's length.
    public static let challengeHeaderBytes = 8 + 1 + nonceBytes + 1
    /// The bytes of a proof (an HMAC-SHA256).
    public static let proofBytes = 32
    /// The domain separation label inside every proof.
    static let label = Array("meridian-peer-auth-v2".utf8)

    /// What the connection must do next.
    public enum Action: Equatable, Sendable {
        /// Send these bytes to the peer.
        case send([UInt8])
        /// The peer proved the secret; these bytes (possibly none) are its first peer-protocol bytes.
        case authenticated(leftover: [UInt8])
        /// Close the connection; the reason is logged.
        case refuse(String)
    }

    /// Which side of the connection this is.
    public enum Role: UInt8, Sendable {
        case dialer = 1
        case acceptor = 2

        var peer: Role { self == .dialer ? .acceptor : .dialer }
    }

    /// The connection's two ends as one side sees them (`host:port`, IPv4-mapped IPv6
    /// addresses written as IPv4): the dialer's, then the acceptor's. Both sides of a
    /// direct connection see the same pair; each side of a relayed one sees the relay.
    public struct ConnectionAddresses: Sendable, Equatable {
        /// The dialer's end, `host:port`.
        public var dialer: String
        /// The acceptor's end, `host:port`.
        public var acceptor: String

        /// The two ends of one connection.
        public init(dialer: String, acceptor: String) {
            self.dialer = dialer
            self.acceptor = acceptor
        }
    }

    private enum Phase: Sendable {
        case awaitingChallenge
        case awaitingProof(peerNonce: [UInt8], peerRegion: RegionID)
        case authenticated(peerRegion: RegionID)
        case refused
    }

    private let key: SymmetricKey
    private let clusterID: String
    private let role: Role
    private let local: RegionID
    private let acceptedPeers: Set<RegionID>
    private let addresses: ConnectionAddresses?
    private let nonce: [UInt8]
    private var phase = Phase.awaitingChallenge
    private var received: [UInt8] = []

    /// Starts an exchange.
    ///
    /// - Parameters:
    ///   - local: this side's region, named in its challenge.
    ///   - acceptedPeers: the regions the peer may be: the dialed region for a dialer, the
    ///     cluster's other regions for an acceptor.
    ///   - addresses: the connection as this side sees it; `nil` binds no address (only
    ///     with TLS between regions, which binds the connection itself).
    ///   - nonce: from a secure generator (see `randomNonce`).
    public init(secret: String, clusterID: String, role: Role, local: RegionID, acceptedPeers: Set<RegionID>,
                addresses: ConnectionAddresses?, nonce: [UInt8]) {
        precondition(nonce.count == Self.nonceBytes, "a nonce is \(Self.nonceBytes) bytes")
        key = SymmetricKey(data: SHA256.hash(data: Data(secret.utf8)))
        self.clusterID = clusterID
        self.role = role
        self.local = local
        self.acceptedPeers = acceptedPeers
        self.addresses = addresses
        self.nonce = nonce
    }

    /// A nonce from the system's cryptographically secure generator.
    public static func randomNonce() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<nonceBytes).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    /// The challenge to send as soon as the connection is up.
    public var challenge: [UInt8] {
        let name = Array(local.name.utf8)
        return Self.magic + [Self.version] + nonce + [UInt8(name.count)] + name
    }

    /// Whether the peer has proved the secret.
    public var isAuthenticated: Bool { authenticatedPeer != nil }

    /// The region the peer proved it is, once it has.
    public var authenticatedPeer: RegionID? {
        if case .authenticated(let peer) = phase { return peer }
        return nil
    }

    /// Takes bytes from the peer; returns what to do, in order.
    public mutating func receive(_ bytes: some Sequence<UInt8>) -> [Action] {
        switch phase {
        case .authenticated, .refused:
            preconditionFailure("the authentication exchange receives bytes only until it ends")
        case .awaitingChallenge, .awaitingProof:
            break
        }
        received.append(contentsOf: bytes)
        var actions: [Action] = []
        if case .awaitingChallenge = phase {
            guard received.count >= Self.challengeHeaderBytes else { return actions }
            guard Array(received.prefix(Self.magic.count)) == Self.magic, received[Self.magic.count] == Self.version else {
                return refuse("the peer did not open with a Meridian authentication challenge of version \(Self.version) (wrong magic or version)")
            }
            let nameBytes = Int(received[Self.challengeHeaderBytes - 1])
            guard (1...Limits.regionNameBytesMax).contains(nameBytes) else { return refuse("the peer's challenge names no valid region") }
            guard received.count >= Self.challengeHeaderBytes + nameBytes else { return actions }
            let peerNonce = Array(received[(Self.magic.count + 1)..<(Self.magic.count + 1 + Self.nonceBytes)])
            let name = String(decoding: received[Self.challengeHeaderBytes..<(Self.challengeHeaderBytes + nameBytes)], as: UTF8.self)
            received.removeFirst(Self.challengeHeaderBytes + nameBytes)
            guard peerNonce != nonce else { return refuse("the peer sent back our own nonce") }
            guard let peerRegion = try? RegionID(name), peerRegion != local, acceptedPeers.contains(peerRegion) else {
                return refuse("the peer says it is '\(name.prefix(64))', which is not a region this side accepts here")
            }
            phase = .awaitingProof(peerNonce: peerNonce, peerRegion: peerRegion)
            actions.append(.send(proof(by: role)))
        }
        guard case .awaitingProof(_, let peerRegion) = phase, received.count >= Self.proofBytes else { return actions }
        let proof = Array(received.prefix(Self.proofBytes))
        let expected = self.proof(by: role.peer)
        // Constant time: a guesser learns nothing from how long the comparison took.
        guard zip(proof, expected).reduce(UInt8(0), { $0 | ($1.0 ^ $1.1) }) == 0 else {
            return refuse("the peer's proof does not match: it does not know this cluster's peer_secret, or the connection passes through a relay (each side saw other addresses)")
        }
        let leftover = Array(received.dropFirst(Self.proofBytes))
        received = []
        phase = .authenticated(peerRegion: peerRegion)
        return actions + [.authenticated(leftover: leftover)]
    }

    /// The proof `sender` sends: the HMAC of the connection's transcript.
    private func proof(by sender: Role) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: transcript(by: sender), using: key))
    }

    /// What a proof covers, the same bytes on both sides of a direct connection but for
    /// the sender's role. Only valid once the peer's challenge arrived.
    func transcript(by sender: Role) -> [UInt8] {
        guard case .awaitingProof(let peerNonce, let peerRegion) = phase else {
            preconditionFailure("a proof needs the peer's challenge")
        }
        let (dialerRegion, acceptorRegion) = role == .dialer ? (local, peerRegion) : (peerRegion, local)
        let (dialerNonce, acceptorNonce) = role == .dialer ? (nonce, peerNonce) : (peerNonce, nonce)
        var message = Self.label
        message.append(sender.rawValue)
        for field in [Array(clusterID.utf8), Array(dialerRegion.name.utf8), Array(acceptorRegion.name.utf8), dialerNonce, acceptorNonce,
                      Array((addresses?.dialer ?? "").utf8), Array((addresses?.acceptor ?? "").utf8)] {
            // Each field with its length, so that no two transcripts read the same.
            message.append(UInt8(truncatingIfNeeded: field.count >> 8))
            message.append(UInt8(truncatingIfNeeded: field.count))
            message.append(contentsOf: field)
        }
        return message
    }

    private mutating func refuse(_ reason: String) -> [Action] {
        phase = .refused
        received = []
        return [.refuse(reason)]
    }
}
