// MeridianNode owns the runtime around one region: reading the cluster file, opening
// the data directory (locked against a second process), the executor thread that runs
// the region's synchronous code, and the wall clock it passes in.

import Foundation
import MeridianCore
import MeridianWire

/// One region's entry in the cluster file.
public struct RegionEndpoint: Sendable, Equatable, Codable {
    /// The region's name.
    public var name: RegionID
    /// `host:port` of its client API.
    public var api: String
    /// `host:port` of its peer transport.
    public var peer: String

    public init(name: RegionID, api: String, peer: String) {
        self.name = name
        self.api = api
        self.peer = peer
    }
}

/// The cluster file (`cluster.json`): every region once, and the injected latency matrix.
///
/// ```json
/// {"regions": [{"name": "us-east", "api": "127.0.0.1:7001", "peer": "127.0.0.1:7101"}],
///  "latency_ms": {"us-east": {"eu-west": 35}}}
/// ```
public struct ClusterConfiguration: Sendable, Equatable, Codable {
    public var regions: [RegionEndpoint]
    /// One-way delays in milliseconds, by source then destination region name.
    public var latencyMilliseconds: [String: [String: Double]]?
    /// Names the cluster in the peer handshake, so that nodes of two clusters never mix;
    /// derived from the region names when absent.
    public var explicitClusterID: String?
    /// The secret that signs session tokens; when absent, one derived from the cluster id
    /// (which proves a token came from this cluster, but does not stop a forger who knows
    /// the id: set it in production; `meridian dev` writes a random one).
    public var sessionSecret: String?
    /// The client tokens file (roles, hashed tokens; see `AccessControl`), relative to the
    /// cluster file's folder; when absent the client API asks for no token.
    public var secretsFile: String?
    /// The secret every region proves it knows in the peer handshake; when absent peers
    /// are not authenticated (see docs/operations.md).
    public var peerSecret: String?
    /// Certificates for TLS on the client API and mutual TLS between regions.
    public var tls: TLSFiles?
    /// Whether the peer secret's proof covers the connection's two addresses (default
    /// true): what stops a relay between two regions when there is no TLS. `false` only
    /// with mutual TLS between regions, for networks that translate addresses.
    public var peerAddressBinding: Bool?

    enum CodingKeys: String, CodingKey {
        case regions
        case latencyMilliseconds = "latency_ms"
        case explicitClusterID = "cluster_id"
        case sessionSecret = "session_secret"
        case secretsFile = "secrets_file"
        case peerSecret = "peer_secret"
        case tls
        case peerAddressBinding = "peer_address_binding"
    }

    public init(regions: [RegionEndpoint], latencyMilliseconds: [String: [String: Double]]? = nil, clusterID: String? = nil, sessionSecret: String? = nil) {
        self.regions = regions
        self.latencyMilliseconds = latencyMilliseconds
        explicitClusterID = clusterID
        self.sessionSecret = sessionSecret
    }

    /// The cluster's id: `cluster_id` from the file, or a hash of the sorted region names.
    public var clusterID: String {
        if let explicitClusterID { return explicitClusterID }
        // FNV-1a over the sorted names: stable across processes and builds.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in regionIDs.map(\.name).sorted().joined(separator: ",").utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        return "meridian-" + String(hash, radix: 16)
    }

    /// The one-way delay from `region` to each other region, in milliseconds: the matrix
    /// entry for the pair in either direction (the matrix is symmetric), zero when absent.
    public func oneWayDelaysMilliseconds(from region: RegionID) -> [RegionID: Double] {
        var delays: [RegionID: Double] = [:]
        for peer in regionIDs where peer != region {
            delays[peer] = latencyMilliseconds?[region.name]?[peer.name] ?? latencyMilliseconds?[peer.name]?[region.name] ?? 0
        }
        return delays
    }

    /// The largest one-way delay a cluster file may inject, in milliseconds.
    public static let oneWayDelayMillisecondsMax: Double = 10_000

    /// Every region's id, in file order.
    public var regionIDs: [RegionID] { regions.map(\.name) }

    /// The entry of one region.
    public func endpoint(of region: RegionID) -> RegionEndpoint? { regions.first { $0.name == region } }

    /// Reads and validates a cluster file.
    public static func load(path: String) throws -> ClusterConfiguration {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw MeridianError.invalid("cluster_file_unreadable", "cannot read cluster file \(path): \(error.localizedDescription)")
        }
        return try parse(data, source: path)
    }

    /// Parses and validates a cluster file's bytes.
    public static func parse(_ data: Data, source: String = "cluster file") throws -> ClusterConfiguration {
        let configuration: ClusterConfiguration
        do { configuration = try JSONDecoder().decode(ClusterConfiguration.self, from: data) } catch {
            throw MeridianError.invalid("invalid_cluster_file", "\(source) is not a valid cluster file: \(error)")
        }
        try configuration.validate(source: source)
        return configuration
    }

    func validate(source: String) throws(MeridianError) {
        guard !regions.isEmpty, regions.count <= Limits.regionsMax else {
            throw .invalid("invalid_cluster_file", "\(source) must name between 1 and \(Limits.regionsMax) regions")
        }
        guard Set(regions.map(\.name)).count == regions.count else {
            throw .invalid("invalid_cluster_file", "\(source) names a region twice")
        }
        for region in regions {
            for address in [region.api, region.peer] where HostAndPort(address) == nil {
                throw .invalid("invalid_cluster_file", "region \(region.name): '\(address)' is not host:port")
            }
        }
        if let explicitClusterID, !(1...Wire.clusterIDBytesMax).contains(explicitClusterID.utf8.count) {
            throw .invalid("invalid_cluster_file", "cluster_id must be 1 to \(Wire.clusterIDBytesMax) bytes")
        }
        try validateSecurity(source: source)
        let names = Set(regions.map(\.name.name))
        for (source, row) in latencyMilliseconds ?? [:] {
            for (destination, delay) in row {
                guard names.contains(source), names.contains(destination) else {
                    throw .invalid("invalid_cluster_file", "latency_ms names a region that is not in the cluster: \(source) -> \(destination)")
                }
                guard delay >= 0, delay <= Self.oneWayDelayMillisecondsMax else {
                    throw .invalid("invalid_cluster_file", "latency_ms \(source) -> \(destination) must be 0 to \(Self.oneWayDelayMillisecondsMax) ms")
                }
            }
        }
    }
}

/// A `host:port` address.
public struct HostAndPort: Sendable, Equatable {
    public var host: String
    public var port: Int

    /// Parses `host:port` (port 0 asks the system for a free port).
    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
              (0...65535).contains(port), colon > text.startIndex else { return nil }
        host = String(text[..<colon])
        self.port = port
    }
}
