import Crypto
import Foundation
import MeridianCore

/// The challenge-response that opens every peer connection when the cluster file sets a
/// `peer_secret`: each side proves it knows the secret before a single frame of the peer
/// protocol (not even the `Hello`) is read from it.
///
/// Exchange, the same in both directions:
/// 1. Each side sends a challenge: `magic` (8 bytes, "MRDNAUTH"), version (1 byte), a
///    nonce of `nonceBytes` from the system's secure generator.
/// 2. On the peer's challenge, each side sends its proof: HMAC-SHA256, keyed with
///    SHA-256 of the secret, over `label`, the sender's role (1 dialer, 2 acceptor), the
///    cluster id, the peer's nonce, then the sender's nonce.
/// 3. A side that verified the peer's proof (in constant time) is authenticated; the
///    bytes after the proof are the peer protocol.
///
/// The role in the proof stops a reflected proof; a peer nonce equal to ours is refused
/// for the same reason. A wrong magic, version, proof or a too-slow peer closes the
/// connection: nothing the peer sent reaches the region.
public struct PeerAuthentication: Sendable {
    /// The bytes that open a challenge.
    static let magic = Array("MRDNAUTH".utf8)
    /// The version of this exchange.
    static let version: UInt8 = 1
    /// The bytes of each side's nonce.
    public static let nonceBytes = 32
    /// The bytes of a challenge: magic, version, nonce.
    public static let challengeBytes = 8 + 1 + nonceBytes
    /// The bytes of a proof (an HMAC-SHA256).
    public static let proofBytes = 32
    /// The domain separation label inside every proof.
    static let label = Array("meridian-peer-auth-v1".utf8)

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

    private enum Phase: Sendable {
        case awaitingChallenge
        case awaitingProof(peerNonce: [UInt8])
        case authenticated
        case refused
    }

    private let key: SymmetricKey
    private let clusterID: String
    private let role: Role
    private let nonce: [UInt8]
    private var phase = Phase.awaitingChallenge
    private var received: [UInt8] = []

    /// Starts an exchange; `nonce` must come from a secure generator (see `randomNonce`).
    public init(secret: String, clusterID: String, role: Role, nonce: [UInt8]) {
        precondition(nonce.count == Self.nonceBytes, "a nonce is \(Self.nonceBytes) bytes")
        key = SymmetricKey(data: SHA256.hash(data: Data(secret.utf8)))
        self.clusterID = clusterID
        self.role = role
        self.nonce = nonce
    }

    /// A nonce from the system's cryptographically secure generator.
    public static func randomNonce() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<nonceBytes).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    /// The challenge to send as soon as the connection is up.
    public var challenge: [UInt8] { Self.magic + [Self.version] + nonce }

    /// Whether the peer has proved the secret.
    public var isAuthenticated: Bool {
        if case .authenticated = phase { return true }
        return false
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
            guard received.count >= Self.challengeBytes else { return actions }
            let challenge = Array(received.prefix(Self.challengeBytes))
            received.removeFirst(Self.challengeBytes)
            guard Array(challenge.prefix(Self.magic.count)) == Self.magic, challenge[Self.magic.count] == Self.version else {
                return refuse("the peer did not open with a Meridian authentication challenge (wrong magic or version)")
            }
            let peerNonce = Array(challenge.suffix(Self.nonceBytes))
            guard peerNonce != nonce else { return refuse("the peer sent back our own nonce") }
            actions.append(.send(proof(by: role, peerNonce: peerNonce, ownNonce: nonce)))
            phase = .awaitingProof(peerNonce: peerNonce)
        }
        guard case .awaitingProof(let peerNonce) = phase, received.count >= Self.proofBytes else { return actions }
        let proof = Array(received.prefix(Self.proofBytes))
        let expected = self.proof(by: role.peer, peerNonce: nonce, ownNonce: peerNonce)
        // Constant time: a guesser learns nothing from how long the comparison took.
        guard zip(proof, expected).reduce(UInt8(0), { $0 | ($1.0 ^ $1.1) }) == 0 else {
            return refuse("the peer's proof does not match: it does not know this cluster's peer_secret")
        }
        let leftover = Array(received.dropFirst(Self.proofBytes))
        received = []
        phase = .authenticated
        return actions + [.authenticated(leftover: leftover)]
    }

    /// The proof that `sender` (whose nonce is `ownNonce`) sends in answer to `peerNonce`.
    private func proof(by sender: Role, peerNonce: [UInt8], ownNonce: [UInt8]) -> [UInt8] {
        var message = Self.label
        message.append(sender.rawValue)
        message.append(contentsOf: Array(clusterID.utf8))
        message.append(contentsOf: peerNonce)
        message.append(contentsOf: ownNonce)
        return Array(HMAC<SHA256>.authenticationCode(for: message, using: key))
    }

    private mutating func refuse(_ reason: String) -> [Action] {
        phase = .refused
        received = []
        return [.refuse(reason)]
    }
}
