import MeridianCore
import MeridianRegion
import MeridianReplication

/// The one-way delays between regions, in milliseconds: DESIGN.md §6's matrix (one half of
/// measured cloud round trips). MeridianNode's `Geography` holds the same numbers for
/// `meridian dev`; the simulator keeps its own copy because it must never import the runtime.
enum LatencyTable {
    static let oneWayMilliseconds: [String: [String: UInt64]] = [
        "us-east": ["us-west": 32, "eu-west": 35, "ap-south": 93, "ap-northeast": 73],
        "us-west": ["us-east": 32, "eu-west": 60, "ap-south": 109, "ap-northeast": 49],
        "eu-west": ["us-east": 35, "us-west": 60, "ap-south": 60, "ap-northeast": 100],
        "ap-south": ["us-east": 93, "us-west": 109, "eu-west": 60, "ap-northeast": 62],
        "ap-northeast": ["us-east": 73, "us-west": 49, "eu-west": 100, "ap-south": 62],
    ]

    /// The delay assumed between two regions the table does not name.
    static let unknownPairMilliseconds: UInt64 = 50

    /// The one-way delay from one region to another (1 ms inside one region).
    static func oneWay(from source: RegionID, to destination: RegionID) -> UInt64 {
        if source == destination { return 1 }
        return oneWayMilliseconds[source.name]?[destination.name] ?? unknownPairMilliseconds
    }
}

/// A direction between two regions: the unit of loss and one-way cuts.
struct Link: Hashable, Comparable, CustomStringConvertible {
    let from: RegionID
    let to: RegionID

    static func < (lhs: Link, rhs: Link) -> Bool { (lhs.from, lhs.to) < (rhs.from, rhs.to) }
    var description: String { "\(from)->\(to)" }
}

/// An unordered pair of regions: the unit of a connection and of a partition.
struct RegionPair: Hashable, Comparable, CustomStringConvertible {
    let first: RegionID
    let second: RegionID

    init(_ one: RegionID, _ other: RegionID) {
        precondition(one != other, "a region is not paired with itself")
        (first, second) = one < other ? (one, other) : (other, one)
    }

    func contains(_ region: RegionID) -> Bool { first == region || second == region }
    func other(than region: RegionID) -> RegionID { region == first ? second : first }

    static func < (lhs: RegionPair, rhs: RegionPair) -> Bool { (lhs.first, lhs.second) < (rhs.first, rhs.second) }
    var description: String { "\(first)|\(second)" }
}

/// A message in flight on one connection.
struct Envelope {
    let from: RegionID
    let to: RegionID
    /// The incarnation of the connection it was sent on: a message never outlives its
    /// connection, as bytes in a TCP connection do not reach the next one.
    let epoch: UInt64
    let message: PeerMessage
    /// A second copy made by the network's duplication fault.
    let isDuplicate: Bool
}

/// A fault of the network, active from its start until its heal.
enum NetworkFault: Equatable {
    /// The pair's connection goes down and cannot come back.
    case partition(RegionPair)
    /// One direction silently drops every message; the connection stays up.
    case oneWay(Link)
    /// Every connection of the region goes down.
    case isolation(RegionID)
    /// One direction drops this percentage of messages; the connection stays up.
    case lossyLink(Link, percent: Int)
    /// Every link duplicates and reorders these percentages of messages.
    case noise(duplicationPercent: Int, reorderPercent: Int)
}

/// The simulated network between regions: connections, delays, and the active faults.
///
/// By default a connection behaves like TCP: every message arrives, once, in order, after
/// the one-way delay of its pair plus jitter. Faults break that: a partition or isolation
/// takes connections down (both ends are told, and every message in flight on them is
/// lost); a one-way cut or a lossy link drops messages on a connection that stays up, which
/// only the replication layer's retransmission repairs; noise duplicates messages and lets
/// some overtake others.
struct SimulatedNetwork {
    /// One connection's state.
    struct Connection {
        var isUp = false
        /// Incremented each time the connection comes up.
        var epoch: UInt64 = 0
        /// Whether a reconnection attempt is scheduled.
        var reconnectScheduled = false
    }

    /// What the network did with messages, for the run's summary.
    struct Counters: Equatable {
        var sent = 0
        var delivered = 0
        var lost = 0
        var cut = 0
        var duplicated = 0
        var reordered = 0
        /// Lost because their connection went down while they were in flight.
        var reset = 0
        /// Relayed entries discarded by the `drop-relay` mutation.
        var relayDiscarded = 0
    }

    /// The `drop-relay` mutation: entries of origins other than the sender are discarded.
    let dropsRelayedEntries: Bool
    private(set) var connections: [RegionPair: Connection] = [:]
    /// Active faults by id, in the order they started.
    private(set) var faults: [(id: Int, fault: NetworkFault)] = []
    /// Per link, the time of the latest in-order delivery scheduled (FIFO per connection).
    private var lastDelivery: [Link: UInt64] = [:]
    var counters = Counters()

    init(pairs: [RegionPair], dropsRelayedEntries: Bool) {
        self.dropsRelayedEntries = dropsRelayedEntries
        for pair in pairs { connections[pair] = Connection() }
    }

