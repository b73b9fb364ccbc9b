import MeridianCore
@testable import MeridianReplication

/// The machine every test drives: us-east shipping to eu-west and ap-south, with a window
/// of ten entries, a one-second retransmission timeout, a heartbeat every 100 ms and fifty
/// retained entries per origin, so that every limit is reached in a few steps.
enum Fixture {
    static let east = try! RegionID("us-east")
    static let west = try! RegionID("eu-west")
    static let south = try! RegionID("ap-south")
    static let table = try! TableName("t")

    /// us-east's configuration with the small limits above, then `adjust`.
    static func configuration(_ adjust: (inout ReplicationConfiguration) -> Void = { _ in }) -> ReplicationConfiguration {
        var configuration = ReplicationConfiguration(local: east, peers: [west, south])
        configuration.windowEntriesMax = 10
        configuration.retransmitTimeoutMilliseconds = 1000
        configuration.heartbeatIntervalMilliseconds = 100
        configuration.originLogEntriesRetainedMax = 50
        adjust(&configuration)
        return configuration
    }

    /// us-east restored with what it has applied (its own origin is its log's end).
    static func replication(applied: [RegionID: UInt64], latestOwnTimestamp: HLCTimestamp = .zero,
                            _ adjust: (inout ReplicationConfiguration) -> Void = { _ in }) -> Replication {
        Replication(configuration: configuration(adjust), applied: Positions(applied), latestOwnTimestamp: latestOwnTimestamp)
    }

    /// us-east connected to `peer`, which answered the catch-up with `peerApplied`.
    static func streaming(applied: [RegionID: UInt64], to peer: RegionID, peerApplied: [RegionID: UInt64],
                          _ adjust: (inout ReplicationConfiguration) -> Void = { _ in }) -> Replication {
        var replication = replication(applied: applied, adjust)
        _ = replication.peerConnected(peer, nowMilliseconds: 0)
        replication.receivedCatchUp(from: peer, positions: Positions(peerApplied), nowMilliseconds: 0)
        return replication
    }

    static func range(_ peer: RegionID, _ origin: RegionID, after: UInt64, through: UInt64) -> SendRange {
        SendRange(peer: peer, origin: origin, after: after, through: through)
    }

    /// A heartbeat that carries only the sender's applied positions.
    static func heartbeat(applied: [RegionID: UInt64]) -> Heartbeat {
        Heartbeat(latestSequence: 0, latestTimestamp: .zero, wallMilliseconds: 0, applied: Positions(applied))
    }

    /// An entry whose payload does not matter to shipping.
    static func entry(_ origin: RegionID, _ sequence: UInt64) -> LogEntry {
        LogEntry(origin: origin, sequence: sequence, timestamp: HLCTimestamp(physicalMilliseconds: sequence, logical: 0), payload: .withheld(table: table))
    }
}
