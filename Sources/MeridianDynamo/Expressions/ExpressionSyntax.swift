/// Which expression parameter a text came from: it names the expression in messages.
public enum ExpressionKind: String, Sendable {
    case condition = "ConditionExpression"
    case update = "UpdateExpression"
    case keyCondition = "KeyConditionExpression"
    case filter = "FilterExpression"
    case projection = "ProjectionExpression"
}

/// A path into an item: an attribute name, then map members and list indexes
/// (`a.b[2].c`). Placeholders are already resolved.
public struct DocumentPath: Sendable, Hashable, CustomStringConvertible {
    /// One step of a path.
    public enum Element: Sendable, Hashable {
        case name(String)
        case index(Int)
    }

    /// The steps; the first is always a name.
    public var elements: [Element]

    /// A path of steps, the first an attribute name.
    public init(_ elements: [Element]) {
        precondition(elements.first.map { if case .name = $0 { true } else { false } } ?? false, "a document path starts with an attribute name")
        self.elements = elements
    }

    /// A path naming one top-level attribute.
    public init(attribute: String) {
        self.init([.name(attribute)])
    }

    /// The top-level attribute the path starts at.
    public var attribute: String {
        guard case .name(let name) = elements[0] else { preconditionFailure("a document path starts with an attribute name") }
        return name
    }

    /// DynamoDB's rendering in messages: `[a, b, [2]]`.
    public var description: String {
        "[" + elements.map { element in
            switch element {
            case .name(let name): name
            case .index(let index): "[\(index)]"
            }
        }.joined(separator: ", ") + "]"
    }

    /// Whether one path is a prefix of the other (DynamoDB refuses such pairs in one update).
    public func overlaps(_ other: DocumentPath) -> Bool {
        let shorter = min(elements.count, other.elements.count)
        return Array(elements.prefix(shorter)) == Array(other.elements.prefix(shorter))
    }
}

/// A value a condition compares: an attribute of the item, a given value, or the size of an attribute.
public indirect enum Operand: Sendable, Equatable {
    case path(DocumentPath)
    case value(AttributeValue)
    case size(DocumentPath)
}

/// A comparison operator.
public enum Comparator: String, Sendable, Equatable {
    case equal = "="
    case notEqual = "<>"
    case less = "<"
    case lessOrEqual = "<="
    case greater = ">"
    case greaterOrEqual = ">="
}

/// A parsed condition (ConditionExpression, FilterExpression, KeyConditionExpression).
public indirect enum Condition: Sendable, Equatable {
    case comparison(Operand, Comparator, Operand)
    case between(Operand, lower: Operand, upper: Operand)
    case within(Operand, [Operand])
    case attributeExists(DocumentPath)
    case attributeNotExists(DocumentPath)
    case attributeType(DocumentPath, Operand)
    case beginsWith(DocumentPath, Operand)
    case contains(DocumentPath, Operand)
    case and(Condition, Condition)
    case or(Condition, Condition)
    case not(Condition)
}

/// The right-hand side of a `SET` action.
public indirect enum SetValue: Sendable, Equatable {
    case operand(SetOperand)
    case plus(SetOperand, SetOperand)
    case minus(SetOperand, SetOperand)
}

/// An operand of a `SET` action.
public indirect enum SetOperand: Sendable, Equatable {
    case path(DocumentPath)
    case value(AttributeValue)
    /// `if_not_exists(path, operand)`: the attribute when present, else the operand.
    case ifNotExists(DocumentPath, SetOperand)
    /// `list_append(a, b)`: the elements of `a` then those of `b`.
    case listAppend(SetOperand, SetOperand)
}

/// A parsed UpdateExpression: each section's actions in the order written.
public struct UpdateExpression: Sendable, Equatable {
    public var sets: [(path: DocumentPath, value: SetValue)] = []
    public var removes: [DocumentPath] = []
    public var adds: [(path: DocumentPath, value: AttributeValue)] = []
    public var deletes: [(path: DocumentPath, value: AttributeValue)] = []

    /// An update that changes nothing (UpdateItem without an UpdateExpression).
    public init() {}

    /// Every path the update writes, in section order.
    public var paths: [DocumentPath] {
        sets.map(\.path) + removes + adds.map(\.path) + deletes.map(\.path)
    }

