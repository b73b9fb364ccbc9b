import Foundation
import MeridianCore

/// The JSON in which an item of a DynamoDB table is stored as a Meridian value: plain JSON
/// where the type is plain, a one-member wrapper object where it is not.
///
/// | DynamoDB | stored JSON |
/// |---|---|
/// | `S` | a string |
/// | `N` | a number when the JSON number reads back as exactly the same decimal, else `{"$N": "text"}` |
/// | `BOOL`, `NULL` | `true`/`false`, `null` |
/// | `L` | an array |
/// | `M` | an object, or `{"$M": {...}}` when the map is a single member named like a wrapper |
/// | `B` | `{"$B": "<base64>"}` |
/// | `SS`, `NS`, `BS` | `{"$SS": [...]}`, `{"$NS": ["1", ...]}`, `{"$BS": ["<base64>", ...]}` |
///
/// An item is an object of its attributes (key attributes included, so that a native
/// `GET` shows the whole item). Reading is total over JSON a native `PUT` may store: any
/// object that is not a valid wrapper is a map, and a value that is not an object reads
/// as an item with one attribute, `value`. So `encode` then `decode` is the identity, and
/// plain JSON written through the native API reads back through the DynamoDB API.
public enum StoredItems {
    /// The member names that mark a typed value.
    public static let wrapperNames: Set<String> = ["$N", "$B", "$SS", "$NS", "$BS", "$M"]
    /// The attribute a stored value that is not a JSON object is read as.
    public static let plainValueAttribute = "value"

    /// An item as the JSON value to store.
    public static func json(item: Item) -> JSONValue {
        .object(item.mapValues(json))
    }

    /// The item a stored value holds.
    ///
    /// - Throws: `ValidationException` when the value holds a number DynamoDB cannot
    ///   represent (written through the native API).
    public static func item(json: JSONValue) throws(DynamoError) -> Item {
        guard case .object(let fields) = json else { return [plainValueAttribute: try attribute(json)] }
        var item: Item = [:]
        for (name, value) in fields { item[name] = try attribute(value) }
        return item
    }

    /// A value as stored JSON.
    public static func json(_ value: AttributeValue) -> JSONValue {
        switch value {
        case .string(let string): return .string(string)
        case .number(let number): return json(number)
        case .binary(let bytes): return .object(["$B": .string(Data(bytes).base64EncodedString())])
        case .bool(let bool): return .bool(bool)
        case .null: return .null
        case .list(let elements): return .array(elements.map(json))
        case .map(let fields):
            let object = JSONValue.object(fields.mapValues(json))
            if fields.count == 1, let name = fields.keys.first, wrapperNames.contains(name) { return .object(["$M": object]) }
            return object
        case .stringSet(let elements): return .object(["$SS": .array(elements.map { .string($0) })])
        case .numberSet(let elements): return .object(["$NS": .array(elements.map { .string($0.description) })])
        case .binarySet(let elements): return .object(["$BS": .array(elements.map { .string(Data($0).base64EncodedString()) })])
        }
    }

    /// A number as a JSON number when that reads back as the same decimal.
    static func json(_ number: DynamoNumber) -> JSONValue {
        if let integer = number.int64 { return .integer(integer) }
        if let double = Double(number.description), double.isFinite {
            let candidate = JSONValue.double(double)
            if (try? DynamoNumber.parse(String(decoding: candidate.canonicalBytes, as: UTF8.self))) == number { return candidate }
        }
        return .object(["$N": .string(number.description)])
    }

    /// The value a piece of stored JSON holds.
    public static func attribute(_ json: JSONValue) throws(DynamoError) -> AttributeValue {
        switch json {
        case .null: return .null
        case .bool(let bool): return .bool(bool)
        case .integer(let integer): return .number(DynamoNumber(integer))
        case .double, .unsignedInteger:
            return .number(try storedNumber(String(decoding: json.canonicalBytes, as: UTF8.self)))
        case .string(let string): return .string(string)
        case .array(let elements):
            var values: [AttributeValue] = []
            values.reserveCapacity(elements.count)
            for element in elements { values.append(try attribute(element)) }
            return .list(values)
        case .object(let fields):
            if fields.count == 1, let (name, body) = fields.first, wrapperNames.contains(name), let typed = try wrapped(name, body) {
                return typed
            }
            var values: [String: AttributeValue] = [:]
            for (name, value) in fields { values[name] = try attribute(value) }
            return .map(values)
        }
    }

    /// The value of a wrapper, or `nil` when its body does not fit it (then the object is a map).
    private static func wrapped(_ name: String, _ body: JSONValue) throws(DynamoError) -> AttributeValue? {
        switch (name, body) {
        case ("$N", .string(let text)):
            return (try? DynamoNumber(parsing: text)).map(AttributeValue.number)
        case ("$B", .string(let text)):
            return Data(base64Encoded: text).map { .binary(Array($0)) }
        case ("$M", .object(let fields)):
            var values: [String: AttributeValue] = [:]
            for (field, value) in fields { values[field] = try attribute(value) }
            return .map(values)
        case ("$SS", .array(let elements)):
            let strings = elements.compactMap { element -> String? in if case .string(let string) = element { return string } else { return nil } }
            guard !strings.isEmpty, strings.count == elements.count, Set(strings).count == strings.count else { return nil }
            return .makeStringSet(strings)
        case ("$NS", .array(let elements)):
            let numbers = elements.compactMap { element -> DynamoNumber? in
                if case .string(let text) = element { return try? DynamoNumber(parsing: text) } else { return nil }
            }
            guard !numbers.isEmpty, numbers.count == elements.count, Set(numbers).count == numbers.count else { return nil }
            return .makeNumberSet(numbers)
        case ("$BS", .array(let elements)):
            let binaries = elements.compactMap { element -> [UInt8]? in
                if case .string(let text) = element { return Data(base64Encoded: text).map(Array.init) } else { return nil }
            }
            guard !binaries.isEmpty, binaries.count == elements.count, Set(binaries).count == binaries.count else { return nil }
            return .makeBinarySet(binaries)
        default:
            return nil
        }
    }

    private static func storedNumber(_ text: String) throws(DynamoError) -> DynamoNumber {
        do {
            return try DynamoNumber(parsing: text)
        } catch {
            throw .validation("The stored item holds the number \(text.prefix(40)), which DynamoDB cannot represent (\(error.message)); read it through the native API")
        }
    }
}
