import MeridianDynamo
import Testing

@Suite("Expression parser")
struct ExpressionParserTests {
    static let values: [String: AttributeValue] = [
        ":one": .number(DynamoNumber(1)), ":two": .number(DynamoNumber(2)), ":s": .string("x"), ":t": .string("S"),
        ":list": .list([.string("a")]), ":set": .makeStringSet(["a"]), ":yes": .bool(true),
    ]

    static func attributes(names: [String: String]? = ["#n": "name", "#k": "key"], values: [String: AttributeValue]? = values) -> ExpressionAttributes {
        try! ExpressionAttributes(names: names, values: values)
    }

    static func condition(_ text: String) throws(DynamoError) -> Condition {
        var attributes = attributes()
        return try Expressions.condition(text, kind: .condition, attributes: &attributes)
    }

    static func path(_ name: String) -> DocumentPath { DocumentPath(attribute: name) }
    static func syntaxMessage(_ token: String, near: String, kind: String = "ConditionExpression") -> String {
        "Invalid \(kind): Syntax error; token: \"\(token)\", near: \"\(near)\""
    }

    @Test func andBindsTighterThanOrAndNotTighterThanAnd() throws {
        let parsed = try Self.condition("a = :one OR NOT b = :two AND c = :s")
        #expect(parsed == .or(
            .comparison(.path(Self.path("a")), .equal, .value(.number(DynamoNumber(1)))),
            .and(.not(.comparison(.path(Self.path("b")), .equal, .value(.number(DynamoNumber(2))))),
                 .comparison(.path(Self.path("c")), .equal, .value(.string("x"))))))
    }

    @Test func parenthesesRegroupAndKeywordsIgnoreCase() throws {
        let parsed = try Self.condition("(a = :one or b = :two) and c between :one AND :two")
        #expect(parsed == .and(
            .or(.comparison(.path(Self.path("a")), .equal, .value(.number(DynamoNumber(1)))),
                .comparison(.path(Self.path("b")), .equal, .value(.number(DynamoNumber(2))))),
            .between(.path(Self.path("c")), lower: .value(.number(DynamoNumber(1))), upper: .value(.number(DynamoNumber(2))))))
    }

    @Test func pathsResolveNamesMembersAndIndexes() throws {
        let parsed = try Self.condition("#n.first[2].#k <> :s")
        #expect(parsed == .comparison(.path(DocumentPath([.name("name"), .name("first"), .index(2), .name("key")])), .notEqual, .value(.string("x"))))
    }

    @Test func functionsAndSizeParse() throws {
        #expect(try Self.condition("attribute_exists(a) AND attribute_not_exists(#k)") == .and(.attributeExists(Self.path("a")), .attributeNotExists(Self.path("key"))))
        #expect(try Self.condition("begins_with(a, :s)") == .beginsWith(Self.path("a"), .value(.string("x"))))
        #expect(try Self.condition("contains(a, :s)") == .contains(Self.path("a"), .value(.string("x"))))
        #expect(try Self.condition("attribute_type(a, :t)") == .attributeType(Self.path("a"), .value(.string("S"))))
        #expect(try Self.condition("size(a) > :one") == .comparison(.size(Self.path("a")), .greater, .value(.number(DynamoNumber(1)))))
        #expect(try Self.condition("a IN (:one, :two, :s)") == .within(.path(Self.path("a")), [.value(.number(DynamoNumber(1))), .value(.number(DynamoNumber(2))), .value(.string("x"))]))
    }

    @Test(arguments: [
        ("a = ", "<EOF>", "= "),
        ("a = :one AND", "<EOF>", "AND"),
        ("a = :one AND AND b = :two", "AND", "AND AND b"),
        ("a == :one", "=", "== :one"),
        ("a = :one)", ")", ":one)"),
        ("a $ :one", "$", "a $ :one"),
        ("(a = :one", "<EOF>", ":one"),
        ("a BETWEEN :one OR :two", "OR", ":one OR :two"),
    ])
    func syntaxErrorsNameTheTokenAndWhereItIs(_ text: String, _ token: String, _ near: String) {
        let error = #expect(throws: DynamoError.self) { try Self.condition(text) }
        #expect(error?.type == "ValidationException")
        #expect(error?.message == Self.syntaxMessage(token, near: near))
    }

    @Test func undefinedAndUnusedPlaceholdersAreRefused() throws {
        var error = #expect(throws: DynamoError.self) { try Self.condition("a = :missing") }
        #expect(error?.message == "Invalid ConditionExpression: An expression attribute value used in expression is not defined; attribute value: :missing")
        error = #expect(throws: DynamoError.self) { try Self.condition("#missing = :one") }
        #expect(error?.message == "Invalid ConditionExpression: An expression attribute name used in the document path is not defined; attribute name: #missing")
        var attributes = Self.attributes()
        _ = try Expressions.condition("#n = :one", kind: .condition, attributes: &attributes)
        error = #expect(throws: DynamoError.self) { try attributes.checkAllUsed() }
        #expect(error?.message == "Value provided in ExpressionAttributeNames unused in expressions: keys: {#k}")
    }

    @Test func placeholderMapsAreChecked() {
        var error = #expect(throws: DynamoError.self) { try ExpressionAttributes(names: [:], values: nil) }
        #expect(error?.message == "ExpressionAttributeNames must not be empty")
        error = #expect(throws: DynamoError.self) { try ExpressionAttributes(names: nil, values: ["v": .null]) }
        #expect(error?.message == "ExpressionAttributeValues contains invalid key: Syntax error; key: \"v\"")
    }

    @Test func operandTypesAreCheckedWhereTheyAreGiven() {
        var error = #expect(throws: DynamoError.self) { try Self.condition("a < :yes") }
        #expect(error?.message == "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: <, operand type: BOOL")
        error = #expect(throws: DynamoError.self) { try Self.condition("begins_with(a, :one)") }
        #expect(error?.message == "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N")
        error = #expect(throws: DynamoError.self) { try Self.condition("a BETWEEN :two AND :one") }
        #expect(error?.message == "Invalid ConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {N:2}, upper bound operand: AttributeValue: {N:1}")
        error = #expect(throws: DynamoError.self) { try Self.condition("attribute_exists(:s)") }
        #expect(error?.message == "Invalid ConditionExpression: Operator or function requires a document path; operator or function: attribute_exists")
        error = #expect(throws: DynamoError.self) { try Self.condition("fly(a)") }
        #expect(error?.message == "Invalid ConditionExpression: Invalid function name; function: fly")
    }

    @Test func emptyAndOversizedExpressionsAreRefused() {
        var error = #expect(throws: DynamoError.self) { try Self.condition("  ") }
        #expect(error?.message == "Invalid ConditionExpression: The expression can not be empty;")
        error = #expect(throws: DynamoError.self) { try Self.condition(String(repeating: "a = :one AND ", count: 400) + "a = :one") }
        #expect(error?.message.hasPrefix("Invalid ConditionExpression: Expression size has exceeded the maximum allowed size") == true)
    }

    @Test func updateSectionsParseInAnyOrder() throws {
        var attributes = Self.attributes(names: nil)
        let update = try Expressions.update("REMOVE z, y[1] set a = a + :one, b = if_not_exists(b, :two), c = list_append(c, :list) ADD d :one, e :set DELETE f :set",
                                            attributes: &attributes)
        #expect(update.removes == [Self.path("z"), DocumentPath([.name("y"), .index(1)])])
        #expect(update.sets.map(\.path) == [Self.path("a"), Self.path("b"), Self.path("c")])
        #expect(update.sets[0].value == .plus(.path(Self.path("a")), .value(.number(DynamoNumber(1)))))
        #expect(update.sets[1].value == .operand(.ifNotExists(Self.path("b"), .value(.number(DynamoNumber(2))))))
        #expect(update.sets[2].value == .operand(.listAppend(.path(Self.path("c")), .value(.list([.string("a")])))))
        #expect(update.adds.map(\.path) == [Self.path("d"), Self.path("e")])
        #expect(update.deletes.map(\.path) == [Self.path("f")])
    }

    @Test func updateErrorsAreDynamoDBs() {
        func update(_ text: String) throws(DynamoError) {
            var attributes = Self.attributes(names: nil)
            _ = try Expressions.update(text, attributes: &attributes)
        }
        var error = #expect(throws: DynamoError.self) { try update("SET a = :one SET b = :two") }
        #expect(error?.message == "Invalid UpdateExpression: The \"SET\" section can only be used once in an update expression;")
        error = #expect(throws: DynamoError.self) { try update("SET a = :one, a.b = :two") }
        #expect(error?.message == "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a, b]")
        error = #expect(throws: DynamoError.self) { try update("ADD a :s") }
        #expect(error?.message == "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, operand type: S")
        error = #expect(throws: DynamoError.self) { try update("SET a = :s + :one") }
        #expect(error?.message == "Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: +, operand type: S")
        error = #expect(throws: DynamoError.self) { try update("SET a :one") }
        #expect(error?.message == Self.syntaxMessage(":one", near: "a :one", kind: "UpdateExpression"))
        error = #expect(throws: DynamoError.self) { try update("PUT a = :one") }
        #expect(error?.message == Self.syntaxMessage("PUT", near: "PUT a", kind: "UpdateExpression"))
    }

    @Test func projectionsAreCommaSeparatedPathsThatDoNotOverlap() throws {
        var attributes = Self.attributes(values: nil)
        #expect(try Expressions.projection("a, #n.b, c[0]", attributes: &attributes) == [Self.path("a"), DocumentPath([.name("name"), .name("b")]), DocumentPath([.name("c"), .index(0)])])
        let error = #expect(throws: DynamoError.self) { try Expressions.projection("a, a.b", attributes: &attributes) }
        #expect(error?.message.hasPrefix("Invalid ProjectionExpression: Two document paths overlap") == true)
    }

    @Test func deepNestingIsRefusedBeforeItExhaustsTheStack() throws {
        #expect(try Self.condition(String(repeating: "(", count: 100) + "a = :one" + String(repeating: ")", count: 100))
            == .comparison(.path(Self.path("a")), .equal, .value(.number(DynamoNumber(1)))))
        let error = #expect(throws: DynamoError.self) {
            try Self.condition(String(repeating: "NOT ", count: 101) + "a = :one")
        }
        #expect(error?.message == "Invalid ConditionExpression: The expression nests parentheses and NOT more than 100 levels deep")
    }
}
