/// Evaluates parsed expressions against items: conditions, updates, projections.
///
/// Rules, as DynamoDB has them: a comparison involving a missing attribute is false,
/// except `<>`, which is true unless both sides exist and are equal; ordering operators
/// and `BETWEEN` compare numbers numerically and strings and binaries by their bytes, and
/// are false across types; `size` is the byte length of a string or binary, the number of
/// elements of a set, list or map, and undefined for other types.
public enum Evaluation {
    // MARK: Reading

    /// The value at a document path, or `nil` when the path leads nowhere.
    public static func value(at path: DocumentPath, in item: Item) -> AttributeValue? {
        var current = item[path.attribute]
        for element in path.elements.dropFirst() {
            switch (current, element) {
            case (.map(let fields)?, .name(let name)): current = fields[name]
            case (.list(let elements)?, .index(let index)): current = index < elements.count ? elements[index] : nil
            default: return nil
            }
        }
        return current
    }

    /// Orders two numbers, two strings or two binaries: -1, 0, 1; `nil` for other pairs.
    public static func compare(_ lhs: AttributeValue, _ rhs: AttributeValue) -> Int? {
        switch (lhs, rhs) {
        case (.number(let a), .number(let b)): return a < b ? -1 : (a == b ? 0 : 1)
        case (.string(let a), .string(let b)): return order(Array(a.utf8), Array(b.utf8))
        case (.binary(let a), .binary(let b)): return order(a, b)
        default: return nil
        }
    }

    private static func order(_ a: [UInt8], _ b: [UInt8]) -> Int {
        a == b ? 0 : (a.lexicographicallyPrecedes(b) ? -1 : 1)
    }

    // MARK: Conditions

    /// Whether a condition holds for an item (`nil`: the item does not exist).
    public static func evaluate(_ condition: Condition, on item: Item?) -> Bool {
        let item = item ?? [:]
        switch condition {
        case .comparison(let left, let comparator, let right):
            let a = operandValue(left, in: item)
            let b = operandValue(right, in: item)
            switch comparator {
            case .equal: return a != nil && a == b
            case .notEqual: return !(a != nil && a == b)
            default:
                guard let a, let b, let order = compare(a, b) else { return false }
                switch comparator {
                case .less: return order < 0
                case .lessOrEqual: return order <= 0
                case .greater: return order > 0
                default: return order >= 0
                }
            }
        case .between(let operand, let lower, let upper):
            guard let value = operandValue(operand, in: item), let low = operandValue(lower, in: item), let high = operandValue(upper, in: item),
                  let fromLow = compare(value, low), let toHigh = compare(value, high) else { return false }
            return fromLow >= 0 && toHigh <= 0
        case .within(let operand, let candidates):
            guard let value = operandValue(operand, in: item) else { return false }
            return candidates.contains { operandValue($0, in: item) == value }
        case .attributeExists(let path):
            return Self.value(at: path, in: item) != nil
        case .attributeNotExists(let path):
            return Self.value(at: path, in: item) == nil
        case .attributeType(let path, let type):
            guard let value = Self.value(at: path, in: item), case .string(let name)? = operandValue(type, in: item) else { return false }
            return value.typeName == name
        case .beginsWith(let path, let prefix):
            switch (Self.value(at: path, in: item), operandValue(prefix, in: item)) {
            case (.string(let string)?, .string(let start)?): return string.utf8.starts(with: start.utf8)
            case (.binary(let bytes)?, .binary(let start)?): return bytes.starts(with: start)
            default: return false
            }
        case .contains(let path, let operand):
            guard let container = Self.value(at: path, in: item), let element = operandValue(operand, in: item) else { return false }
            return contains(container, element)
        case .and(let left, let right):
            return evaluate(left, on: item) && evaluate(right, on: item)
        case .or(let left, let right):
            return evaluate(left, on: item) || evaluate(right, on: item)
        case .not(let inner):
            return !evaluate(inner, on: item)
        }
    }

    static func operandValue(_ operand: Operand, in item: Item) -> AttributeValue? {
        switch operand {
        case .path(let path): return value(at: path, in: item)
        case .value(let value): return value
        case .size(let path): return value(at: path, in: item).flatMap(size).map { .number(DynamoNumber(Int64($0))) }
        }
    }

    static func size(_ value: AttributeValue) -> Int? {
        switch value {
        case .string(let string): string.utf8.count
        case .binary(let bytes): bytes.count
        case .stringSet(let elements): elements.count
        case .numberSet(let elements): elements.count
        case .binarySet(let elements): elements.count
        case .list(let elements): elements.count
        case .map(let fields): fields.count
        case .number, .bool, .null: nil
        }
    }

