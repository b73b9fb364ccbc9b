import MeridianCore
import MeridianDynamo
import Testing

@Suite("Evaluation")
struct EvaluationTests {
    static func n(_ text: String) -> AttributeValue { .number(try! DynamoNumber(parsing: text)) }

    static let item: Item = [
        "pk": .string("user#1"), "age": n("30"), "name": .string("Alex"), "bin": .binary([1, 2, 3]),
        "tags": .makeStringSet(["a", "b"]), "scores": .makeNumberSet([DynamoNumber(1), DynamoNumber(2)]),
        "list": .list([.string("x"), n("5"), .map(["deep": .bool(true)])]),
        "address": .map(["city": .string("Pune"), "zip": n("411001")]), "flag": .bool(false), "nothing": .null,
    ]

    static let values: [String: AttributeValue] = [
        ":20": n("20"), ":30": n("30"), ":40": n("40"), ":alex": .string("Alex"), ":al": .string("Al"), ":a": .string("a"),
        ":x": .string("x"), ":S": .string("S"), ":SS": .string("SS"), ":M": .string("M"), ":b12": .binary([1, 2]), ":3": n("3"),
        ":pune": .string("Pune"), ":5": n("5"), ":2": n("2"), ":one": n("1"),
    ]

    static func holds(_ text: String, on item: Item? = item) throws -> Bool {
        var attributes = try ExpressionAttributes(names: nil, values: values)
        return Evaluation.evaluate(try Expressions.condition(text, kind: .condition, attributes: &attributes), on: item)
    }

    @Test(arguments: [
        ("age = :30", true), ("age <> :30", false), ("age < :40", true), ("age <= :30", true), ("age > :30", false), ("age >= :20", true),
        ("age BETWEEN :20 AND :40", true), ("age BETWEEN :20 AND :20", false), ("age IN (:20, :30)", true), ("age IN (:40)", false),
        ("name = :alex", true), ("name > :al", true), ("missing = :30", false), ("missing <> :30", true), ("missing < :30", false),
        ("name < :30", false), ("attribute_exists(age)", true), ("attribute_exists(missing)", false),
        ("attribute_not_exists(missing)", true), ("attribute_exists(address.city)", true), ("attribute_exists(list[2].deep)", true),
        ("attribute_exists(list[9])", false), ("attribute_type(tags, :SS)", true), ("attribute_type(address, :M)", true),
        ("attribute_type(name, :SS)", false), ("begins_with(name, :al)", true), ("begins_with(name, :a)", false),
        ("begins_with(bin, :b12)", true), ("contains(name, :x)", true), ("contains(name, :S)", false), ("contains(tags, :a)", true), ("contains(scores, :2)", true),
        ("contains(list, :x)", true), ("contains(list, :5)", true), ("contains(name, :al)", true), ("size(name) = :3", false),
        ("size(tags) = :2", true), ("size(address) = :2", true), ("size(list) = :3", true), ("size(age) = :2", false),
        ("NOT age = :30", false), ("age = :30 AND name = :alex", true), ("age = :20 OR name = :alex", true),
        ("address.city = :pune", true), ("list[1] = :5", true), ("flag = :one", false),
    ])
    func conditionsFollowDynamoDBsRules(_ text: String, _ expected: Bool) throws {
        #expect(try Self.holds(text) == expected, "\(text)")
    }

    @Test func aMissingItemHoldsOnlyNegativeConditions() throws {
        #expect(try Self.holds("attribute_not_exists(pk)", on: nil))
        #expect(try !Self.holds("attribute_exists(pk)", on: nil))
        #expect(try Self.holds("age <> :30", on: nil))
    }

    static func apply(_ text: String, to item: Item = item) throws -> Item {
        var attributes = try ExpressionAttributes(names: nil, values: values.merging([":list": .list([.string("y")]), ":tags": .makeStringSet(["b", "c"]), ":nums": .makeNumberSet([DynamoNumber(2)])]) { a, _ in a })
        let update = try Expressions.update(text, attributes: &attributes)
        return try Evaluation.apply(update, to: item)
    }

