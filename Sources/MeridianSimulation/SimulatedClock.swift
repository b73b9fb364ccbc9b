/// A region's wall clock: virtual time plus an offset that drifts, occasionally jumps, and,
/// during an excursion fault, leaves its bound.
///
/// Invariant: `offsetMilliseconds` stays within ±`boundMilliseconds`; only
/// `excursionMilliseconds` takes the clock further, and only while an excursion fault lasts.
struct SimulatedClock {
    /// How far the offset may stray from virtual time, in milliseconds. Two regions differ
    /// by at most twice this outside excursions, which the simulator keeps below the regions'
    /// `clockSkewMillisecondsMax`.
    let boundMilliseconds: Int64
    private(set) var offsetMilliseconds: Int64
    /// The drift per second of virtual time, in milliseconds.
    private(set) var driftMillisecondsPerSecond: Int64
    /// An excursion's extra offset (zero outside excursion faults).
    var excursionMilliseconds: Int64 = 0

    /// The largest drift per second a clock is given, in milliseconds (real clocks drift
    /// far less; a fast drift makes the bound matter within a short run).
    static let driftMillisecondsPerSecondMax: Int64 = 4

    init(boundMilliseconds: Int64, random: inout SimulationRandom) {
        precondition(boundMilliseconds >= 0, "a clock bound is not negative")
        self.boundMilliseconds = boundMilliseconds
        offsetMilliseconds = Int64(random.integer(in: -Int(boundMilliseconds / 2)...Int(boundMilliseconds / 2)))
        driftMillisecondsPerSecond = Int64(random.integer(in: -Int(Self.driftMillisecondsPerSecondMax)...Int(Self.driftMillisecondsPerSecondMax)))
    }

    /// The wall time the region reads at a virtual time, in milliseconds since the epoch.
    func wallMilliseconds(at virtualMilliseconds: UInt64) -> UInt64 {
        let offset = offsetMilliseconds + excursionMilliseconds
        return offset >= 0 ? virtualMilliseconds + UInt64(offset) : virtualMilliseconds - UInt64(-offset)
    }

    /// One second of drift: the offset moves by the drift rate plus a little noise, and the
    /// rate itself wanders; both stay within their bounds.
    mutating func driftOneSecond(random: inout SimulationRandom) {
        offsetMilliseconds = clamped(offsetMilliseconds + driftMillisecondsPerSecond + Int64(random.integer(in: -1...1)))
        if random.chance(percent: 10) {
            driftMillisecondsPerSecond = Int64(random.integer(in: -Int(Self.driftMillisecondsPerSecondMax)...Int(Self.driftMillisecondsPerSecondMax)))
        }
    }

    /// A step correction, as NTP makes: a new offset anywhere within the bound. Returns the jump.
    mutating func jump(random: inout SimulationRandom) -> Int64 {
        let before = offsetMilliseconds
        offsetMilliseconds = Int64(random.integer(in: -Int(boundMilliseconds)...Int(boundMilliseconds)))
        return offsetMilliseconds - before
    }

    private func clamped(_ offset: Int64) -> Int64 {
        min(boundMilliseconds, max(-boundMilliseconds, offset))
    }
}
