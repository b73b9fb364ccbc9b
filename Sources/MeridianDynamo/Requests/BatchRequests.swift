import MeridianCore

/// A validated BatchGetItem request: per table, the keys to read and how.
public struct BatchGetItemRequest: Sendable {
    /// One table's part of the batch.
    public struct TableKeys: Sendable {
        public var tableName: String
        public var keys: [Item]
        public var projection: [DocumentPath]?
        public var consistentRead: Bool
    }

    /// The tables in name order.
    public var tables: [TableKeys]
    public var returnConsumedCapacity: Bool

    /// Reads and validates the operation's request body, with DynamoDB's messages.
    public init(_ body: RequestBody) throws(DynamoError) {
        guard let requestItems = try body.object("RequestItems") else { throw RequestBody.missing("RequestItems") }
        guard !requestItems.isEmpty else {
            throw .validation("1 validation error detected: Value '{}' at 'requestItems' failed to satisfy constraint: Member must have length greater than or equal to 1")
        }
        var tables: [TableKeys] = []
        var total = 0
        for (tableName, value) in requestItems.sorted(by: { $0.key < $1.key }) {
            try TableNames.validate(tableName, member: "requestItems.\(tableName).member.tableName")
            let part = try RequestBody(value)
            try part.refuseLegacy(["AttributesToGet"])
            guard let keys = try part.array("Keys"), !keys.isEmpty else {
                throw .validation("1 validation error detected: Value null at 'requestItems.\(tableName).member.keys' failed to satisfy constraint: Member must have length greater than or equal to 1")
            }
            total += keys.count
            guard total <= DynamoLimits.batchGetKeysMax else { throw .validation("Too many items requested for the BatchGetItem call") }
            var items: [Item] = []
            for key in keys { items.append(try Items.item(dynamoJSON: key, what: "Keys")) }
            var attributes = try part.expressionAttributes()
            let projection = try part.string("ProjectionExpression").map { text throws(DynamoError) in try Expressions.projection(text, attributes: &attributes) }
            try attributes.checkAllUsed()
            tables.append(TableKeys(tableName: tableName, keys: items, projection: projection, consistentRead: try part.bool("ConsistentRead") ?? false))
        }
        self.tables = tables
        returnConsumedCapacity = try WriteOptions.consumedCapacity(body)
    }
}

/// A validated BatchWriteItem request: per table, puts and deletes without conditions.
public struct BatchWriteItemRequest: Sendable {
    /// One write of the batch.
    public enum Action: Sendable, Equatable {
        case put(Item)
        case delete(key: Item)

        /// The request's DynamoDB JSON (an `UnprocessedItems` entry).
        public var dynamoJSON: JSONValue {
            switch self {
            case .put(let item): .object(["PutRequest": .object(["Item": Items.dynamoJSON(item)])])
            case .delete(let key): .object(["DeleteRequest": .object(["Key": Items.dynamoJSON(key)])])
            }
        }
    }

    /// The tables in name order, each with its writes in request order.
    public var tables: [(tableName: String, actions: [Action])]
    public var returnConsumedCapacity: Bool

    /// Reads and validates the operation's request body, with DynamoDB's messages.
    public init(_ body: RequestBody) throws(DynamoError) {
        guard let requestItems = try body.object("RequestItems") else { throw RequestBody.missing("RequestItems") }
        guard !requestItems.isEmpty else {
            throw .validation("1 validation error detected: Value '{}' at 'requestItems' failed to satisfy constraint: Member must have length greater than or equal to 1")
        }
        var tables: [(String, [Action])] = []
        var total = 0
        for (tableName, value) in requestItems.sorted(by: { $0.key < $1.key }) {
            try TableNames.validate(tableName, member: "requestItems.\(tableName).member.tableName")
            guard case .array(let requests) = value, !requests.isEmpty else {
                throw .validation("1 validation error detected: Value at 'requestItems.\(tableName).member' failed to satisfy constraint: Member must have length greater than or equal to 1")
            }
            total += requests.count
            guard total <= DynamoLimits.batchWriteItemsMax else { throw .validation("Too many items requested for the BatchWriteItem call") }
            var actions: [Action] = []
            for request in requests {
                guard case .object(let members) = request, members.count == 1, let (kind, detail) = members.first else {
                    throw .validation("Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes")
                }
                let part = try RequestBody(detail)
                switch kind {
                case "PutRequest":
                    let item = try part.requiredItem("Item")
                    try Items.checkSize(item)
                    actions.append(.put(item))
                case "DeleteRequest":
                    actions.append(.delete(key: try part.requiredItem("Key")))
                default:
                    throw .serialization("A write request must be a PutRequest or a DeleteRequest")
                }
            }
            tables.append((tableName, actions))
        }
        self.tables = tables
        returnConsumedCapacity = try WriteOptions.consumedCapacity(body)
    }
}