    @Test func setComputesFromTheItemAsItWas() throws {
        let updated = try Self.apply("SET age = age + :one, name = :x, list[1] = :20, address.country = :alex, list[9] = :40")
        #expect(updated["age"] == Self.n("31"))
        #expect(updated["name"] == .string("x"))
        #expect(updated["list"] == .list([.string("x"), Self.n("20"), .map(["deep": .bool(true)]), Self.n("40")]), "an index past the end appends")
        #expect(updated["address"] == .map(["city": .string("Pune"), "zip": Self.n("411001"), "country": .string("Alex")]))
        // Both values come from the original item: a swap.
        let swapped = try Self.apply("SET age = name, name = age")
        #expect(swapped["age"] == .string("Alex") && swapped["name"] == Self.n("30"))
    }

    @Test func ifNotExistsAndListAppend() throws {
        let updated = try Self.apply("SET age = if_not_exists(age, :one), fresh = if_not_exists(fresh, :one), list = list_append(:list, list)")
        #expect(updated["age"] == Self.n("30"))
        #expect(updated["fresh"] == Self.n("1"))
        #expect(updated["list"].flatMap { if case .list(let elements) = $0 { elements.first } else { nil } } == .string("y"))
    }

    @Test func removeAddAndDeleteOnSeparatePaths() throws {
        let updated = try Self.apply("REMOVE name, list[0], list[2], address.zip ADD age :one, counter :5, tags :tags DELETE scores :nums")
        #expect(updated["name"] == nil)
        #expect(updated["list"] == .list([Self.n("5")]), "indexes refer to the list as it was")
        #expect(updated["address"] == .map(["city": .string("Pune")]))
        #expect(updated["age"] == Self.n("31"))
        #expect(updated["counter"] == Self.n("5"), "ADD to a missing number starts from zero")
        #expect(updated["tags"] == .makeStringSet(["a", "b", "c"]))
        #expect(updated["scores"] == .makeNumberSet([DynamoNumber(1)]))
        let emptied = try Self.apply("DELETE tags :tags", to: ["tags": .makeStringSet(["b", "c"])])
        #expect(emptied["tags"] == nil, "a set emptied by DELETE goes")
    }

    @Test func updateErrorsAtRunTimeAreDynamoDBs() {
        var error = #expect(throws: DynamoError.self) { try Self.apply("SET x = missing + :one") }
        #expect(error?.message == "The provided expression refers to an attribute that does not exist in the item")
        error = #expect(throws: DynamoError.self) { try Self.apply("SET x = name + :one") }
        #expect(error?.message == "An operand in the update expression has an incorrect data type")
        error = #expect(throws: DynamoError.self) { try Self.apply("SET nowhere.deep = :one") }
        #expect(error?.message == "The document path provided in the update expression is invalid for update")
        error = #expect(throws: DynamoError.self) { try Self.apply("ADD name :one") }
        #expect(error?.message == "An operand in the update expression has an incorrect data type")
    }

    @Test func keyAttributesCannotBeUpdated() throws {
        var attributes = try ExpressionAttributes(names: nil, values: [":x": .string("x")])
        let update = try Expressions.update("SET pk = :x", attributes: &attributes)
        let error = #expect(throws: DynamoError.self) { try Evaluation.checkKeysUntouched(update, keyNames: ["pk"]) }
        #expect(error?.message == "One or more parameter values were invalid: Cannot update attribute pk. This attribute is part of the key")
    }

    @Test func projectionKeepsTheNamedPartsNested() throws {
        var attributes = ExpressionAttributes.none
        let paths = try Expressions.projection("name, address.city, list[2].deep, list[0], missing", attributes: &attributes)
        #expect(Evaluation.project(Self.item, paths) == [
            "name": .string("Alex"), "address": .map(["city": .string("Pune")]),
            "list": .list([.string("x"), .map(["deep": .bool(true)])]),
        ])
    }
}
