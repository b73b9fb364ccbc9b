import MeridianCore

/// The top-level members of an operation's JSON body, read with DynamoDB's errors: a
/// member of the wrong JSON type is a `SerializationException`, a missing required one a
/// `ValidationException` naming it as DynamoDB does (`'tableName'`).
public struct RequestBody: Sendable {
    public let members: [String: JSONValue]

    /// The members of a request body, which must be a JSON object.
    public init(_ json: JSONValue) throws(DynamoError) {
        guard case .object(let members) = json else { throw .serialization("The request body must be a JSON object") }
        self.members = members
    }

    /// DynamoDB's name of a member in validation messages: the first letter lower-cased.
    static func validationName(_ member: String) -> String {
        member.prefix(1).lowercased() + member.dropFirst()
    }

    static func missing(_ member: String) -> DynamoError {
        .validation("1 validation error detected: Value null at '\(validationName(member))' failed to satisfy constraint: Member must not be null")
    }

    /// A string member, or `nil` when absent.
    public func string(_ member: String) throws(DynamoError) -> String? {
        guard let value = members[member] else { return nil }
        guard case .string(let string) = value else { throw .serialization("\(member) must be a string") }
        return string
    }

    /// A string member that must be present.
    public func requiredString(_ member: String) throws(DynamoError) -> String {
        guard let string = try string(member) else { throw Self.missing(member) }
        return string
    }

    /// A boolean member, or `nil` when absent.
    public func bool(_ member: String) throws(DynamoError) -> Bool? {
        guard let value = members[member] else { return nil }
        guard case .bool(let bool) = value else { throw .serialization("\(member) must be true or false") }
        return bool
    }

    /// An integer member, or `nil` when absent.
    public func integer(_ member: String) throws(DynamoError) -> Int64? {
        guard let value = members[member] else { return nil }
        guard case .integer(let integer) = value else { throw .serialization("\(member) must be an integer") }
        return integer
    }

    /// An object member, or `nil` when absent.
    public func object(_ member: String) throws(DynamoError) -> [String: JSONValue]? {
        guard let value = members[member] else { return nil }
        guard case .object(let object) = value else { throw .serialization("\(member) must be a JSON object") }
        return object
    }

    /// An array member, or `nil` when absent.
    public func array(_ member: String) throws(DynamoError) -> [JSONValue]? {
        guard let value = members[member] else { return nil }
        guard case .array(let array) = value else { throw .serialization("\(member) must be a JSON array") }
        return array
    }

    /// A member holding an item or a key in DynamoDB JSON.
    public func item(_ member: String) throws(DynamoError) -> Item? {
        guard let value = members[member] else { return nil }
        return try Items.item(dynamoJSON: value, what: member)
    }

    /// An item or key member that must be present.
    public func requiredItem(_ member: String) throws(DynamoError) -> Item {
        guard let item = try item(member) else { throw Self.missing(member) }
        return item
    }

    /// An enumeration member: one of `allowed`, or DynamoDB's enum validation error.
    public func choice(_ member: String, _ allowed: [String]) throws(DynamoError) -> String? {
        guard let value = try string(member) else { return nil }
        guard allowed.contains(value) else {
            throw .validation("1 validation error detected: Value '\(value.prefix(100))' at '\(Self.validationName(member))' failed to satisfy constraint: Member must satisfy enum value set: [\(allowed.joined(separator: ", "))]")
        }
        return value
    }

    /// Refuses the parameters of DynamoDB's legacy (pre-expression) API, which Meridian leaves out.
    public func refuseLegacy(_ names: [String]) throws(DynamoError) {
        for name in names where members[name] != nil {
            throw .unsupported("the legacy parameter \(name); use the expression parameters (ConditionExpression, UpdateExpression, KeyConditionExpression, FilterExpression, ProjectionExpression)")
        }
    }

    /// The placeholders of the request, or of a nested member's object.
    public func expressionAttributes() throws(DynamoError) -> ExpressionAttributes {
        try Self.expressionAttributes(members)
    }

    static func expressionAttributes(_ members: [String: JSONValue]) throws(DynamoError) -> ExpressionAttributes {
        var names: [String: String]? = nil
        if let value = members["ExpressionAttributeNames"] {
            guard case .object(let object) = value else { throw .serialization("ExpressionAttributeNames must be a JSON object") }
            var mapped: [String: String] = [:]
            for (key, name) in object {
                guard case .string(let string) = name else { throw .serialization("ExpressionAttributeNames values must be strings") }
                mapped[key] = string
            }
            names = mapped
        }
        var values: [String: AttributeValue]? = nil
        if let value = members["ExpressionAttributeValues"] {
            values = try Items.item(dynamoJSON: value, what: "ExpressionAttributeValues")
        }
        return try ExpressionAttributes(names: names, values: values)
    }

    /// The table name, validated.
    public func tableName(_ member: String = "TableName") throws(DynamoError) -> String {
        let name = try requiredString(member)
        try TableNames.validate(name, member: Self.validationName(member))
        return name
    }
}
