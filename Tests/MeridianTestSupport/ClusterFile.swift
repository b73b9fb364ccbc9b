import Foundation
import MeridianCore

/// Writes a cluster file for a multi-region cluster on loopback.
///
/// - Parameters:
///   - url: Where to write the file.
///   - names: The regions, in order.
///   - ports: Two ports per region: the API ports of `names` in order, then their peer ports
///     in the same order (so `2 * names.count` of them, for example from ``freePorts(_:)``).
///   - latencyMilliseconds: The injected one-way delays, `latency[from][to]`, written as
///     the file's `latency_ms`.
public func writeClusterFile(to url: URL, regions names: [String], ports: [Int], latencyMilliseconds: [String: [String: Double]]) throws {
    precondition(ports.count == 2 * names.count, "two ports per region: API ports, then peer ports")
    let regions = names.enumerated().map { index, name -> JSONValue in
        .object(["name": .string(name), "api": .string("127.0.0.1:\(ports[index])"),
                 "peer": .string("127.0.0.1:\(ports[index + names.count])")])
    }
    let latency = JSONValue.object(latencyMilliseconds.mapValues { row in .object(row.mapValues { JSONValue.double($0) }) })
    try Data(JSONValue.object(["regions": .array(regions), "latency_ms": latency]).canonicalBytes).write(to: url)
}
