import MeridianCore
import NIOCore

extension Node {
    /// Bytes queued for each connected peer and not yet taken by its socket (empty in a
    /// one-region cluster).
    public func peerSendQueueBytes() -> [RegionID: Int] {
        transport?.sendQueueBytes() ?? [:]
    }
}

/// Whether a node's storage takes writes, as `/v1/health` reports it.
public struct StorageHealth: Sendable, Equatable {
    /// Why writes fail or are about to; empty when storage is healthy.
    public var problems: [String]

    /// Whether nothing is wrong.
    public var isHealthy: Bool { problems.isEmpty }
}

extension Node {
    /// How long a storage failure keeps storage reported degraded, unless a request that
    /// changes data commits sooner, in milliseconds.
    public static let storageFailureHoldMilliseconds: UInt64 = 10_000
    /// Below this many available bytes on the data directory's file system, storage is
    /// reported degraded before a write fails (a commit, a checkpoint or the audit log may
    /// need that much).
    public static let dataFreeBytesMin: UInt64 = 16 << 20

    /// Damage found in this region's stored data since it started (for the metric).
    public var corruptionDetectedTotal: Int { executor.corruptionFound.detectedTotal }

    /// Whether storage takes writes: degraded while a storage transaction failed in the
    /// last `storageFailureHoldMilliseconds` and no request that changes data has
    /// committed since (a full disk, an I/O error), or while the data directory's file
    /// system has less than `dataFreeBytesMin` available. It recovers by itself once
    /// space is freed: the next committed write, or the hold, clears the failure. Damaged
    /// stored data (a row that fails its checksum, a database page SQLite cannot parse)
    /// keeps it degraded until a repair.
    public func storageHealth() -> StorageHealth {
        var problems: [String] = []
        if let failure = executor.recentStorageFailure(withinMilliseconds: Self.storageFailureHoldMilliseconds) {
            problems.append("a storage transaction failed \(failure.ageMilliseconds) ms ago and no write has committed since: \(failure.error.message)")
        }
        for problem in executor.corruptionFound.problems {
            problems.append("stored data is damaged: \(problem)")
        }
        if let available = dataDirectory?.availableBytes(), available < Self.dataFreeBytesMin {
            problems.append("the data directory's file system has \(available) bytes available (below \(Self.dataFreeBytesMin)): writes may fail")
        }
        return StorageHealth(problems: problems)
    }

    /// How long, in milliseconds, since `peer` last delivered anything to this region (a
    /// message, a heartbeat: regions send each other at least one every 100 ms); `nil`
    /// when no connection to it is up. This region itself is never silent (0). A region
    /// that stopped without closing its connections (frozen, or cut off inbound) shows
    /// here first: its connection stays up while this grows.
    public func silenceMilliseconds(of peer: RegionID) -> Int64? {
        guard peer != region else { return 0 }
        return transport?.silenceMilliseconds(of: peer)
    }
}

extension PeerTransport {
    /// How long since the connection to `peer` last delivered a message, in milliseconds;
    /// `nil` when none is up.
    public func silenceMilliseconds(of peer: RegionID) -> Int64? {
        let heard = state.withLock { state in state.links[peer].flatMap { $0.connection == nil ? nil : $0.lastHeard } }
        return heard.map { (NIODeadline.now() - $0).nanoseconds / 1_000_000 }
    }

    /// Bytes queued for each connected peer and not yet taken by its socket.
    public func sendQueueBytes() -> [RegionID: Int] {
        let connections = state.withLock { state in state.links.compactMapValues(\.connection) }
        return connections.mapValues(\.queuedBytes)
    }
}
