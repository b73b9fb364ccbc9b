import MeridianCore
import Testing

@Suite("HybridLogicalClock")
struct HybridLogicalClockTests {
    static func timestamp(_ physical: UInt64, _ logical: UInt16) -> HLCTimestamp {
        HLCTimestamp(physicalMilliseconds: physical, logical: logical)
    }

    @Test func nowAdvancesTheLogicalCounterWhenWallTimeStandsStillOrGoesBackwards() {
        var clock = HybridLogicalClock()
        let walls: [UInt64] = [1_000, 1_000, 999, 500, 1_000, 1_001, 0]
        let issued = walls.map { clock.now(wallMilliseconds: $0) }
        #expect(issued == [
            Self.timestamp(1_000, 0), Self.timestamp(1_000, 1), Self.timestamp(1_000, 2), Self.timestamp(1_000, 3),
            Self.timestamp(1_000, 4), Self.timestamp(1_001, 0), Self.timestamp(1_001, 1),
        ])
        #expect(zip(issued, issued.dropFirst()).allSatisfy { $0 < $1 })
        #expect(clock.latest == issued.last)
    }

    @Test(arguments: [UInt64(7_000), 6_999, 0])
    func logicalCounterOverflowMovesToTheNextMillisecond(wallMilliseconds: UInt64) {
        var clock = HybridLogicalClock(latest: Self.timestamp(7_000, HLCTimestamp.logicalMax))
        let next = clock.now(wallMilliseconds: wallMilliseconds)
        #expect(next == Self.timestamp(7_001, 0))
        #expect(clock.now(wallMilliseconds: wallMilliseconds) == Self.timestamp(7_001, 1))
    }

    @Test func frozenWallClockIssuesStrictlyIncreasingTimestampsAcrossCounterOverflows() {
        var clock = HybridLogicalClock()
        let first = clock.now(wallMilliseconds: 1_000)
        var previous = first
        var outOfOrder = 0
        for _ in 1..<200_000 {
            let next = clock.now(wallMilliseconds: 1_000)
            if next <= previous { outOfOrder += 1 }
            previous = next
        }
        #expect(outOfOrder == 0)
        // Each tick is the successor of the previous one, so no value is skipped or repeated.
        #expect(previous.rawValue == first.rawValue + 199_999)
        // 200,000 ticks overflow the 65,536-value counter three times.
        #expect(previous.physicalMilliseconds == 1_003)
    }

    @Test func observeAdoptsARemoteTimestampExactlyAtTheSkewBound() throws {
        var clock = HybridLogicalClock(clockSkewMillisecondsMax: 500)
        _ = clock.now(wallMilliseconds: 10_000)
        let remote = Self.timestamp(10_500, 7)
        try clock.observe(remote, wallMilliseconds: 10_000)
        #expect(clock.latest == remote)
        let next = clock.now(wallMilliseconds: 10_000)
        #expect(next > remote)
        #expect(next == Self.timestamp(10_500, 8))
    }

    @Test func observeRejectsARemoteTimestampOneMillisecondBeyondTheSkewBoundAndDoesNotAdoptIt() {
        var clock = HybridLogicalClock(clockSkewMillisecondsMax: 500)
        let issued = clock.now(wallMilliseconds: 10_000)
        let remote = Self.timestamp(10_501, 0)
        let error = #expect(throws: MeridianError.self) {
            try clock.observe(remote, wallMilliseconds: 10_000)
        }
        #expect(error?.code == "clock_skew")
        #expect(clock.latest == issued)
        #expect(clock.now(wallMilliseconds: 10_000) < remote)
    }

    @Test func observeIgnoresARemoteTimestampOlderThanTheClock() throws {
        var clock = HybridLogicalClock()
        let issued = clock.now(wallMilliseconds: 10_000)
        try clock.observe(Self.timestamp(9_000, 3), wallMilliseconds: 10_000)
        #expect(clock.latest == issued)
    }

    @Test func resumingFromAPersistedHighWaterMarkNeverIssuesASmallerTimestamp() {
        var before = HybridLogicalClock()
        for _ in 0..<5 { _ = before.now(wallMilliseconds: 5_000_000) }
        let persisted = before.latest

        for wall: UInt64 in [0, 1_000, 4_999_999, 5_000_000] {
            var resumed = HybridLogicalClock(latest: persisted)
            #expect(resumed.now(wallMilliseconds: wall) > persisted, "wall time \(wall)")
        }
    }
}

@Suite("HLCTimestamp")
struct HLCTimestampTests {
    static let samples: [HLCTimestamp] = [
        .zero,
        HLCTimestamp(rawValue: 1),
        HLCTimestamp(rawValue: 9),
        HLCTimestamp(rawValue: 10),
        HLCTimestamp(rawValue: 0xF),
        HLCTimestamp(rawValue: 0x10),
        HLCTimestamp(physicalMilliseconds: 1_700_000_000_000, logical: 0),
        HLCTimestamp(physicalMilliseconds: 1_700_000_000_000, logical: 65_535),
        HLCTimestamp(physicalMilliseconds: 1_700_000_000_001, logical: 0),
        HLCTimestamp(physicalMilliseconds: HLCTimestamp.physicalMillisecondsMax, logical: HLCTimestamp.logicalMax),
    ]

    @Test func packsPhysicalAndLogicalParts() {
        let timestamp = HLCTimestamp(physicalMilliseconds: 0x1234, logical: 0xABCD)
        #expect(timestamp.rawValue == 0x1234_ABCD)
        #expect(timestamp.physicalMilliseconds == 0x1234)
        #expect(timestamp.logical == 0xABCD)
    }

    @Test(arguments: samples)
    func hexIsSixteenLowercaseDigitsAndRoundTrips(_ timestamp: HLCTimestamp) {
        #expect(timestamp.hex.utf8.count == 16)
        #expect(timestamp.hex == timestamp.hex.lowercased())
        #expect(HLCTimestamp(hex: timestamp.hex) == timestamp)
    }

    @Test func hexOrderEqualsTimestampOrder() {
        let shuffled = Self.samples.reversed() + Self.samples.prefix(3)
        #expect(shuffled.sorted { $0.hex < $1.hex } == shuffled.sorted())
    }

    @Test(arguments: ["", "0", "000000000000000", "00000000000000001", "000000000000000g", "zzzzzzzzzzzzzzzz", "+000000000000001", "-000000000000000", "00000000000000AB"])
    func hexParsingRejectsAnythingButSixteenHexDigits(_ text: String) {
        #expect(HLCTimestamp(hex: text) == nil)
    }
}
