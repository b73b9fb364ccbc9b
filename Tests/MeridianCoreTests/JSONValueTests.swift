import MeridianCore
import Testing

@Suite("JSONValue")
struct JSONValueTests {
    static func parse(_ text: String, bytesMax: Int = Limits.valueBytesMaxDefault) throws(MeridianError) -> JSONValue {
        try JSONValue.parse(Array(text.utf8), bytesMax: bytesMax)
    }

    static func nested(_ depth: Int) -> String {
        String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
    }

    @Test func valueOverTheByteLimitIsTooLarge() {
        let error = #expect(throws: MeridianError.self) { try Self.parse("\"abcdefghij\"", bytesMax: 11) }
        #expect(error?.code == "value_too_large")
        #expect(error?.kind == .tooLarge)
    }

    @Test func valueExactlyAtTheByteLimitIsAccepted() throws {
        #expect(try Self.parse("\"abcdefghi\"", bytesMax: 11) == .string("abcdefghi"))
    }

    @Test func emptyBodyIsInvalidJSON() {
        let error = #expect(throws: MeridianError.self) { try Self.parse("") }
        #expect(error?.code == "invalid_json")
        #expect(error?.kind == .invalidArgument)
    }

    @Test(arguments: ["{", "{\"a\":}", "nul", "'single'", "{a: 1}", "1 2", "\"unterminated"])
    func malformedTextIsInvalidJSON(_ text: String) {
        let error = #expect(throws: MeridianError.self) { try Self.parse(text) }
        #expect(error?.code == "invalid_json")
    }

    @Test func nestingAtTheDepthLimitIsAccepted() throws {
        #expect(try Self.parse(Self.nested(Limits.jsonDepthMax)).depth == Limits.jsonDepthMax)
    }

    @Test func nestingOneLevelDeeperThanTheLimitIsInvalidJSON() {
        let error = #expect(throws: MeridianError.self) { try Self.parse(Self.nested(Limits.jsonDepthMax + 1)) }
        #expect(error?.code == "invalid_json")
    }

    @Test func nestedObjectsCountTowardsTheDepthLimit() {
        let text = String(repeating: "{\"a\":", count: Limits.jsonDepthMax + 1) + "1" + String(repeating: "}", count: Limits.jsonDepthMax + 1)
        let error = #expect(throws: MeridianError.self) { try Self.parse(text) }
        #expect(error?.code == "invalid_json")
    }

    @Test func canonicalBytesSortObjectKeysAndAreCompact() throws {
        let value = try Self.parse("{ \"b\" : 1,\n \"a\" : [ 1, 2, { \"z\": null, \"y\": true } ], \"c/d\": \"x\" }")
        #expect(String(decoding: value.canonicalBytes, as: UTF8.self) == #"{"a":[1,2,{"y":true,"z":null}],"b":1,"c/d":"x"}"#)
    }

    @Test func equalValuesWrittenDifferentlyHaveTheSameCanonicalBytes() throws {
        let first = try Self.parse("{\"x\": 1, \"y\": [true, false]}")
        let second = try Self.parse("{\"y\":[true,false],\"x\":1}")
        #expect(first.canonicalBytes == second.canonicalBytes)
    }

    @Test func largestInt64RoundTripsExactly() throws {
        let value = try Self.parse("9223372036854775807")
        #expect(value == .integer(Int64.max))
        #expect(String(decoding: value.canonicalBytes, as: UTF8.self) == "9223372036854775807")
        #expect(try JSONValue.decodeCanonical(value.canonicalBytes) == .integer(Int64.max))
    }

    @Test func smallestInt64RoundTripsExactly() throws {
        let value = try Self.parse("-9223372036854775808")
        #expect(value == .integer(Int64.min))
        #expect(try JSONValue.decodeCanonical(value.canonicalBytes) == value)
    }

