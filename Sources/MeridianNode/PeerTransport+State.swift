import Foundation
import MeridianCore
import MeridianRegion
import MeridianReplication
import NIOCore

/// A value behind a lock. Every access goes through `withLock`; never call out (to the
/// delegate, or to NIO in a way that could call back) while holding it.
final class PeerTransportLock<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

/// Everything the transport shares between threads; changed only under its lock.
///
/// Invariants: `links` has one entry per peer, for the transport's whole life; a link's
/// `connection` has completed its handshake and is in `openChannels` until it closes;
/// `events` is delivered in order by at most one thread (the one that set `isDelivering`).
struct PeerTransportState: Sendable {
    enum Phase: Sendable, Equatable {
        case created, starting, running, shutDown
    }

    /// What the delegate must hear, in order.
    enum Event: Sendable {
        case connected(RegionID)
        case disconnected(RegionID)
        case received(PeerMessage, from: RegionID)
    }

    /// One peer's link: its connection, its fault switches and its dial backoff.
    struct Link: Sendable {
        var connection: PeerConnection? = nil
        var outboundCut = false
        var inboundCut = false
        /// Dials since the last completed handshake (drives the backoff).
        var failedAttempts = 0
        /// When the current connection last delivered a message (or completed its handshake).
        var lastHeard: NIODeadline? = nil
        var retry: Scheduled<Void>? = nil
    }

    var phase = Phase.created
    var delegate: (any PeerTransportDelegate)?
    var listener: (any Channel)? = nil
    var boundPort: Int? = nil
    var links: [RegionID: Link]
    /// Every open connection, with or without a completed handshake (closed on shutdown).
    var openChannels: [ObjectIdentifier: any Channel] = [:]
    var events: [Event] = []
    var isDelivering = false

    init(peers: [RegionID], delegate: any PeerTransportDelegate) {
        links = Dictionary(uniqueKeysWithValues: peers.map { ($0, Link()) })
        self.delegate = delegate
    }

    /// Makes `connection` the peer's connection unless a preferred one exists.
    ///
    /// The connection dialed by the lower region is preferred, so both sides keep the same
    /// one; between two dialed by the same side the newer wins (the older is presumed dead).
    mutating func register(_ connection: PeerConnection) -> (kept: Bool, replaced: PeerConnection?) {
        guard phase == .running, var link = links[connection.peer] else { return (false, nil) }
        let existing = link.connection
        if let existing, existing.dialedByLower && !connection.dialedByLower {
            return (false, nil)
        }
        link.connection = connection
        link.failedAttempts = 0
        link.lastHeard = .now()
        links[connection.peer] = link
        if existing != nil { events.append(.disconnected(connection.peer)) }
        events.append(.connected(connection.peer))
        return (true, existing)
    }

    /// Forgets a closed connection; whether it was its peer's current one.
    mutating func remove(_ connection: PeerConnection) -> Bool {
        guard phase == .running, links[connection.peer]?.connection === connection else { return false }
        links[connection.peer]?.connection = nil
        events.append(.disconnected(connection.peer))
        return true
    }

    /// Queues a received message for the delegate; whether it was queued (not from a
    /// replaced connection, not cut).
    mutating func receive(_ message: PeerMessage, on connection: PeerConnection) -> Bool {
        guard let link = links[connection.peer], link.connection === connection, !link.inboundCut else { return false }
        links[connection.peer]?.lastHeard = .now()
        events.append(.received(message, from: connection.peer))
        return true
    }

    /// Whether the caller became the one thread delivering events.
    mutating func beginDelivering() -> Bool {
        guard !isDelivering, !events.isEmpty else { return false }
        isDelivering = true
        return true
    }

    /// The events to deliver next, or `nil` (and delivery ends) when none are left.
    mutating func takeEventsToDeliver() -> ([Event], any PeerTransportDelegate)? {
        precondition(isDelivering, "only the delivering thread takes events")
        guard !events.isEmpty, let delegate else {
            isDelivering = false
            events.removeAll()
            return nil
        }
        defer { events.removeAll(keepingCapacity: true) }
        return (events, delegate)
    }
}