    // MARK: Faults

    mutating func begin(_ fault: NetworkFault, id: Int) {
        faults.append((id, fault))
    }

    /// Ends a fault; returns false when it was not active.
    @discardableResult
    mutating func end(faultID: Int) -> Bool {
        guard let index = faults.firstIndex(where: { $0.id == faultID }) else { return false }
        faults.remove(at: index)
        return true
    }

    /// Whether a fault keeps the pair's connection down.
    func isCut(_ pair: RegionPair) -> Bool {
        faults.contains { _, fault in
            switch fault {
            case .partition(let cut): return cut == pair
            case .isolation(let region): return pair.contains(region)
            case .oneWay, .lossyLink, .noise: return false
            }
        }
    }

    /// Whether the link silently drops everything.
    func isOneWayCut(_ link: Link) -> Bool {
        faults.contains { _, fault in if case .oneWay(let cut) = fault { return cut == link } else { return false } }
    }

    /// The greatest loss percentage of the link's lossy faults.
    func lossPercent(_ link: Link) -> Int {
        faults.reduce(0) { percent, active in
            if case .lossyLink(let lossy, let loss) = active.fault, lossy == link { return max(percent, loss) }
            return percent
        }
    }

    /// The duplication and reordering percentages of the active noise.
    var noise: (duplicationPercent: Int, reorderPercent: Int) {
        faults.reduce((0, 0)) { noise, active in
            if case .noise(let duplication, let reorder) = active.fault { return (max(noise.0, duplication), max(noise.1, reorder)) }
            return noise
        }
    }

    // MARK: Connections

    func connection(_ pair: RegionPair) -> Connection {
        guard let connection = connections[pair] else { preconditionFailure("no connection for \(pair)") }
        return connection
    }

    mutating func bringUp(_ pair: RegionPair) {
        connections[pair]?.isUp = true
        connections[pair]?.epoch += 1
        connections[pair]?.reconnectScheduled = false
        lastDelivery[Link(from: pair.first, to: pair.second)] = nil
        lastDelivery[Link(from: pair.second, to: pair.first)] = nil
    }

    mutating func bringDown(_ pair: RegionPair) {
        connections[pair]?.isUp = false
    }

    mutating func setReconnectScheduled(_ pair: RegionPair, _ scheduled: Bool) {
        connections[pair]?.reconnectScheduled = scheduled
    }

    // MARK: Messages

    /// Puts a message on the wire; returns the copies to deliver and when.
    mutating func transmit(_ message: PeerMessage, from: RegionID, to: RegionID, now: UInt64,
                           random: inout SimulationRandom) -> [(time: UInt64, envelope: Envelope)] {
        let link = Link(from: from, to: to)
        let connection = connection(RegionPair(from, to))
        counters.sent += 1
        guard connection.isUp else {
            counters.reset += 1
            return []
        }
        guard let message = relayFiltered(message, from: from) else { return [] }
        if isOneWayCut(link) {
            counters.cut += 1
            return []
        }
        let loss = lossPercent(link)
        if loss > 0 && random.chance(percent: loss) {
            counters.lost += 1
            return []
        }
        let base = LatencyTable.oneWay(from: from, to: to)
        let jitter = random.uniform(in: 0...(base / 10 + 2))
        let noise = self.noise
        var deliveries: [(time: UInt64, envelope: Envelope)] = []
        let envelope = Envelope(from: from, to: to, epoch: connection.epoch, message: message, isDuplicate: false)
        if noise.reorderPercent > 0 && random.chance(percent: noise.reorderPercent) {
            // Overtaking: delivered on its own schedule, ignoring the queue ahead of it.
            counters.reordered += 1
            deliveries.append((now + base / 2 + random.uniform(in: 0...base), envelope))
        } else {
            let time = max(now + base + jitter, lastDelivery[link] ?? 0)
            lastDelivery[link] = time
            deliveries.append((time, envelope))
        }
        if noise.duplicationPercent > 0 && random.chance(percent: noise.duplicationPercent) {
            counters.duplicated += 1
            let copy = Envelope(from: from, to: to, epoch: connection.epoch, message: message, isDuplicate: true)
            deliveries.append((now + base + random.uniform(in: 0...(2 * base)), copy))
        }
        return deliveries
    }

    /// Whether an envelope may be delivered now: its connection is still the one it was sent on.
    mutating func admits(_ envelope: Envelope) -> Bool {
        let connection = connection(RegionPair(envelope.from, envelope.to))
        guard connection.isUp, connection.epoch == envelope.epoch else {
            counters.reset += 1
            return false
        }
        counters.delivered += 1
        return true
    }

    /// The message as the `drop-relay` mutation lets it through: `entries` keep only the
    /// sender's own origin; `nil` when nothing is left.
    private mutating func relayFiltered(_ message: PeerMessage, from: RegionID) -> PeerMessage? {
        guard dropsRelayedEntries, case .replication(.entries(let entries)) = message else { return message }
        let own = entries.filter { $0.origin == from }
        counters.relayDiscarded += entries.count - own.count
        return own.isEmpty ? nil : .replication(.entries(own))
    }
}
