import Foundation
import MeridianCore
import MeridianNode

extension ClusterConfiguration {
    /// A cluster whose regions all listen on 127.0.0.1.
    ///
    /// - Parameters:
    ///   - regions: The region names, in order.
    ///   - ports: `2 * regions.count` ports: the API ports of `regions` in order, then their
    ///     peer ports in the same order (`LocalPorts.consecutive` or `LocalPorts.free`).
    ///   - latencyMilliseconds: The one-way delays to inject, as the file's `latency_ms`.
    /// - Throws: `MeridianError` for a name that is not a region name.
    public static func loopback(regions: [String], ports: [Int], latencyMilliseconds: [String: [String: Double]]?) throws -> ClusterConfiguration {
        precondition(ports.count == 2 * regions.count, "two ports per region: the API ports, then the peer ports")
        let endpoints = try regions.enumerated().map { index, name in
            RegionEndpoint(name: try RegionID(name), api: "127.0.0.1:\(ports[index])", peer: "127.0.0.1:\(ports[regions.count + index])")
        }
        return ClusterConfiguration(regions: endpoints, latencyMilliseconds: latencyMilliseconds)
    }

    /// Writes the cluster file: pretty, keys sorted, so that people can read and edit it.
    public func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(self).write(to: url)
    }
}
