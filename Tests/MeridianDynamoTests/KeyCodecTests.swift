import MeridianCore
import MeridianDynamo
import PropertyBased
import Testing

@Suite("KeyCodec")
struct KeyCodecTests {
    static func schema(hash: DynamoKeyType, range: DynamoKeyType?) -> DynamoSchema {
        DynamoSchema(tableName: "Table", hashKey: .init(name: "pk", type: hash), rangeKey: range.map { .init(name: "sk", type: $0) })
    }

    static let types: [DynamoKeyType] = [.string, .number, .binary]

    /// DynamoDB's order of two key values of one type.
    static func dynamoOrder(_ a: AttributeValue, _ b: AttributeValue) -> Int {
        switch (a, b) {
        case (.number(let x), .number(let y)): x < y ? -1 : (x == y ? 0 : 1)
        case (.string(let x), .string(let y)): x.utf8.elementsEqual(y.utf8) ? 0 : (x.utf8.lexicographicallyPrecedes(y.utf8) ? -1 : 1)
        case (.binary(let x), .binary(let y)): x == y ? 0 : (x.lexicographicallyPrecedes(y) ? -1 : 1)
        default: preconditionFailure("values of one type")
        }
    }

    @Test(arguments: types)
    func rangeKeysOfOneHashOrderAsDynamoDBOrdersThem(_ rangeType: DynamoKeyType) async {
        let codec = KeyCodec(schema: Self.schema(hash: .string, range: rangeType))
        let input = Generator { rng in
            (RandomValues.string(using: &rng), RandomValues.keyValue(rangeType.rawValue, using: &rng), RandomValues.keyValue(rangeType.rawValue, using: &rng))
        }
        await propertyCheck(count: 400, input: input) { draw in
            let (hash, a, b) = draw
            let keyA = try codec.key(hash: .string(hash), range: a)
            let keyB = try codec.key(hash: .string(hash), range: b)
            let keyOrder = keyA == keyB ? 0 : (keyA < keyB ? -1 : 1)
            #expect(keyOrder == Self.dynamoOrder(a, b), "\(a) vs \(b): keys \(keyA) and \(keyB)")
            #expect(keyA.hasPrefix(codec.hashPrefix(.string(hash))))
        }
    }

    @Test(arguments: types)
    func keysReadBackToTheirAttributes(_ hashType: DynamoKeyType) async {
        for rangeType in [nil] + Self.types.map(Optional.some) {
            let codec = KeyCodec(schema: Self.schema(hash: hashType, range: rangeType))
            let input = Generator { rng in
                (RandomValues.keyValue(hashType.rawValue, using: &rng), rangeType.map { RandomValues.keyValue($0.rawValue, using: &rng) })
            }
            await propertyCheck(count: 150, input: input) { draw in
                let (hash, range) = draw
                let key = try codec.key(hash: hash, range: range)
                var expected: Item = ["pk": hash]
                if let range { expected["sk"] = range }
                #expect(codec.keyAttributes(of: key) == expected)
            }
        }
    }

    @Test(arguments: types)
    func oneHashValuesPrefixNeverHoldsAnotherHashValuesKeys(_ hashType: DynamoKeyType) async {
        let codec = KeyCodec(schema: Self.schema(hash: hashType, range: .string))
        let input = Generator { rng in
            (RandomValues.keyValue(hashType.rawValue, using: &rng), RandomValues.keyValue(hashType.rawValue, using: &rng), RandomValues.string(using: &rng))
        }
        await propertyCheck(count: 400, input: input) { draw in
            let (first, second, range) = draw
            guard first != second else { return }
            let other = try codec.key(hash: second, range: .string(range))
            #expect(!other.hasPrefix(codec.hashPrefix(first)))
        }
    }

    @Test func keysAreReadableForStringsAndEscapeOnlyWhereAHashIsFollowedByARange() throws {
        let hashOnly = KeyCodec(schema: Self.schema(hash: .string, range: nil))
        #expect(try hashOnly.key(of: ["pk": .string("a/b%c")], exact: true).string == "a/b%c")
        let composite = KeyCodec(schema: Self.schema(hash: .string, range: .string))
        #expect(try composite.key(of: ["pk": .string("a/b%c"), "sk": .string("x/y")], exact: true).string == "a%2Fb%25c/x/y")
        let numeric = KeyCodec(schema: Self.schema(hash: .number, range: .number))
        #expect(try numeric.key(of: ["pk": .number(try DynamoNumber(parsing: "1.5")), "sk": .number(try DynamoNumber(parsing: "-1.5"))], exact: true).string == "250115/049884~")
        let binary = KeyCodec(schema: Self.schema(hash: .binary, range: nil))
        #expect(try binary.key(of: ["pk": .binary([0x00, 0xAB])], exact: true).string == "00ab")
    }

