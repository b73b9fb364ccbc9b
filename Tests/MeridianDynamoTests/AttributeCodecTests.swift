import MeridianCore
import MeridianDynamo
import PropertyBased
import Testing

@Suite("DynamoDB JSON and the stored JSON form")
struct AttributeCodecTests {
    static func json(_ text: String) -> JSONValue { try! JSONValue.parse(Array(text.utf8)) }

    @Test func storedJSONReadsBackAsTheSameValue() async {
        await propertyCheck(count: 400, input: Generator { rng in RandomValues.attribute(depth: 3, using: &rng) }) { value in
            let stored = StoredItems.json(value)
            // Through the canonical bytes, as storage keeps them.
            let reread = try JSONValue.decodeCanonical(stored.canonicalBytes)
            let decoded = try StoredItems.attribute(reread)
            #expect(decoded == value, "\(value) stored as \(String(decoding: stored.canonicalBytes, as: UTF8.self))")
        }
    }

    @Test func dynamoJSONReadsBackAsTheSameValue() async {
        await propertyCheck(count: 400, input: Generator { rng in RandomValues.attribute(depth: 3, using: &rng) }) { value in
            let reread = try AttributeValue(dynamoJSON: value.dynamoJSON)
            #expect(reread == value)
        }
    }

    @Test func plainJSONWrittenNativelyReadsAsTheNaturalTypes() throws {
        let item = try StoredItems.item(json: Self.json(#"{"name": "Alex", "age": 30, "score": 9.5, "tags": ["a", 1], "ok": true, "none": null, "address": {"city": "Pune"}}"#))
        #expect(item == [
            "name": .string("Alex"), "age": .number(DynamoNumber(30)), "score": .number(try DynamoNumber(parsing: "9.5")),
            "tags": .list([.string("a"), .number(DynamoNumber(1))]), "ok": .bool(true), "none": .null,
            "address": .map(["city": .string("Pune")]),
        ])
        #expect(try StoredItems.item(json: Self.json(#""just text""#)) == ["value": .string("just text")])
    }

    @Test func typesPlainJSONCannotHoldAreWrappedVisibly() throws {
        let item: Item = [
            "b": .binary([1, 2, 3]), "ss": .makeStringSet(["x", "y"]), "ns": .makeNumberSet([DynamoNumber(2), DynamoNumber(1)]),
            "big": .number(try DynamoNumber(parsing: "12345678901234567890.123")), "price": .number(try DynamoNumber(parsing: "9.99")),
            "tricky": .map(["$N": .string("not a number")]),
        ]
        let text = String(decoding: StoredItems.json(item: item).canonicalBytes, as: UTF8.self)
        #expect(text == #"{"b":{"$B":"AQID"},"big":{"$N":"12345678901234567890.123"},"ns":{"$NS":["1","2"]},"price":9.99,"ss":{"$SS":["x","y"]},"tricky":{"$M":{"$N":"not a number"}}}"#)
    }

    @Test func aMalformedWrapperWrittenNativelyIsAnOrdinaryMap() throws {
        #expect(try StoredItems.attribute(Self.json(#"{"$N": 5}"#)) == .map(["$N": .number(DynamoNumber(5))]))
        #expect(try StoredItems.attribute(Self.json(#"{"$SS": []}"#)) == .map(["$SS": .list([])]))
    }

    @Test func aStoredNumberDynamoDBCannotHoldIsRefusedClearly() {
        let error = #expect(throws: DynamoError.self) { try StoredItems.item(json: Self.json(#"{"huge": 1e200}"#)) }
        #expect(error?.type == "ValidationException")
    }

    @Test(arguments: [
        (#"{}"#, "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"),
        (#"{"S": "a", "N": "1"}"#, "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes"),
        (#"{"SS": []}"#, "One or more parameter values were invalid: An string set  may not be empty"),
        (#"{"SS": ["a", "a"]}"#, "One or more parameter values were invalid: Input collection [a, a] of type SS contains duplicates."),
        (#"{"NS": ["1", "1.0"]}"#, "One or more parameter values were invalid: Input collection [1, 1] of type NS contains duplicates."),
        (#"{"NULL": false}"#, "One or more parameter values were invalid: Null attribute value types must have the value of true"),
        (#"{"N": "x"}"#, "A value provided cannot be converted into a number"),
    ])
    func invalidDynamoJSONGetsDynamoDBsMessage(_ text: String, _ message: String) {
        let error = #expect(throws: DynamoError.self) { try AttributeValue(dynamoJSON: Self.json(text)) }
        #expect(error?.type == "ValidationException")
        #expect(error?.message == message)
    }

    @Test func nestingDeeperThanDynamoDBsLimitIsRefused() {
        var value = AttributeValue.null
        for _ in 0..<33 { value = .list([value]) }
        let error = #expect(throws: DynamoError.self) { try AttributeValue(dynamoJSON: value.dynamoJSON) }
        #expect(error?.message == "Nesting Levels have exceeded supported limits")
    }

    @Test func itemSizeCountsNamesAndValuesAndRefusesBeyond400KB() throws {
        #expect(Items.sizeBytes(["ab": .string("xyz"), "n": .number(try DynamoNumber(parsing: "123"))]) == 2 + 3 + 1 + 3)
        let error = #expect(throws: DynamoError.self) { try Items.checkSize(["big": .binary([UInt8](repeating: 0, count: 400 * 1024))]) }
        #expect(error?.message == "Item size has exceeded the maximum allowed size")
    }
}