    /// Issue 15, item 9: `18446744073709551615` was stored as `1.8446744073709552e+19`.
    @Test(arguments: ["9223372036854775808", "18446744073709551615", "12345678901234567890"])
    func integersAboveInt64AndUpTo64BitsAreKeptExactly(text: String) throws {
        let value = try Self.parse(text)
        #expect(value == .unsignedInteger(UInt64(text)!))
        #expect(String(decoding: value.canonicalBytes, as: UTF8.self) == text)
        #expect(try JSONValue.decodeCanonical(value.canonicalBytes) == value)
    }

    @Test func eachIntegerHasOneRepresentation() throws {
        #expect(JSONValue.integer(exactly: 5) == .integer(5))
        #expect(JSONValue.integer(exactly: UInt64(Int64.max)) == .integer(.max))
        #expect(JSONValue.integer(exactly: UInt64(Int64.max) + 1) == .unsignedInteger(UInt64(Int64.max) + 1))
        // At or above 2^53 a fraction truncates toward zero, into the unsigned range too.
        #expect(try Self.parse("9.3e18") == .unsignedInteger(9_300_000_000_000_000_000))
        #expect(try Self.parse("1.8446744073709551615e19") == .unsignedInteger(.max))
        #expect(try Self.parse("9300000000000000001.5") == .unsignedInteger(9_300_000_000_000_000_001))
        // Beyond 64 bits a number is a double.
        #expect(try Self.parse("-9223372036854775809") == .double(-9_223_372_036_854_775_809))
    }

    /// Issue 15, item 9: `{"a":1,"a":2}` silently became `{"a":1}`.
    @Test(arguments: [
        (#"{"a":1,"a":2}"#, "a", 7),
        (#"{"x": {"b": 1, "c": 2, "b": 3}}"#, "b", 23),
        (#"[{"k\u00e9":1,"ké":2}]"#, "ké", 14),
    ])
    func aDuplicateMemberNameIsRefusedNamingItAndItsOffset(text: String, name: String, offset: Int) {
        let error = #expect(throws: MeridianError.self) { try Self.parse(text) }
        #expect(error?.code == "invalid_json")
        #expect(error?.kind == .invalidArgument)
        #expect(error?.message.contains("\"\(name)\" appears twice") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("at byte \(offset)") == true, "\(error?.message ?? "")")
    }

    @Test func storedValuesStillReadWithTheFirstOfDuplicateNames() throws {
        #expect(try JSONValue.decodeCanonical(Array(#"{"a":1,"a":2}"#.utf8)) == .object(["a": .integer(1)]))
    }

    @Test func numbersWithAFractionAreDoubles() throws {
        #expect(try Self.parse("0.25") == .double(0.25))
        #expect(try Self.parse("-1.5") == .double(-1.5))
        #expect(try Self.parse("18446744073709551616") == .double(18_446_744_073_709_551_616))
        let value = try Self.parse("[0.1, 1e300]")
        #expect(value == .array([.double(0.1), .double(1e300)]))
        #expect(try JSONValue.decodeCanonical(value.canonicalBytes) == value)
    }

    @Test func booleansAreNotReadAsNumbersNorNumbersAsBooleans() throws {
        #expect(try Self.parse("[true, 1, 0, false, null]") == .array([.bool(true), .integer(1), .integer(0), .bool(false), .null]))
    }

    @Test func unicodeStringsRoundTrip() throws {
        let value = try Self.parse(#"{"greeting": "h\u00e9llo \ud83c\udf0d", "raw": "e\u0301 \"q\" \\ /"}"#)
        #expect(value == .object(["greeting": .string("h\u{E9}llo \u{1F30D}"), "raw": .string("e\u{301} \"q\" \\ /")]))
        #expect(try JSONValue.decodeCanonical(value.canonicalBytes) == value)
    }

    @Test func decodeCanonicalReportsCorruptionAsAnError() {
        let error = #expect(throws: MeridianError.self) { try JSONValue.decodeCanonical(Array("{not json".utf8)) }
        #expect(error?.code == "corrupt_value")
    }

    @Test func depthCountsArraysAndObjects() {
        #expect(JSONValue.integer(1).depth == 0)
        #expect(JSONValue.array([]).depth == 1)
        #expect(JSONValue.object(["a": .array([.object([:])])]).depth == 3)
    }
}