    public static func == (lhs: UpdateExpression, rhs: UpdateExpression) -> Bool {
        lhs.sets.map(\.path) == rhs.sets.map(\.path) && lhs.sets.map(\.value) == rhs.sets.map(\.value)
            && lhs.removes == rhs.removes
            && lhs.adds.map(\.path) == rhs.adds.map(\.path) && lhs.adds.map(\.value) == rhs.adds.map(\.value)
            && lhs.deletes.map(\.path) == rhs.deletes.map(\.path) && lhs.deletes.map(\.value) == rhs.deletes.map(\.value)
    }
}

/// The placeholders of a request (`ExpressionAttributeNames`, `ExpressionAttributeValues`)
/// and which of them its expressions used: DynamoDB refuses a request that defines one
/// it never uses.
public struct ExpressionAttributes: Sendable {
    public let names: [String: String]
    public let values: [String: AttributeValue]
    private(set) var usedNames: Set<String> = []
    private(set) var usedValues: Set<String> = []

    /// Placeholders as a request gives them, checked with DynamoDB's messages.
    public init(names: [String: String]?, values: [String: AttributeValue]?) throws(DynamoError) {
        if let names {
            guard !names.isEmpty else { throw .validation("ExpressionAttributeNames must not be empty") }
            guard names.count <= DynamoLimits.expressionAttributesMax else {
                throw .validation("ExpressionAttributeNames has more than \(DynamoLimits.expressionAttributesMax) entries")
            }
            for key in names.keys.sorted() where !Self.isPlaceholder(key, sigil: "#") {
                throw .validation("ExpressionAttributeNames contains invalid key: Syntax error; key: \"\(key.prefix(255))\"")
            }
            for (key, value) in names.sorted(by: { $0.key < $1.key }) where value.isEmpty {
                throw .validation("ExpressionAttributeNames contains invalid value: Empty attribute name; for key: \"\(key)\"")
            }
        }
        if let values {
            guard !values.isEmpty else { throw .validation("ExpressionAttributeValues must not be empty") }
            guard values.count <= DynamoLimits.expressionAttributesMax else {
                throw .validation("ExpressionAttributeValues has more than \(DynamoLimits.expressionAttributesMax) entries")
            }
            for key in values.keys.sorted() where !Self.isPlaceholder(key, sigil: ":") {
                throw .validation("ExpressionAttributeValues contains invalid key: Syntax error; key: \"\(key.prefix(255))\"")
            }
        }
        self.names = names ?? [:]
        self.values = values ?? [:]
    }

    /// No placeholders.
    public static let none = try! ExpressionAttributes(names: nil, values: nil)

    private static func isPlaceholder(_ key: String, sigil: Character) -> Bool {
        key.first == sigil && key.utf8.count > 1 && key.utf8.dropFirst().allSatisfy(ExpressionLexer.isWordByte)
    }

    mutating func name(_ reference: String, in kind: ExpressionKind) throws(DynamoError) -> String {
        guard let name = names[reference] else {
            throw .validation("Invalid \(kind.rawValue): An expression attribute name used in the document path is not defined; attribute name: \(reference)")
        }
        usedNames.insert(reference)
        return name
    }

    mutating func value(_ reference: String, in kind: ExpressionKind) throws(DynamoError) -> AttributeValue {
        guard let value = values[reference] else {
            throw .validation("Invalid \(kind.rawValue): An expression attribute value used in expression is not defined; attribute value: \(reference)")
        }
        usedValues.insert(reference)
        return value
    }

    /// Refuses placeholders no expression used, as DynamoDB does.
    public func checkAllUsed() throws(DynamoError) {
        let unusedNames = Set(names.keys).subtracting(usedNames)
        if !unusedNames.isEmpty {
            throw .validation("Value provided in ExpressionAttributeNames unused in expressions: keys: {\(unusedNames.sorted().joined(separator: ", "))}")
        }
        let unusedValues = Set(values.keys).subtracting(usedValues)
        if !unusedValues.isEmpty {
            throw .validation("Value provided in ExpressionAttributeValues unused in expressions: keys: {\(unusedValues.sorted().joined(separator: ", "))}")
        }
    }
}