    static func contains(_ container: AttributeValue, _ element: AttributeValue) -> Bool {
        switch (container, element) {
        case (.string(let string), .string(let part)): return part.isEmpty || string.utf8.count >= part.utf8.count && containsSubsequence(Array(string.utf8), Array(part.utf8))
        case (.binary(let bytes), .binary(let part)): return part.isEmpty || containsSubsequence(bytes, part)
        case (.stringSet(let elements), .string(let value)): return elements.contains(value)
        case (.numberSet(let elements), .number(let value)): return elements.contains(value)
        case (.binarySet(let elements), .binary(let value)): return elements.contains(value)
        case (.list(let elements), _): return elements.contains(element)
        default: return false
        }
    }

    private static func containsSubsequence(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard needle.count <= haystack.count else { return false }
        for start in 0...(haystack.count - needle.count) where haystack[start..<(start + needle.count)].elementsEqual(needle) {
            return true
        }
        return false
    }

    // MARK: Updates

    /// Refuses an update that writes a key attribute, as DynamoDB does before reading the item.
    public static func checkKeysUntouched(_ update: UpdateExpression, keyNames: [String]) throws(DynamoError) {
        for path in update.paths where keyNames.contains(path.attribute) {
            throw .validation("One or more parameter values were invalid: Cannot update attribute \(path.attribute). This attribute is part of the key")
        }
    }

    /// The item after an update: every `SET` value is computed from the item as it was,
    /// then the sections apply (`SET`, `REMOVE`, `ADD`, `DELETE`).
    public static func apply(_ update: UpdateExpression, to original: Item) throws(DynamoError) -> Item {
        var values: [AttributeValue] = []
        for action in update.sets { values.append(try setValue(action.value, in: original)) }
        var item = original
        for (action, value) in zip(update.sets, values) {
            try assign(value, at: action.path, in: &item)
        }
        // Removing list elements by their original indexes: the highest first.
        for path in update.removes.sorted(by: { isLaterForRemoval($0, $1) }) {
            try remove(at: path, in: &item)
        }
        for action in update.adds {
            let current = value(at: action.path, in: item)
            let result: AttributeValue
            switch (current, action.value) {
            case (nil, let value): result = value
            case (.number(let a)?, .number(let b)): result = .number(try a.adding(b))
            case (.stringSet(let a)?, .stringSet(let b)): result = .makeStringSet(a + b)
            case (.numberSet(let a)?, .numberSet(let b)): result = .makeNumberSet(a + b)
            case (.binarySet(let a)?, .binarySet(let b)): result = .makeBinarySet(a + b)
            default: throw .validation("An operand in the update expression has an incorrect data type")
            }
            try assign(result, at: action.path, in: &item)
        }
        for action in update.deletes {
            guard let current = value(at: action.path, in: item) else { continue }
            let result: AttributeValue?
            switch (current, action.value) {
            case (.stringSet(let a), .stringSet(let b)): result = a.filter { !b.contains($0) }.isEmpty ? nil : .makeStringSet(a.filter { !b.contains($0) })
            case (.numberSet(let a), .numberSet(let b)): result = a.filter { !b.contains($0) }.isEmpty ? nil : .makeNumberSet(a.filter { !b.contains($0) })
            case (.binarySet(let a), .binarySet(let b)): result = a.filter { !b.contains($0) }.isEmpty ? nil : .makeBinarySet(a.filter { !b.contains($0) })
            default: throw .validation("An operand in the update expression has an incorrect data type")
            }
            if let result { try assign(result, at: action.path, in: &item) } else { try remove(at: action.path, in: &item) }
        }
        return item
    }

    /// Orders removals so that a list's higher indexes go first.
    private static func isLaterForRemoval(_ a: DocumentPath, _ b: DocumentPath) -> Bool {
        for (x, y) in zip(a.elements, b.elements) where x != y {
            switch (x, y) {
            case (.index(let i), .index(let j)): return i > j
            default: return false
            }
        }
        return false
    }

    static func setValue(_ value: SetValue, in item: Item) throws(DynamoError) -> AttributeValue {
        switch value {
        case .operand(let operand):
            return try setOperand(operand, in: item)
        case .plus(let left, let right), .minus(let left, let right):
            guard case .number(let a) = try setOperand(left, in: item), case .number(let b) = try setOperand(right, in: item) else {
                throw .validation("An operand in the update expression has an incorrect data type")
            }
            if case .plus = value { return .number(try a.adding(b)) }
            return .number(try a.subtracting(b))
        }
    }

