import Foundation
import MeridianCore

/// Certificate and key files (PEM) for TLS, named in the cluster file's `tls` object;
/// relative paths are relative to the cluster file's folder.
///
/// ```json
/// "tls": {"ca": "certs/ca.pem", "certificate": "certs/node.pem", "key": "certs/node.key",
///         "client_api": true, "peers": true}
/// ```
///
/// With `peers`, every peer connection is mutual TLS: each side presents `certificate`
/// and accepts only a certificate signed by `ca`. With `client_api`, the API serves HTTPS
/// with the same certificate (clients are not asked for one).
public struct TLSFiles: Sendable, Equatable, Codable {
    /// The certificate authority peers' certificates must chain to.
    public var ca: String
    /// This node's certificate chain.
    public var certificate: String
    /// This node's private key.
    public var key: String
    /// Whether the client API serves HTTPS.
    public var clientAPI: Bool?
    /// Whether peer connections use mutual TLS.
    public var peers: Bool?

    enum CodingKeys: String, CodingKey {
        case ca, certificate, key
        case clientAPI = "client_api"
        case peers
    }

    public init(ca: String, certificate: String, key: String, clientAPI: Bool = false, peers: Bool = true) {
        self.ca = ca
        self.certificate = certificate
        self.key = key
        self.clientAPI = clientAPI
        self.peers = peers
    }

    /// The same files with every relative path resolved against `folder`.
    public func resolved(against folder: String) -> TLSFiles {
        var copy = self
        copy.ca = ClusterConfiguration.resolve(ca, against: folder)
        copy.certificate = ClusterConfiguration.resolve(certificate, against: folder)
        copy.key = ClusterConfiguration.resolve(key, against: folder)
        return copy
    }
}

extension ClusterConfiguration {
    /// The shortest `peer_secret` accepted, in bytes (128 bits of hex).
    public static let peerSecretBytesMin = 32
    /// The longest `peer_secret` accepted, in bytes.
    public static let peerSecretBytesMax = 1024

    /// `path` when absolute, else `path` inside `folder`.
    public static func resolve(_ path: String, against folder: String) -> String {
        if path.hasPrefix("/") { return path }
        return URL(fileURLWithPath: folder).appendingPathComponent(path).standardizedFileURL.path
    }

    /// The same configuration with the secrets file and TLS paths made absolute, relative
    /// to the folder of the cluster file at `clusterFilePath`.
    public func resolvingPaths(clusterFilePath: String) -> ClusterConfiguration {
        let folder = URL(fileURLWithPath: clusterFilePath).deletingLastPathComponent().path
        var copy = self
        copy.secretsFile = secretsFile.map { Self.resolve($0, against: folder) }
        copy.tls = tls?.resolved(against: folder)
        return copy
    }

    /// Refuses a peer secret too short to resist guessing, a TLS object naming empty paths,
    /// or peer authentication bound to nothing (no address binding and no TLS).
    func validateSecurity(source: String) throws(MeridianError) {
        if let peerSecret, !(Self.peerSecretBytesMin...Self.peerSecretBytesMax).contains(peerSecret.utf8.count) {
            throw .invalid("invalid_cluster_file", "\(source): peer_secret must be \(Self.peerSecretBytesMin) to \(Self.peerSecretBytesMax) bytes")
        }
        if let secretsFile, secretsFile.isEmpty {
            throw .invalid("invalid_cluster_file", "\(source): secrets_file is empty")
        }
        if let tls, [tls.ca, tls.certificate, tls.key].contains(where: \.isEmpty) {
            throw .invalid("invalid_cluster_file", "\(source): tls needs ca, certificate and key paths")
        }
        if peerAddressBinding == false, tls == nil || tls?.peers == false {
            // Without TLS the address binding is what stops a relay from passing the proof.
            throw .invalid("invalid_cluster_file", "\(source): peer_address_binding false needs tls with peers on (mutual TLS binds the connection instead)")
        }
    }
}
