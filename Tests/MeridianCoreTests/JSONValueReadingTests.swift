import Foundation
import MeridianCore
import Testing

/// `decodeCanonical` reads bytes directly; JSONDecoder through `JSONValue: Codable` is the
/// reference it must agree with, value for value and in what it refuses.
@Suite("JSONValue direct reading")
struct JSONValueReadingTests {
    static func reference(_ bytes: [UInt8]) -> JSONValue? {
        try? JSONDecoder().decode(JSONValue.self, from: Data(bytes))
    }

    static func direct(_ bytes: [UInt8]) -> JSONValue? {
        try? JSONValue.decodeCanonical(bytes)
    }

    @Test(arguments: [
        "0", "-0", "1", "-1", "1.0", "-0.0", "1e2", "1E2", "0.1e1", "1.5", "0.1", "1e-7", "2.5e15", "1e16", "1e+21",
        "9223372036854775807", "-9223372036854775808", "9223372036854775808", "12345678901234567890",
        "18446744073709551615", "18446744073709551616", "-9223372036854775809", "9.3e18", "1e19", "1.697012748548288e+19", "1.8446744073709551616e19",
        "1.7976931348623157e+308", "5e-324", "5.13924626699475e+18", "-3.8880146137704872e16", "0.10", "100e-2", "0.0",
        "9007199254740993.5", "-9007199254740993.7", "123456789012345678.9", "4503599627370497.5", "1.0000000000000001", "1e-400",
        #"{"a":1,"a":2}"#, "\u{FEFF}[1]", "123456789.123456789", "-2.5E-3",
        "true", "false", "null", "\"\"", "\"plain\"", "\"é😀\"", #""a\"b\\c\/d\n\t\r\b\f""#, #""\u0041\u00e9\ud83d\ude00\u2028""#,
        "[]", "{}", "[1,[2,[3,{}]]]", #"{"b":1,"a":[true,null,"x"],"c":{"d":-0.5}}"#, " \n\t[ 1 , 2 ]\r\n ",
    ])
    func agreesWithJSONDecoder(text: String) throws {
        let bytes = Array(text.utf8)
        let expected = try #require(Self.reference(bytes), "the reference decodes \(text)")
        #expect(Self.direct(bytes) == expected, "\(text)")
    }

    @Test(arguments: [
        "", " ", "01", "-", "1.", ".5", "1e", "1e+", "+1", "--1", "0x10", "1e400", "-1e400", "NaN", "Infinity",
        "tru", "nul", "[1 2]", "{\"a\"}", "{a:1}", "'x'", "\"unterminated", "\"\\x\"", "\"\\u12\"",
        "\"\\ud800\"", "\"\\udc00\"", "[1]x", "1 2", "\"tab\there\"",
    ])
    func refusesWhatJSONDecoderRefuses(text: String) {
        let bytes = Array(text.utf8)
        #expect(Self.reference(bytes) == nil, "the reference refuses \(text)")
        #expect(Self.direct(bytes) == nil, "\(text)")
    }

    /// JSONDecoder tolerates a trailing comma; stored values never have one, and the
    /// direct reading keeps to the grammar.
    @Test(arguments: ["[1,]", "{\"a\":1,}"])
    func aTrailingCommaIsRefused(text: String) {
        #expect(Self.direct(Array(text.utf8)) == nil)
    }

    @Test func invalidUTF8InAStringIsRefused() {
        let bytes: [UInt8] = [0x22, 0xC3, 0x28, 0x22]
        #expect(Self.direct(bytes) == nil)
        #expect(Self.reference(bytes) == nil)
    }

