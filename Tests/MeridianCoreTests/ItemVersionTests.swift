import MeridianCore
import Testing

@Suite("ItemVersion")
struct ItemVersionTests {
    static let usEast = try! RegionID("us-east")
    static let euWest = try! RegionID("eu-west")

    static func version(_ physical: UInt64, _ logical: UInt16, _ origin: RegionID = usEast) -> ItemVersion {
        ItemVersion(timestamp: HLCTimestamp(physicalMilliseconds: physical, logical: logical), origin: origin)
    }

    @Test func tokenIsHexTimestampDashRegion() {
        #expect(Self.version(1, 2).token == "0000000000010002-us-east")
    }

    @Test(arguments: [version(0, 0), version(1_700_000_000_000, 65_535, euWest), version(HLCTimestamp.physicalMillisecondsMax, 1)])
    func tokenRoundTrips(_ version: ItemVersion) {
        #expect(ItemVersion(token: version.token) == version)
    }

    @Test(arguments: [
        "",
        "0000000000010002",
        "0000000000010002-",
        "0000000000010002us-east",
        "0000000000010002_us-east",
        "000000000010002-us-east",
        "00000000000100021-us-east",
        "000000000001000g-us-east",
        "+000000000010002-us-east",
        "0000000000010002-US-EAST",
        "0000000000010002-us_east",
        "\"0000000000010002-us-east\"",
        "*",
    ])
    func garbageTokensAreRejected(_ token: String) {
        #expect(ItemVersion(token: token) == nil)
    }

    @Test func versionsOrderByTimestampThenRegion() {
        let ordered = [Self.version(1, 0, Self.usEast), Self.version(1, 1, Self.euWest), Self.version(1, 1, Self.usEast), Self.version(2, 0, Self.euWest)]
        #expect(ordered.reversed().sorted() == ordered)
        #expect(Self.version(5, 0, Self.euWest) < Self.version(5, 0, Self.usEast))
        #expect(!(Self.version(5, 0) < Self.version(5, 0)))
    }
}
