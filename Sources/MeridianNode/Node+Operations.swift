import MeridianCore

extension Node {
    /// Bytes queued for each connected peer and not yet taken by its socket (empty in a
    /// one-region cluster).
    public func peerSendQueueBytes() -> [RegionID: Int] {
        transport?.sendQueueBytes() ?? [:]
    }
}

extension PeerTransport {
    /// Bytes queued for each connected peer and not yet taken by its socket.
    public func sendQueueBytes() -> [RegionID: Int] {
        let connections = state.withLock { state in state.links.compactMapValues(\.connection) }
        return connections.mapValues(\.queuedBytes)
    }
}