/// A validated TransactWriteItems request: up to 100 actions applied all or none.
public struct TransactWriteItemsRequest: Sendable {
    /// One action of the transaction, with its own condition.
    public enum Action: Sendable {
        case conditionCheck(tableName: String, key: Item, condition: Condition)
        case put(tableName: String, item: Item, condition: Condition?)
        case delete(tableName: String, key: Item, condition: Condition?)
        case update(tableName: String, key: Item, update: UpdateExpression, condition: Condition?)

        public var tableName: String {
            switch self {
            case .conditionCheck(let name, _, _), .put(let name, _, _), .delete(let name, _, _), .update(let name, _, _, _): name
            }
        }

        public var condition: Condition? {
            switch self {
            case .conditionCheck(_, _, let condition): condition
            case .put(_, _, let condition), .delete(_, _, let condition), .update(_, _, _, let condition): condition
            }
        }
    }

    public var actions: [Action]
    /// Per action: whether a failed condition reports the item (`ReturnValuesOnConditionCheckFailure`).
    public var returnItemOnConditionFailure: [Bool]
    public var clientRequestToken: String?

    /// Reads and validates the operation's request body, with DynamoDB's messages.
    public init(_ body: RequestBody) throws(DynamoError) {
        guard let items = try body.array("TransactItems") else { throw RequestBody.missing("TransactItems") }
        guard (1...DynamoLimits.transactItemsMax).contains(items.count) else {
            throw .validation("1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length \(items.isEmpty ? "greater than or equal to 1" : "less than or equal to \(DynamoLimits.transactItemsMax)")")
        }
        var actions: [Action] = []
        var returnItems: [Bool] = []
        for item in items {
            guard case .object(let members) = item, members.count == 1, let (kind, detail) = members.first else {
                throw .validation("TransactItems can only contain one of Check, Put, Update or Delete")
            }
            let part = try RequestBody(detail)
            let tableName = try part.tableName()
            var attributes = try part.expressionAttributes()
            let condition = try part.string("ConditionExpression").map { text throws(DynamoError) in
                try Expressions.condition(text, kind: .condition, attributes: &attributes)
            }
            switch kind {
            case "ConditionCheck":
                guard let condition else { throw RequestBody.missing("ConditionExpression") }
                actions.append(.conditionCheck(tableName: tableName, key: try part.requiredItem("Key"), condition: condition))
            case "Put":
                let newItem = try part.requiredItem("Item")
                try Items.checkSize(newItem)
                actions.append(.put(tableName: tableName, item: newItem, condition: condition))
            case "Delete":
                actions.append(.delete(tableName: tableName, key: try part.requiredItem("Key"), condition: condition))
            case "Update":
                guard let text = try part.string("UpdateExpression") else { throw RequestBody.missing("UpdateExpression") }
                let update = try Expressions.update(text, attributes: &attributes)
                actions.append(.update(tableName: tableName, key: try part.requiredItem("Key"), update: update, condition: condition))
            default:
                throw .validation("TransactItems can only contain one of Check, Put, Update or Delete")
            }
            try attributes.checkAllUsed()
            returnItems.append(try part.choice("ReturnValuesOnConditionCheckFailure", ["ALL_OLD", "NONE"]) == "ALL_OLD")
        }
        self.actions = actions
        returnItemOnConditionFailure = returnItems
        clientRequestToken = try body.string("ClientRequestToken")
    }
}

/// A validated TransactGetItems request: up to 100 reads served at one point in time.
public struct TransactGetItemsRequest: Sendable {
    /// One read of the transaction.
    public struct Read: Sendable {
        public var tableName: String
        public var key: Item
        public var projection: [DocumentPath]?
    }

    public var reads: [Read]

    /// Reads and validates the operation's request body, with DynamoDB's messages.
    public init(_ body: RequestBody) throws(DynamoError) {
        guard let items = try body.array("TransactItems") else { throw RequestBody.missing("TransactItems") }
        guard (1...DynamoLimits.transactItemsMax).contains(items.count) else {
            throw .validation("1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length \(items.isEmpty ? "greater than or equal to 1" : "less than or equal to \(DynamoLimits.transactItemsMax)")")
        }
        var reads: [Read] = []
        for item in items {
            guard case .object(let members) = item, members.count == 1, case .object? = members["Get"], let detail = members["Get"] else {
                throw .validation("TransactItems can only contain Get")
            }
            let part = try RequestBody(detail)
            var attributes = try part.expressionAttributes()
            let projection = try part.string("ProjectionExpression").map { text throws(DynamoError) in try Expressions.projection(text, attributes: &attributes) }
            try attributes.checkAllUsed()
            reads.append(Read(tableName: try part.tableName(), key: try part.requiredItem("Key"), projection: projection))
        }
        self.reads = reads
    }
}
