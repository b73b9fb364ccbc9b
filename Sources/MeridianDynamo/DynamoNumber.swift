import MeridianCore

/// A DynamoDB number: a decimal of at most 38 significant digits with a magnitude between
/// 1E-130 and 9.9999999999999999999999999999999999999E+125, or zero. Exact: no binary
/// floating point is involved in parsing, comparing, adding or printing it.
///
/// Representation: the value is `0.d1 d2 ... dn × 10^exponent` with `d1` and `dn` not zero,
/// so every number has exactly one representation and `==` is numeric equality.
public struct DynamoNumber: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Whether the number is below zero (never set for zero).
    public let isNegative: Bool
    /// The significant digits, each 0 to 9, without leading or trailing zeros; empty for zero.
    public let digits: [UInt8]
    /// The power of ten of the value `0.digits`; zero for zero.
    public let exponent: Int

    /// Zero.
    public static let zero = DynamoNumber(normalizing: false, digits: [], exponent: 0)

    /// The largest exponent (in this representation) of a number DynamoDB stores.
    static let exponentMax = 126
    /// The smallest exponent (in this representation) of a number DynamoDB stores.
    static let exponentMin = -129

    /// Makes a number from digits that may have leading and trailing zeros.
    init(normalizing negative: Bool, digits raw: [UInt8], exponent rawExponent: Int) {
        var digits = raw[...]
        var exponent = rawExponent
        while digits.first == 0 {
            digits = digits.dropFirst()
            exponent -= 1
        }
        while digits.last == 0 { digits = digits.dropLast() }
        if digits.isEmpty {
            isNegative = false
            self.digits = []
            self.exponent = 0
        } else {
            isNegative = negative
            self.digits = Array(digits)
            self.exponent = exponent
        }
    }

    /// The number of an integer.
    public init(_ integer: Int64) {
        let magnitude = integer.magnitude
        let digits = String(magnitude).utf8.map { $0 - UInt8(ascii: "0") }
        self.init(normalizing: integer < 0, digits: digits, exponent: digits.count)
    }

    /// Parses DynamoDB's text of a number (`-12.5`, `1E+3`, `.5`), checking DynamoDB's
    /// limits on digits and magnitude.
    public init(parsing text: String) throws(DynamoError) {
        let parsed = try Self.parse(text)
        try parsed.checkLimits()
        self = parsed
    }

    /// Parses the text without checking the limits (arithmetic checks its results itself).
    static func parse(_ text: String) throws(DynamoError) -> DynamoNumber {
        let invalid = DynamoError.validation("A value provided cannot be converted into a number")
        let bytes = Array(text.utf8)
        var offset = 0
        var negative = false
        if offset < bytes.count, bytes[offset] == UInt8(ascii: "-") || bytes[offset] == UInt8(ascii: "+") {
            negative = bytes[offset] == UInt8(ascii: "-")
            offset += 1
        }
        var digits: [UInt8] = []
        var integerDigits = 0
        while offset < bytes.count, let digit = Self.digit(bytes[offset]) {
            digits.append(digit)
            integerDigits += 1
            offset += 1
        }
        if offset < bytes.count, bytes[offset] == UInt8(ascii: ".") {
            offset += 1
            while offset < bytes.count, let digit = Self.digit(bytes[offset]) {
                digits.append(digit)
                offset += 1
            }
        }
        guard !digits.isEmpty else { throw invalid }
        var exponent = 0
        if offset < bytes.count, bytes[offset] == UInt8(ascii: "e") || bytes[offset] == UInt8(ascii: "E") {
            offset += 1
            var exponentNegative = false
            if offset < bytes.count, bytes[offset] == UInt8(ascii: "-") || bytes[offset] == UInt8(ascii: "+") {
                exponentNegative = bytes[offset] == UInt8(ascii: "-")
                offset += 1
            }
            var exponentDigits = 0
            while offset < bytes.count, let digit = Self.digit(bytes[offset]) {
                // Saturates far beyond any representable exponent: the limit check refuses it.
                exponent = min(exponent * 10 + Int(digit), 1_000_000)
                exponentDigits += 1
                offset += 1
            }
            guard exponentDigits > 0 else { throw invalid }
            if exponentNegative { exponent = -exponent }
        }
        guard offset == bytes.count else { throw invalid }
        return DynamoNumber(normalizing: negative, digits: digits, exponent: integerDigits + exponent)
    }

    private static func digit(_ byte: UInt8) -> UInt8? {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") ? byte - UInt8(ascii: "0") : nil
    }

    /// Refuses a number DynamoDB cannot store, with DynamoDB's messages.
    func checkLimits() throws(DynamoError) {
        guard !digits.isEmpty else { return }
        guard digits.count <= DynamoLimits.numberDigitsMax else {
            throw .validation("Attempting to store more than \(DynamoLimits.numberDigitsMax) significant digits in a Number")
        }
        guard exponent <= Self.exponentMax else {
            throw .validation("Number overflow. Attempting to store a number with magnitude larger than supported range")
        }
        guard exponent >= Self.exponentMin else {
            throw .validation("Number underflow. Attempting to store a number with magnitude smaller than supported range")
        }
    }

    /// Whether the number is zero.
    public var isZero: Bool { digits.isEmpty }

    /// The plain decimal text DynamoDB returns: no exponent, no trailing zeros (`100`, `0.05`, `-1.5`).
    public var description: String {
        guard !digits.isEmpty else { return "0" }
        var text = isNegative ? "-" : ""
        let characters = digits.map { Character(Unicode.Scalar($0 + UInt8(ascii: "0"))) }
        if exponent <= 0 {
            text += "0." + String(repeating: "0", count: -exponent) + String(characters)
        } else if exponent < digits.count {
            text += String(characters[0..<exponent]) + "." + String(characters[exponent...])
        } else {
            text += String(characters) + String(repeating: "0", count: exponent - digits.count)
        }
        return text
    }

    /// The value as an `Int64` when it is a whole number that fits one.
    public var int64: Int64? {
        guard !digits.isEmpty else { return 0 }
        guard exponent >= digits.count, exponent <= 19 else { return nil }
        return Int64(description)
    }

    public static func < (lhs: DynamoNumber, rhs: DynamoNumber) -> Bool {
        if lhs.signClass != rhs.signClass { return lhs.signClass < rhs.signClass }
        if lhs.isZero { return false }
        let magnitudeOrder = compareMagnitudes(lhs, rhs)
        return lhs.isNegative ? magnitudeOrder > 0 : magnitudeOrder < 0
    }

    /// -1 below zero, 0 for zero, 1 above.
    private var signClass: Int { isNegative ? -1 : (digits.isEmpty ? 0 : 1) }

    /// Compares absolute values of two non-zero numbers: -1, 0 or 1.
    private static func compareMagnitudes(_ lhs: DynamoNumber, _ rhs: DynamoNumber) -> Int {
        if lhs.exponent != rhs.exponent { return lhs.exponent < rhs.exponent ? -1 : 1 }
        for (left, right) in zip(lhs.digits, rhs.digits) where left != right {
            return left < right ? -1 : 1
        }
        return lhs.digits.count == rhs.digits.count ? 0 : (lhs.digits.count < rhs.digits.count ? -1 : 1)
    }

    /// The negated number.
    public static prefix func - (number: DynamoNumber) -> DynamoNumber {
        DynamoNumber(normalizing: !number.isNegative, digits: number.digits, exponent: number.exponent)
    }

    /// The exact sum, checked against DynamoDB's limits (an `ADD` or `SET a = a + :b`
    /// whose result DynamoDB could not store is refused the way DynamoDB refuses it).
    public func adding(_ other: DynamoNumber) throws(DynamoError) -> DynamoNumber {
        let sum = Self.exactSum(self, other)
        try sum.checkLimits()
        return sum
    }

    /// The exact difference, checked against DynamoDB's limits.
    public func subtracting(_ other: DynamoNumber) throws(DynamoError) -> DynamoNumber {
        try adding(-other)
    }

    /// The exact sum: both coefficients aligned on the smaller power of ten, then added or
    /// subtracted digit by digit.
    static func exactSum(_ lhs: DynamoNumber, _ rhs: DynamoNumber) -> DynamoNumber {
        if lhs.isZero { return rhs }
        if rhs.isZero { return lhs }
        // Each number is coefficient × 10^scale, the coefficient being its digits as an integer.
        let lhsScale = lhs.exponent - lhs.digits.count
        let rhsScale = rhs.exponent - rhs.digits.count
        let scale = min(lhsScale, rhsScale)
        // Little-endian digit arrays, padded with zeros to the common scale.
        let left = [UInt8](repeating: 0, count: lhsScale - scale) + lhs.digits.reversed()
        let right = [UInt8](repeating: 0, count: rhsScale - scale) + rhs.digits.reversed()
        let negative: Bool
        let magnitude: [UInt8]
        if lhs.isNegative == rhs.isNegative {
            negative = lhs.isNegative
            magnitude = addMagnitudes(left, right)
        } else if compareLittleEndian(left, right) >= 0 {
            negative = lhs.isNegative
            magnitude = subtractMagnitudes(left, right)
        } else {
            negative = rhs.isNegative
            magnitude = subtractMagnitudes(right, left)
        }
        return DynamoNumber(normalizing: negative, digits: magnitude.reversed(), exponent: scale + magnitude.count)
    }

    private static func addMagnitudes(_ a: [UInt8], _ b: [UInt8]) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(max(a.count, b.count) + 1)
        var carry: UInt8 = 0
        for index in 0..<max(a.count, b.count) {
            let sum = (index < a.count ? a[index] : 0) + (index < b.count ? b[index] : 0) + carry
            result.append(sum % 10)
            carry = sum / 10
        }
        if carry > 0 { result.append(carry) }
        return result
    }

    /// `a - b` for `a >= b`, little-endian.
    private static func subtractMagnitudes(_ a: [UInt8], _ b: [UInt8]) -> [UInt8] {
        precondition(compareLittleEndian(a, b) >= 0, "a magnitude subtraction never goes below zero")
        var result: [UInt8] = []
        result.reserveCapacity(a.count)
        var borrow: Int = 0
        for index in 0..<a.count {
            var difference = Int(a[index]) - (index < b.count ? Int(b[index]) : 0) - borrow
            borrow = difference < 0 ? 1 : 0
            if difference < 0 { difference += 10 }
            result.append(UInt8(difference))
        }
        return result
    }

    /// Compares little-endian digit arrays of equal scale as integers.
    private static func compareLittleEndian(_ a: [UInt8], _ b: [UInt8]) -> Int {
        let length = max(a.count, b.count)
        for index in stride(from: length - 1, through: 0, by: -1) {
            let left = index < a.count ? a[index] : 0
            let right = index < b.count ? b[index] : 0
            if left != right { return left < right ? -1 : 1 }
        }
        return 0
    }
}
