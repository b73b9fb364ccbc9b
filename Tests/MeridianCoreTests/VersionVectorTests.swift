import MeridianCore
import Testing

@Suite("VersionVector")
struct VersionVectorTests {
    static let usEast = try! RegionID("us-east")
    static let euWest = try! RegionID("eu-west")
    static let apSouth = try! RegionID("ap-south")

    static func vector(_ counts: [RegionID: UInt64]) -> VersionVector { VersionVector(counts) }

    @Test func absentRegionCountsZero() {
        let vector = Self.vector([Self.usEast: 2])
        #expect(vector[Self.usEast] == 2)
        #expect(vector[Self.euWest] == 0)
    }

    @Test func incrementingCountsOneMoreWriteAtTheRegion() {
        let vector = VersionVector().incremented(for: Self.usEast).incremented(for: Self.usEast).incremented(for: Self.euWest)
        #expect(vector == Self.vector([Self.usEast: 2, Self.euWest: 1]))
    }

    @Test func mergingTakesThePointwiseMaximum() {
        let left = Self.vector([Self.usEast: 3, Self.euWest: 1])
        let right = Self.vector([Self.euWest: 4, Self.apSouth: 2])
        #expect(left.merged(with: right) == Self.vector([Self.usEast: 3, Self.euWest: 4, Self.apSouth: 2]))
        #expect(left.merged(with: VersionVector()) == left)
    }

    @Test func compareNamesEveryCausalOrder() {
        let base = Self.vector([Self.usEast: 2, Self.euWest: 1])
        #expect(base.compare(base) == .equal)
        #expect(base.incremented(for: Self.apSouth).compare(base) == .dominates)
        #expect(base.compare(base.incremented(for: Self.usEast)) == .dominatedBy)
        #expect(base.incremented(for: Self.usEast).compare(base.incremented(for: Self.euWest)) == .concurrent)
        #expect(VersionVector().compare(VersionVector()) == .equal)
        #expect(VersionVector().compare(base) == .dominatedBy)
    }

    @Test func coversTheDotsItHasSeen() {
        let vector = Self.vector([Self.usEast: 2])
        #expect(vector.covers(Dot(region: Self.usEast, counter: 1)))
        #expect(vector.covers(Dot(region: Self.usEast, counter: 2)))
        #expect(!vector.covers(Dot(region: Self.usEast, counter: 3)))
        #expect(!vector.covers(Dot(region: Self.euWest, counter: 1)))
    }

    @Test func tokenSortsEntriesByRegion() {
        #expect(Self.vector([Self.usEast: 3, Self.euWest: 1]).token == "eu-west.1~us-east.3")
        #expect(VersionVector().token == VersionVector.emptyToken)
    }

    @Test(arguments: [
        VersionVector(),
        vector([usEast: 1]),
        vector([usEast: 3, euWest: 1, apSouth: 12]),
        vector([usEast: UInt64.max]),
    ])
    func tokenRoundTrips(_ vector: VersionVector) {
        #expect(VersionVector(token: vector.token) == vector)
        #expect(vector.token.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "~") || byte == UInt8(ascii: "-")
        })
    }

    @Test(arguments: [
        "",
        "~",
        "00",
        "us-east",
        "us-east.",
        ".3",
        "us-east.0",
        "us-east.03",
        "us-east.+3",
        "us-east.-3",
        "us-east.3.4",
        "us-east.3~",
        "~us-east.3",
        "us-east.3~~eu-west.1",
        "us-east.3~eu-west.1",
        "us-east.3~us-east.4",
        "US-EAST.3",
        "us_east.3",
        "us-east.18446744073709551616",
        "us-east.99999999999999999999999",
        "us-east 3",
        "\"us-east.3\"",
        "us-east.３",
        String(repeating: "a", count: VersionVector.tokenBytesMax + 1),
    ])
    func malformedTokensAreRejected(_ token: String) {
        #expect(VersionVector(token: token) == nil)
    }

    @Test func tooManyRegionsAreRejected() throws {
        let counts = try (0...Limits.regionsMax).map { try RegionID("r\($0)") }
        let vector = VersionVector(Dictionary(uniqueKeysWithValues: counts.map { ($0, UInt64(1)) }))
        #expect(vector.token.utf8.count <= VersionVector.tokenBytesMax)
        #expect(VersionVector(token: vector.token) == nil)
    }
}
