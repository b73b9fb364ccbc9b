import MeridianDynamo
import PropertyBased
import Testing

@Suite("DynamoNumber")
struct DynamoNumberTests {
    static func number(_ text: String) -> DynamoNumber { try! DynamoNumber(parsing: text) }

    @Test(arguments: [
        ("1", "1"), ("01", "1"), ("1.0", "1"), ("1.50", "1.5"), ("-0", "0"), ("0.000", "0"), ("+7", "7"),
        ("1E2", "100"), ("1e+2", "100"), ("1.5e-3", "0.0015"), (".5", "0.5"), ("5.", "5"), ("-12.340", "-12.34"),
        ("123456789012345678901234567890.12345678", "123456789012345678901234567890.12345678"),
        ("1E+125", "1" + String(repeating: "0", count: 125)), ("1E-130", "0." + String(repeating: "0", count: 129) + "1"),
    ])
    func parsesAndPrintsAsDynamoDBNormalizesNumbers(_ input: String, _ printed: String) throws {
        #expect(try DynamoNumber(parsing: input).description == printed)
    }

    @Test(arguments: [
        ("", "A value provided cannot be converted into a number"),
        ("abc", "A value provided cannot be converted into a number"),
        ("1.2.3", "A value provided cannot be converted into a number"),
        ("1e", "A value provided cannot be converted into a number"),
        (" 1", "A value provided cannot be converted into a number"),
        ("NaN", "A value provided cannot be converted into a number"),
        ("1234567890123456789012345678901234567890", "Attempting to store more than 38 significant digits in a Number"),
        ("1E+126", "Number overflow. Attempting to store a number with magnitude larger than supported range"),
        ("-1E+126", "Number overflow. Attempting to store a number with magnitude larger than supported range"),
        ("1E-131", "Number underflow. Attempting to store a number with magnitude smaller than supported range"),
    ])
    func refusesWhatDynamoDBRefusesWithItsMessage(_ input: String, _ message: String) {
        let error = #expect(throws: DynamoError.self) { try DynamoNumber(parsing: input) }
        #expect(error?.type == "ValidationException")
        #expect(error?.message == message)
    }

    @Test func trailingZerosDoNotCountAsSignificantDigits() throws {
        // 1 followed by 60 zeros has one significant digit.
        #expect(try DynamoNumber(parsing: "1" + String(repeating: "0", count: 60)).digits == [1])
    }

    @Test func equalityIsNumeric() {
        #expect(Self.number("1.0") == Self.number("1"))
        #expect(Self.number("100") == Self.number("1E2"))
        #expect(Self.number("-0.0") == DynamoNumber.zero)
    }

    @Test func orderIsNumericAcrossSignsAndMagnitudes() {
        let ascending = ["-1E+100", "-10", "-9.5", "-9.45", "-9.4", "-1", "-0.001", "0", "1E-100", "0.001", "0.5", "0.55", "1", "9.4", "9.45", "10", "1E+100"]
        let numbers = ascending.map(Self.number)
        for (index, number) in numbers.enumerated() {
            for (other, later) in numbers.enumerated() {
                #expect((number < later) == (index < other), "\(number) < \(later)")
            }
        }
    }

    @Test func additionIsExact() throws {
        #expect(try Self.number("0.1").adding(Self.number("0.2")) == Self.number("0.3"))
        #expect(try Self.number("1E+20").adding(Self.number("1")) == Self.number("100000000000000000001"))
        #expect(try Self.number("5").subtracting(Self.number("7.5")) == Self.number("-2.5"))
        #expect(try Self.number("-5").adding(Self.number("5")) == DynamoNumber.zero)
    }

    @Test func anExactSumNeedingMoreThan38DigitsIsRefused() {
        let error = #expect(throws: DynamoError.self) { try Self.number("1E+100").adding(Self.number("1")) }
        #expect(error?.message == "Attempting to store more than 38 significant digits in a Number")
    }

    @Test func sumsAreCommutativeAndSubtractionUndoesAddition() async {
        await propertyCheck(count: 300, input: Generator { rng in (RandomValues.number(using: &rng), RandomValues.number(using: &rng)) }) { pair in
            let (a, b) = pair
            guard let sum = try? a.adding(b) else { return }
            #expect((try? b.adding(a)) == sum, "commutative")
            if let back = try? sum.subtracting(b) { #expect(back == a, "(a + b) - b == a") }
            // The sum's order against a follows the sign of b.
            if b.isZero { #expect(sum == a) } else { #expect((sum > a) == (b > DynamoNumber.zero)) }
        }
    }

    @Test func printedTextParsesBackToTheSameNumber() async {
        await propertyCheck(count: 300, input: Generator { rng in RandomValues.number(using: &rng) }) { number in
            let parsed = try DynamoNumber(parsing: number.description)
            #expect(parsed == number)
        }
    }
}