    static func setOperand(_ operand: SetOperand, in item: Item) throws(DynamoError) -> AttributeValue {
        switch operand {
        case .value(let value):
            return value
        case .path(let path):
            guard let value = value(at: path, in: item) else {
                throw .validation("The provided expression refers to an attribute that does not exist in the item")
            }
            return value
        case .ifNotExists(let path, let fallback):
            if let value = value(at: path, in: item) { return value }
            return try setOperand(fallback, in: item)
        case .listAppend(let first, let second):
            guard case .list(let a) = try setOperand(first, in: item), case .list(let b) = try setOperand(second, in: item) else {
                throw .validation("An operand in the update expression has an incorrect data type")
            }
            return .list(a + b)
        }
    }

    static let invalidPath = DynamoError.validation("The document path provided in the update expression is invalid for update")

    /// Writes a value at a path whose parent must exist: a map member is created or
    /// replaced; a list index past the end appends.
    static func assign(_ value: AttributeValue, at path: DocumentPath, in item: inout Item) throws(DynamoError) {
        guard path.elements.count > 1 else {
            item[path.attribute] = value
            return
        }
        guard let root = item[path.attribute] else { throw invalidPath }
        item[path.attribute] = try assigned(value, into: root, along: path.elements.dropFirst())
    }

    private static func assigned(_ value: AttributeValue, into container: AttributeValue, along elements: ArraySlice<DocumentPath.Element>) throws(DynamoError) -> AttributeValue {
        guard let first = elements.first else { return value }
        let rest = elements.dropFirst()
        switch (container, first) {
        case (.map(var fields), .name(let name)):
            if rest.isEmpty {
                fields[name] = value
            } else {
                guard let child = fields[name] else { throw invalidPath }
                fields[name] = try assigned(value, into: child, along: rest)
            }
            return .map(fields)
        case (.list(var elements), .index(let index)):
            if index < elements.count {
                elements[index] = try assigned(value, into: elements[index], along: rest)
            } else {
                guard rest.isEmpty else { throw invalidPath }
                elements.append(value)
            }
            return .list(elements)
        default:
            throw invalidPath
        }
    }

    /// Removes what a path names; a path that leads nowhere changes nothing.
    static func remove(at path: DocumentPath, in item: inout Item) throws(DynamoError) {
        guard path.elements.count > 1 else {
            item[path.attribute] = nil
            return
        }
        guard let root = item[path.attribute] else { return }
        item[path.attribute] = try removed(from: root, along: path.elements.dropFirst())
    }

    private static func removed(from container: AttributeValue, along elements: ArraySlice<DocumentPath.Element>) throws(DynamoError) -> AttributeValue {
        guard let first = elements.first else { return container }
        let rest = elements.dropFirst()
        switch (container, first) {
        case (.map(var fields), .name(let name)):
            if rest.isEmpty { fields[name] = nil } else if let child = fields[name] { fields[name] = try removed(from: child, along: rest) }
            return .map(fields)
        case (.list(var list), .index(let index)):
            guard index < list.count else { return container }
            if rest.isEmpty { list.remove(at: index) } else { list[index] = try removed(from: list[index], along: rest) }
            return .list(list)
        default:
            throw invalidPath
        }
    }

    // MARK: Projection

    /// The parts of an item that a list of paths names, nested as in the item (list
    /// elements keep their order and close up).
    public static func project(_ item: Item, _ paths: [DocumentPath]) -> Item {
        var result: Item = [:]
        let byAttribute = Dictionary(grouping: paths, by: \.attribute)
        for (attribute, group) in byAttribute {
            guard let value = item[attribute] else { continue }
            if let projected = project(value, group.map { Array($0.elements.dropFirst()) }) { result[attribute] = projected }
        }
        return result
    }

    private static func project(_ value: AttributeValue, _ subpaths: [[DocumentPath.Element]]) -> AttributeValue? {
        if subpaths.contains(where: \.isEmpty) { return value }
        switch value {
        case .map(let fields):
            var projected: [String: AttributeValue] = [:]
            var groups: [String: [[DocumentPath.Element]]] = [:]
            for subpath in subpaths {
                if case .name(let name) = subpath[0] { groups[name, default: []].append(Array(subpath.dropFirst())) }
            }
            for (name, group) in groups {
                if let child = fields[name], let kept = project(child, group) { projected[name] = kept }
            }
            return projected.isEmpty ? nil : .map(projected)
        case .list(let elements):
            var groups: [Int: [[DocumentPath.Element]]] = [:]
            for subpath in subpaths {
                if case .index(let index) = subpath[0] { groups[index, default: []].append(Array(subpath.dropFirst())) }
            }
            let kept = groups.keys.sorted().compactMap { index in index < elements.count ? project(elements[index], groups[index]!) : nil }
            return kept.isEmpty ? nil : .list(kept)
        default:
            return nil
        }
    }
}