    @Test func keysInAnotherShapeAreNotItemsOfTheTable() throws {
        let codec = KeyCodec(schema: Self.schema(hash: .string, range: .number))
        #expect(codec.keyAttributes(of: try Key("no-separator")) == nil)
        #expect(codec.keyAttributes(of: try Key("a/not-a-number")) == nil)
        #expect(codec.keyAttributes(of: try Key("a%41/1")) == nil, "a non-canonical escape")
        #expect(codec.keyAttributes(of: try Key("a/1")) == ["pk": .string("a"), "sk": .number(.zero)])
        let numbers = KeyCodec(schema: Self.schema(hash: .number, range: nil))
        #expect(numbers.keyAttributes(of: try Key("25010")) == nil, "a trailing zero digit is not canonical")
    }

    @Test func keyParametersMustMatchTheSchemaExactly() {
        let codec = KeyCodec(schema: Self.schema(hash: .string, range: .number))
        for key: Item in [["pk": .string("a")], ["pk": .string("a"), "sk": .string("1")], ["pk": .string("a"), "sk": .number(.zero), "x": .null]] {
            let error = #expect(throws: DynamoError.self) { try codec.key(of: key, exact: true) }
            #expect(error?.message == "The provided key element does not match the schema")
        }
    }

    @Test func itemsMissingOrMistypingAKeyAreRefusedWithDynamoDBsMessages() {
        let codec = KeyCodec(schema: Self.schema(hash: .string, range: .number))
        var error = #expect(throws: DynamoError.self) { try codec.key(of: ["pk": .string("a"), "x": .null], exact: false) }
        #expect(error?.message == "One or more parameter values were invalid: Missing the key sk in the item")
        error = #expect(throws: DynamoError.self) { try codec.key(of: ["pk": .number(.zero), "sk": .number(.zero)], exact: false) }
        #expect(error?.message == "One or more parameter values were invalid: Type mismatch for key pk expected: S actual: N")
        error = #expect(throws: DynamoError.self) { try codec.key(of: ["pk": .string(""), "sk": .number(.zero)], exact: false) }
        #expect(error?.message == "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: pk")
    }

    @Test func aKeyBeyondMeridiansLimitIsAValidationException() {
        let codec = KeyCodec(schema: Self.schema(hash: .string, range: nil))
        let error = #expect(throws: DynamoError.self) { try codec.key(of: ["pk": .string(String(repeating: "x", count: 1500))], exact: true) }
        #expect(error?.type == "ValidationException")
        #expect(error?.message.contains("Meridian's limit of 1024 bytes") == true)
    }

    @Test func segmentsKeepOneHashValueTogether() throws {
        let codec = KeyCodec(schema: Self.schema(hash: .string, range: .string))
        let first = try codec.key(hash: .string("user"), range: .string("1"))
        let second = try codec.key(hash: .string("user"), range: .string("2"))
        #expect(codec.segment(of: first, totalSegments: 7) == codec.segment(of: second, totalSegments: 7))
    }
}

@Suite("TableNames")
struct TableNamesTests {
    @Test(arguments: [("movies", "movies"), ("Movies", "movies"), ("my.table", "my-table"), ("0day", "ddb-0day"), ("_x_", "ddb-_x_")])
    func dynamoNamesMapToMeridianNames(_ dynamo: String, _ meridian: String) throws {
        #expect(try TableNames.meridianName(for: dynamo).name == meridian)
    }

    @Test func longNamesAreCutAndHashedIntoSixtyThreeBytes() throws {
        let long = String(repeating: "A", count: 200)
        let other = String(repeating: "A", count: 199) + "B"
        let name = try TableNames.meridianName(for: long)
        #expect(name.name.utf8.count <= 63)
        #expect(name != (try TableNames.meridianName(for: other)))
    }

    @Test func invalidNamesGetDynamoDBsValidationMessages() {
        var error = #expect(throws: DynamoError.self) { try TableNames.meridianName(for: "ab") }
        #expect(error?.message == "1 validation error detected: Value 'ab' at 'tableName' failed to satisfy constraint: Member must have length greater than or equal to 3")
        error = #expect(throws: DynamoError.self) { try TableNames.meridianName(for: "bad name") }
        #expect(error?.message == "1 validation error detected: Value 'bad name' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")
    }

    @Test func nativeTablesShowAStringHashKeyNamedKey() throws {
        let definition = TableDefinition(name: try TableName("users"), mode: .multiPrimary, conflict: .lww, regions: [try RegionID("us-east")])
        #expect(TableNames.schema(of: definition).hashKey == DynamoKeyAttribute(name: "key", type: .string))
        #expect(TableNames.matches(definition, dynamoName: "users"))
        #expect(!TableNames.matches(definition, dynamoName: "Users"))
    }
}
