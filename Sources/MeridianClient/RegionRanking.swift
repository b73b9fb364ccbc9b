/// The client's view of the regions: how near each one is, whether it is healthy, and
/// when one that failed may be tried again.
///
/// A pure state machine: it does no I/O and reads no clock; every method that depends on
/// time takes `now`. The client holds it under a lock and carries out what it returns.
///
/// Order: healthy regions first, then unhealthy ones; within each, the nearest first (the
/// measured median round trip, or before any measurement the simulated round trip from
/// the latency matrix); ties keep the order the regions were given in.
struct RegionRanking: Sendable {
    /// One region and what is known of it.
    struct Entry: Sendable, Equatable {
        let address: RegionAddress
        /// The region's position in the list given to the client: the last tie-break.
        let index: Int
        /// The round trip assumed before any measurement: twice the simulated one-way delay.
        let priorRoundTrip: Duration
        /// The median round trip of the last measurement that reached the region.
        var measuredRoundTrip: Duration?
        var healthy = true
        /// Failures since the region last answered; decides the backoff.
        /// Invariant: `healthy == (failures == 0)`.
        var failures = 0
        /// While unhealthy: the instant from which the region may be probed again.
        var unhealthyUntil: ContinuousClock.Instant?
        /// Whether a probe of the region is in flight (at most one at a time).
        var probing = false

        var roundTrip: Duration { measuredRoundTrip ?? priorRoundTrip }
    }

    /// The most consecutive failures counted: the backoff stops doubling long before.
    static let failuresCountMax = 32

    /// Every region, in the order given to the client.
    private(set) var entries: [Entry]
    /// The first backoff after a failure; it doubles with each further failure.
    let backoffMin: Duration
    /// The longest backoff.
    let backoffMax: Duration

    init(regions: [RegionAddress], priorRoundTrips: [Duration], backoffMin: Duration, backoffMax: Duration) {
        precondition(!regions.isEmpty, "a ranking needs at least one region")
        precondition(regions.count == priorRoundTrips.count, "one prior round trip per region")
        precondition(Set(regions.map(\.name)).count == regions.count, "region names must be distinct")
        precondition(.zero < backoffMin && backoffMin <= backoffMax, "the backoff bounds must be positive and ordered")
        entries = regions.enumerated().map { index, address in
            Entry(address: address, index: index, priorRoundTrip: priorRoundTrips[index])
        }
        self.backoffMin = backoffMin
        self.backoffMax = backoffMax
    }

    /// Every region in rank order: the order in which a request tries them.
    var ranked: [Entry] {
        entries.sorted { ($0.healthy ? 0 : 1, $0.roundTrip, $0.index) < ($1.healthy ? 0 : 1, $1.roundTrip, $1.index) }
    }

    /// What the client shows of each region, in rank order.
    var statuses: [RegionStatus] {
        ranked.map { entry in
            RegionStatus(name: entry.address.name, url: entry.address.url, healthy: entry.healthy,
                         roundTripMilliseconds: entry.measuredRoundTrip.map(Self.milliseconds))
        }
    }

    /// The unhealthy regions whose backoff is over and that no one probes yet; they are
    /// marked as probed, and the caller must report each probe's outcome with
    /// `recordProbe`.
    mutating func takeDueProbes(now: ContinuousClock.Instant) -> [RegionAddress] {
        var due: [RegionAddress] = []
        for index in entries.indices where !entries[index].healthy && !entries[index].probing {
            guard let until = entries[index].unhealthyUntil, until <= now else { continue }
            entries[index].probing = true
            due.append(entries[index].address)
        }
        return due
    }

    /// The region answered (anything but a 503): it is healthy again.
    mutating func recordAnswer(_ name: String) {
        update(name) { entry in
            entry.healthy = true
            entry.failures = 0
            entry.unhealthyUntil = nil
        }
    }

    /// The region failed (connection failure, timeout or 503): unhealthy for a backoff that
    /// doubles with each consecutive failure, up to `backoffMax`.
    mutating func recordFailure(_ name: String, now: ContinuousClock.Instant) {
        guard let failures = entries.first(where: { $0.address.name == name })?.failures else {
            preconditionFailure("the ranking has no region named \(name)")
        }
        let until = now + backoff(failures: min(failures + 1, Self.failuresCountMax))
        update(name) { entry in
            entry.failures = min(entry.failures + 1, Self.failuresCountMax)
            entry.healthy = false
            entry.unhealthyUntil = until
        }
    }

    /// A measurement ended: its median round trip, or nil when the region did not answer
    /// (then the round trip of the last measurement that reached it is kept).
    mutating func recordMeasurement(_ name: String, roundTrip: Duration?, now: ContinuousClock.Instant) {
        guard let roundTrip else { return recordFailure(name, now: now) }
        update(name) { $0.measuredRoundTrip = roundTrip }
        recordAnswer(name)
    }

    /// The probe of a region whose backoff was over ended. It decides health only: the rank
    /// follows full measurements, so that every region is compared on the same basis.
    mutating func recordProbe(_ name: String, answered: Bool, now: ContinuousClock.Instant) {
        update(name) { $0.probing = false }
        if answered { recordAnswer(name) } else { recordFailure(name, now: now) }
    }

    /// The backoff after `failures` consecutive failures.
    func backoff(failures: Int) -> Duration {
        precondition(failures >= 1, "a backoff follows at least one failure")
        var backoff = backoffMin
        for _ in 1..<failures where backoff < backoffMax { backoff *= 2 }
        return min(backoff, backoffMax)
    }

    private mutating func update(_ name: String, _ change: (inout Entry) -> Void) {
        guard let index = entries.firstIndex(where: { $0.address.name == name }) else {
            preconditionFailure("the ranking has no region named \(name)")
        }
        change(&entries[index])
        precondition(entries[index].healthy == (entries[index].failures == 0), "a region is healthy exactly when it has no failure counted")
    }

    static func milliseconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }
}
