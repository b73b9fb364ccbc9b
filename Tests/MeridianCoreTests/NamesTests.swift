import MeridianCore
import Testing

@Suite("Key")
struct KeyTests {
    @Test func emptyKeyIsInvalid() {
        let error = #expect(throws: MeridianError.self) { try Key("") }
        #expect(error?.code == "invalid_key")
        #expect(error?.kind == .invalidArgument)
    }

    @Test func keyOfExactly1024BytesIsAccepted() throws {
        let key = try Key(String(repeating: "k", count: 1_024))
        #expect(key.bytes.count == Limits.keyBytesMax)
    }

    @Test func keyOf1025BytesIsTooLarge() {
        let error = #expect(throws: MeridianError.self) { try Key(String(repeating: "k", count: 1_025)) }
        #expect(error?.code == "key_too_large")
        #expect(error?.kind == .tooLarge)
    }

    @Test func keyLimitCountsUTF8BytesNotCharacters() {
        // 342 three-byte characters are 1026 bytes but only 342 characters.
        let error = #expect(throws: MeridianError.self) { try Key(String(repeating: "\u{20AC}", count: 342)) }
        #expect(error?.code == "key_too_large")
    }

    @Test(arguments: [[UInt8(0xFF)], [0x61, 0xC3], [0xC0, 0xAF], [0xED, 0xA0, 0x80]])
    func invalidUTF8BytesAreAnInvalidKey(_ bytes: [UInt8]) {
        let error = #expect(throws: MeridianError.self) { try Key(utf8: bytes) }
        #expect(error?.code == "invalid_key")
    }

    @Test func precomposedAndDecomposedAccentsAreDifferentKeys() throws {
        let precomposed = try Key("\u{E9}")
        let decomposed = try Key("e\u{301}")
        // Swift's String equality would call these equal; keys compare bytes.
        #expect("\u{E9}" == "e\u{301}")
        #expect(precomposed != decomposed)
        #expect(Set([precomposed, decomposed]).count == 2)
    }

    @Test func keysOrderByUTF8Bytes() throws {
        let strings = ["z", "\u{E9}", "e\u{301}", "a", "A", "aa", "\u{1F30D}", "\u{7F}", "a\u{0}"]
        let keys = try strings.map { try Key($0) }
        let byBytes = strings.map { Array($0.utf8) }.sorted { $0.lexicographicallyPrecedes($1) }
        #expect(keys.sorted().map(\.bytes) == byBytes)
        #expect(try Key("Z") < Key("a"))
        #expect(try Key("e\u{301}") < Key("\u{E9}"))
    }

    @Test func keyStringRoundTripsItsBytes() throws {
        let key = try Key("user/\u{1F30D}")
        #expect(key.string == "user/\u{1F30D}")
        #expect(try Key(utf8: key.bytes) == key)
        #expect(key.hasPrefix(Array("user/".utf8)))
        #expect(!key.hasPrefix(Array("users".utf8)))
    }
}

@Suite("TableName and RegionID")
struct NameTests {
    static let sixtyThree = "a" + String(repeating: "b", count: 62)
    static let sixtyFour = "a" + String(repeating: "b", count: 63)

    @Test(arguments: ["t", "orders", "user_events", "a-b", "t2", "a_1-b", sixtyThree])
    func validTableNamesAreAccepted(_ name: String) throws {
        #expect(try TableName(name).name == name)
    }

    @Test(arguments: ["", "Orders", "ordersA", "2orders", "_orders", "-orders", "or ders", "orders.v1", "\u{E9}t\u{E9}", sixtyFour])
    func invalidTableNamesAreRejected(_ name: String) {
        let error = #expect(throws: MeridianError.self) { try TableName(name) }
        #expect(error?.code == "invalid_table_name")
        #expect(error?.kind == .invalidArgument)
    }

    @Test(arguments: ["us-east", "eu-west-1", "r", "ap2", sixtyThree])
    func validRegionNamesAreAccepted(_ name: String) throws {
        #expect(try RegionID(name).name == name)
    }

    @Test(arguments: ["", "US-east", "us-East", "1us", "-us", "us_east", "us east", sixtyFour])
    func invalidRegionNamesAreRejected(_ name: String) {
        let error = #expect(throws: MeridianError.self) { try RegionID(name) }
        #expect(error?.code == "invalid_region")
    }

    @Test func namesOrderByBytes() throws {
        #expect(try RegionID("eu-west") < RegionID("us-east"))
        #expect(try TableName("a-b") < TableName("a_b"))
        #expect(try [RegionID("us-west"), RegionID("ap-south"), RegionID("us-east")].sorted().map(\.name) == ["ap-south", "us-east", "us-west"])
    }
}