    @Test func nestingPastTheLimitIsRefusedWithoutCrashing() {
        let deep = Array((String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)).utf8)
        #expect(Self.direct(deep) == nil)
        let allowed = Array((String(repeating: "[", count: Limits.jsonDepthMax) + String(repeating: "]", count: Limits.jsonDepthMax)).utf8)
        #expect(Self.direct(allowed) != nil)
    }

    /// Random values through their canonical encoding: the direct reading and the reference agree.
    @Test(arguments: [1, 2, 3, 4] as [UInt64])
    func randomValuesReadBackAsTheReferenceReadsThem(seed: UInt64) throws {
        var random = Seeded(state: seed)
        for round in 0..<300 {
            let value = Self.randomValue(depth: 0, using: &random)
            let bytes = value.canonicalBytes
            let expected = try #require(Self.reference(bytes))
            #expect(Self.direct(bytes) == expected, "seed \(seed) round \(round): \(String(decoding: bytes, as: UTF8.self))")
        }
    }

    struct Seeded: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func randomString(using random: inout Seeded) -> String {
        let pieces: [String] = ["a", "Z", "0", " ", "\"", "\\", "/", "\n", "\t", "\u{1}", "\u{7f}", "é", "😀", "\u{2028}", "key"]
        return (0..<Int.random(in: 0...6, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined()
    }

    static func randomValue(depth: Int, using random: inout Seeded) -> JSONValue {
        let choice = Int.random(in: 0..<(depth < 4 ? 9 : 7), using: &random)
        switch choice {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &random))
        case 2 where Bool.random(using: &random): return .integer(Int64.random(in: .min ... .max, using: &random) >> Int64.random(in: 0...63, using: &random))
        case 2: return .unsignedInteger(UInt64.random(in: UInt64(Int64.max) + 1 ... .max, using: &random))
        case 3:
            let magnitude = Double.random(in: -1...1, using: &random) * pow(10, Double(Int.random(in: -30...30, using: &random)))
            return .double(magnitude)
        case 4: return .double(Double(bitPattern: UInt64.random(in: 0 ... .max, using: &random)).isFinite ? Double(bitPattern: random.next()) : 0.25)
        case 5, 6: return .string(randomString(using: &random))
        case 7: return .array((0..<Int.random(in: 0...4, using: &random)).map { _ in randomValue(depth: depth + 1, using: &random) })
        default:
            var fields: [String: JSONValue] = [:]
            for _ in 0..<Int.random(in: 0...4, using: &random) { fields[randomString(using: &random)] = randomValue(depth: depth + 1, using: &random) }
            return .object(fields)
        }
    }
}

/// `canonicalBytes` writes directly; JSONEncoder with sorted keys is the reference, byte
/// for byte, so regions on either side of this change store the same bytes for a value.
@Suite("JSONValue direct writing")
struct JSONValueWritingTests {
    static func reference(_ value: JSONValue) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(value))
    }

    @Test(arguments: [
        JSONValue.null, .bool(true), .bool(false), .integer(0), .integer(.min), .integer(.max), .unsignedInteger(.max), .unsignedInteger(1 << 63), .double(1.0), .double(-0.0), .double(0.1),
        .double(1e15), .double(1e16), .double(123456789012345.6), .double(0.30000000000000004), .double(-1.5e-10), .double(1e-5),
        .double(.greatestFiniteMagnitude), .double(.leastNonzeroMagnitude), .string("\u{0}\u{8}\u{c}\u{1f}\u{7f}\u{80}\u{2028}<>&'/\"\\\n\r\t"),
        .string("é😀"), .array([]), .object([:]),
        .object(["f": .integer(0), "e\u{301}x": .integer(1)]),
        .object(["B": .integer(1), "a": .null, "é": .bool(true), "10": .integer(2), "9": .integer(3), "😀": .array([.string("x")]), "": .object(["k2": .null, "k10": .null])]),
    ])
    func writesWhatJSONEncoderWrites(value: JSONValue) throws {
        #expect(value.canonicalBytes == (try Self.reference(value)), "\(value)")
    }

    @Test(arguments: [5, 6, 7, 8] as [UInt64])
    func randomValuesAreWrittenAsJSONEncoderWritesThem(seed: UInt64) throws {
        var random = JSONValueReadingTests.Seeded(state: seed)
        for round in 0..<300 {
            let value = JSONValueReadingTests.randomValue(depth: 0, using: &random)
            #expect(value.canonicalBytes == (try Self.reference(value)), "seed \(seed) round \(round): \(value)")
        }
    }
}
