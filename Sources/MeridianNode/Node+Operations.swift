import MeridianCore
import NIOCore

extension Node {
    /// Bytes queued for each connected peer and not yet taken by its socket (empty in a
    /// one-region cluster).
    public func peerSendQueueBytes() -> [RegionID: Int] {
        transport?.sendQueueBytes() ?? [:]
    }
}

extension Node {
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
