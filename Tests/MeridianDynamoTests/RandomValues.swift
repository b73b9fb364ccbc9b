import MeridianDynamo
import PropertyBased

/// Random DynamoDB values for property tests, every draw from the property library's
/// seeded generator (a failure prints the seed that replays it).
enum RandomValues {
    /// A number of up to 38 digits with an exponent inside DynamoDB's range, often near
    /// others (small exponents, shared digit prefixes) so that orderings are tested hard.
    static func number(using rng: inout some RandomNumberGenerator) -> DynamoNumber {
        if Int.random(in: 0..<12, using: &rng) == 0 { return .zero }
        let count = Int.random(in: 1...(Bool.random(using: &rng) ? 4 : 38), using: &rng)
        // The first digit is not zero, so the exponent below is the number's own.
        let digits = String(Int.random(in: 1...9, using: &rng)) + (1..<count).map { _ in String(Int.random(in: 0...9, using: &rng)) }.joined()
        let exponent = Bool.random(using: &rng) ? Int.random(in: -4...4, using: &rng) : Int.random(in: -120...90, using: &rng)
        let sign = Bool.random(using: &rng) ? "-" : ""
        return try! DynamoNumber(parsing: "\(sign)0.\(digits)E\(exponent)")
    }

    /// A string of 1 to 12 characters over a small alphabet that includes `/`, `%`, NUL,
    /// multi-byte characters and letters that sort around them.
    static func string(using rng: inout some RandomNumberGenerator, allowEmpty: Bool = false) -> String {
        let alphabet: [String] = ["a", "b", "/", "%", "\u{0}", "\u{7F}", "é", "e\u{301}", "\u{1F30D}", "0", "z", "Z", "2F", "25"]
        let count = Int.random(in: (allowEmpty ? 0 : 1)...6, using: &rng)
        return (0..<count).map { _ in alphabet.randomElement(using: &rng)! }.joined()
    }

    static func binary(using rng: inout some RandomNumberGenerator, allowEmpty: Bool = false) -> [UInt8] {
        let count = Int.random(in: (allowEmpty ? 0 : 1)...6, using: &rng)
        return (0..<count).map { _ in [0, 1, 0x2F, 0x7F, 0x80, 0xFE, 0xFF].randomElement(using: &rng)! }
    }

    /// A key value of a type.
    static func keyValue(_ type: String, using rng: inout some RandomNumberGenerator) -> AttributeValue {
        switch type {
        case "S": .string(string(using: &rng))
        case "N": .number(number(using: &rng))
        default: .binary(binary(using: &rng))
        }
    }

    /// Any attribute value, nested at most `depth` levels, including the shapes the
    /// stored JSON form wraps (single-member maps named like wrappers).
    static func attribute(depth: Int, using rng: inout some RandomNumberGenerator) -> AttributeValue {
        let kinds = depth > 0 ? 11 : 8
        switch Int.random(in: 0..<kinds, using: &rng) {
        case 0: return .string(string(using: &rng, allowEmpty: true))
        case 1: return .number(number(using: &rng))
        case 2: return .binary(binary(using: &rng, allowEmpty: true))
        case 3: return .bool(Bool.random(using: &rng))
        case 4: return .null
        case 5: return .makeStringSet((0...Int.random(in: 0...3, using: &rng)).map { _ in string(using: &rng) })
        case 6: return .makeNumberSet((0...Int.random(in: 0...3, using: &rng)).map { _ in number(using: &rng) })
        case 7: return .makeBinarySet((0...Int.random(in: 0...3, using: &rng)).map { _ in binary(using: &rng) })
        case 8: return .list((0..<Int.random(in: 0...3, using: &rng)).map { _ in attribute(depth: depth - 1, using: &rng) })
        case 9:
            let name = ["$N", "$M", "$SS", "$B", "x"].randomElement(using: &rng)!
            return .map([name: attribute(depth: depth - 1, using: &rng)])
        default:
            var fields: [String: AttributeValue] = [:]
            for _ in 0..<Int.random(in: 0...3, using: &rng) { fields[string(using: &rng)] = attribute(depth: depth - 1, using: &rng) }
            return .map(fields)
        }
    }
}
