import Foundation
import MeridianCore

// DynamoDB JSON: every value is an object with exactly one member naming its type,
// `{"S": "text"}`, `{"N": "12.5"}` (numbers travel as strings), `{"B": "<base64>"}`,
// `{"BOOL": true}`, `{"NULL": true}`, `{"L": [...]}`, `{"M": {...}}`, `{"SS": [...]}`,
// `{"NS": [...]}`, `{"BS": [...]}`. Decoding treats the body as hostile: every member is
// checked, nesting is bounded, and every refusal carries DynamoDB's message.

extension AttributeValue {
    /// Reads a value of DynamoDB JSON; `depth` is the nesting of lists and maps around it.
    public init(dynamoJSON json: JSONValue, depth: Int = 0) throws(DynamoError) {
        guard case .object(let members) = json else {
            throw .serialization("An AttributeValue must be a JSON object such as {\"S\": \"text\"}")
        }
        let typed = members.filter { AttributeValue.typeNames.contains($0.key) }
        guard typed.count <= 1 else {
            throw .validation("Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes")
        }
        guard let (type, body) = typed.first else {
            throw .validation("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes")
        }
        switch type {
        case "S":
            self = .string(try Self.string(body, type))
        case "N":
            self = .number(try DynamoNumber(parsing: try Self.string(body, type)))
        case "B":
            self = .binary(try Self.binary(body))
        case "BOOL":
            guard case .bool(let value) = body else { throw .serialization("The value of BOOL must be true or false") }
            self = .bool(value)
        case "NULL":
            guard case .bool(let value) = body else { throw .serialization("The value of NULL must be true") }
            guard value else { throw .invalidParameter("Null attribute value types must have the value of true") }
            self = .null
        case "L":
            guard depth < DynamoLimits.nestingLevelsMax else { throw .validation("Nesting Levels have exceeded supported limits") }
            guard case .array(let elements) = body else { throw .serialization("The value of L must be a JSON array") }
            var values: [AttributeValue] = []
            values.reserveCapacity(elements.count)
            for element in elements { values.append(try AttributeValue(dynamoJSON: element, depth: depth + 1)) }
            self = .list(values)
        case "M":
            guard depth < DynamoLimits.nestingLevelsMax else { throw .validation("Nesting Levels have exceeded supported limits") }
            guard case .object(let fields) = body else { throw .serialization("The value of M must be a JSON object") }
            var values: [String: AttributeValue] = [:]
            for (name, element) in fields { values[name] = try AttributeValue(dynamoJSON: element, depth: depth + 1) }
            self = .map(values)
        case "SS":
            let elements = try Self.elements(body, type).map { element throws(DynamoError) in try Self.string(element, type) }
            try Self.checkSet(elements.count, distinct: Set(elements).count, type: type, shown: elements)
            self = .makeStringSet(elements)
        case "NS":
            let elements = try Self.elements(body, type).map { element throws(DynamoError) in try DynamoNumber(parsing: try Self.string(element, type)) }
            try Self.checkSet(elements.count, distinct: Set(elements).count, type: type, shown: elements.map(\.description))
            self = .makeNumberSet(elements)
        default:
            precondition(type == "BS", "every type name is handled")
            let elements = try Self.elements(body, type).map { element throws(DynamoError) in try Self.binary(element) }
            try Self.checkSet(elements.count, distinct: Set(elements).count, type: type, shown: elements.map { Data($0).base64EncodedString() })
            self = .makeBinarySet(elements)
        }
    }

    private static func string(_ json: JSONValue, _ type: String) throws(DynamoError) -> String {
        guard case .string(let string) = json else {
            throw .serialization("The value of \(type) must be a JSON string\(type == "N" || type == "NS" ? " (DynamoDB numbers travel as strings)" : "")")
        }
        return string
    }

    private static func binary(_ json: JSONValue) throws(DynamoError) -> [UInt8] {
        guard case .string(let text) = json, let data = Data(base64Encoded: text) else {
            throw .serialization("Base64 encoded length is expected a multiple of 4 bytes but found: \(Self.lengthDescription(json))")
        }
        return Array(data)
    }

    private static func lengthDescription(_ json: JSONValue) -> String {
        if case .string(let text) = json { return String(text.utf8.count) }
        return "a value that is not a string"
    }

    private static func elements(_ json: JSONValue, _ type: String) throws(DynamoError) -> [JSONValue] {
        guard case .array(let elements) = json else { throw .serialization("The value of \(type) must be a JSON array") }
        return elements
    }

    private static func checkSet(_ count: Int, distinct: Int, type: String, shown: [String]) throws(DynamoError) {
        guard count > 0 else {
            let kind = ["SS": "string", "NS": "number", "BS": "binary"][type] ?? type
            throw .invalidParameter("An \(kind) set  may not be empty")
        }
        guard distinct == count else {
            throw .invalidParameter("Input collection [\(shown.prefix(20).joined(separator: ", "))] of type \(type) contains duplicates.")
        }
    }

    /// The value in DynamoDB JSON.
    public var dynamoJSON: JSONValue {
        switch self {
        case .string(let string): .object(["S": .string(string)])
        case .number(let number): .object(["N": .string(number.description)])
        case .binary(let bytes): .object(["B": .string(Data(bytes).base64EncodedString())])
        case .bool(let value): .object(["BOOL": .bool(value)])
        case .null: .object(["NULL": .bool(true)])
        case .list(let elements): .object(["L": .array(elements.map(\.dynamoJSON))])
        case .map(let fields): .object(["M": .object(fields.mapValues(\.dynamoJSON))])
        case .stringSet(let elements): .object(["SS": .array(elements.map { .string($0) })])
        case .numberSet(let elements): .object(["NS": .array(elements.map { .string($0.description) })])
        case .binarySet(let elements): .object(["BS": .array(elements.map { .string(Data($0).base64EncodedString()) })])
        }
    }
}

extension Items {
    /// Reads an item of DynamoDB JSON (an object of attribute names to values); `what`
    /// names the parameter in messages.
    public static func item(dynamoJSON json: JSONValue, what: String) throws(DynamoError) -> Item {
        guard case .object(let members) = json else { throw .serialization("\(what) must be a JSON object of attribute names to values") }
        var item: Item = [:]
        for (name, value) in members {
            guard !name.isEmpty else { throw .validation("One or more parameter values were invalid: An attribute name in \(what) is empty") }
            item[name] = try AttributeValue(dynamoJSON: value)
        }
        return item
    }

    /// The item in DynamoDB JSON.
    public static func dynamoJSON(_ item: Item) -> JSONValue {
        .object(item.mapValues(\.dynamoJSON))
    }
}
