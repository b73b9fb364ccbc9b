import MeridianCore

/// What a write returns of the item (`ReturnValues`).
public enum ReturnValues: String, Sendable {
    case none = "NONE"
    case allOld = "ALL_OLD"
    case updatedOld = "UPDATED_OLD"
    case allNew = "ALL_NEW"
    case updatedNew = "UPDATED_NEW"

    static func read(_ body: RequestBody, allowed: [ReturnValues]) throws(DynamoError) -> ReturnValues {
        let all: [ReturnValues] = [.none, .allOld, .updatedOld, .allNew, .updatedNew]
        guard let raw = try body.choice("ReturnValues", all.map(\.rawValue)) else { return .none }
        let value = ReturnValues(rawValue: raw)!
        guard allowed.contains(value) else { throw .validation("Return values set to invalid value") }
        return value
    }

    /// Whether the item as it was before the write is needed.
    public var needsOldItem: Bool { self != .none }
}

/// The parts every single-item write shares: its condition, what it returns, and the
/// placeholders its expressions used.
public struct WriteOptions: Sendable {
    public var condition: Condition?
    public var returnValues: ReturnValues
    /// `ReturnValuesOnConditionCheckFailure: ALL_OLD`: a failed condition returns the item.
    public var returnItemOnConditionFailure: Bool
    /// `ReturnConsumedCapacity` other than `NONE`.
    public var returnConsumedCapacity: Bool

    init(_ body: RequestBody, allowedReturnValues: [ReturnValues], attributes: inout ExpressionAttributes) throws(DynamoError) {
        try body.refuseLegacy(["Expected", "ConditionalOperator", "AttributeUpdates"])
        condition = try body.string("ConditionExpression").map { text throws(DynamoError) in
            try Expressions.condition(text, kind: .condition, attributes: &attributes)
        }
        returnValues = try ReturnValues.read(body, allowed: allowedReturnValues)
        returnItemOnConditionFailure = try body.choice("ReturnValuesOnConditionCheckFailure", ["ALL_OLD", "NONE"]) == "ALL_OLD"
        returnConsumedCapacity = try Self.consumedCapacity(body)
        _ = try body.choice("ReturnItemCollectionMetrics", ["SIZE", "NONE"])
    }

    static func consumedCapacity(_ body: RequestBody) throws(DynamoError) -> Bool {
        (try body.choice("ReturnConsumedCapacity", ["INDEXES", "TOTAL", "NONE"]) ?? "NONE") != "NONE"
    }

    /// Whether the write must read the item first (for its condition or what it returns).
    public var readsItem: Bool { condition != nil || returnValues.needsOldItem }
}

/// A validated PutItem request.
public struct PutItemRequest: Sendable {
    public var tableName: String
    public var item: Item
    public var options: WriteOptions

    /// Reads and validates the operation's request body, with DynamoDB's messages.
    public init(_ body: RequestBody) throws(DynamoError) {
        tableName = try body.tableName()
        item = try body.requiredItem("Item")
        try Items.checkSize(item)
        var attributes = try body.expressionAttributes()
        options = try WriteOptions(body, allowedReturnValues: [.none, .allOld], attributes: &attributes)
        try attributes.checkAllUsed()
    }
}

/// A validated GetItem request.
public struct GetItemRequest: Sendable {
    public var tableName: String
    public var key: Item
    public var consistentRead: Bool
    public var projection: [DocumentPath]?
    public var returnConsumedCapacity: Bool

    /// Reads and validates the operation's request body, with DynamoDB's messages.
    public init(_ body: RequestBody) throws(DynamoError) {
        tableName = try body.tableName()
        key = try body.requiredItem("Key")
        try body.refuseLegacy(["AttributesToGet"])
        consistentRead = try body.bool("ConsistentRead") ?? false
        var attributes = try body.expressionAttributes()
        guard attributes.values.isEmpty else {
            throw .validation("ExpressionAttributeValues can only be specified when using expressions: ConditionExpression, FilterExpression, KeyConditionExpression or UpdateExpression")
        }
        projection = try body.string("ProjectionExpression").map { text throws(DynamoError) in try Expressions.projection(text, attributes: &attributes) }
        returnConsumedCapacity = try WriteOptions.consumedCapacity(body)
        try attributes.checkAllUsed()
    }
}

/// A validated DeleteItem request.
public struct DeleteItemRequest: Sendable {
    public var tableName: String
    public var key: Item
    public var options: WriteOptions

    /// Reads and validates the operation's request body, with DynamoDB's messages.
    public init(_ body: RequestBody) throws(DynamoError) {
        tableName = try body.tableName()
        key = try body.requiredItem("Key")
        var attributes = try body.expressionAttributes()
        options = try WriteOptions(body, allowedReturnValues: [.none, .allOld], attributes: &attributes)
        try attributes.checkAllUsed()
    }
}

/// A validated UpdateItem request.
public struct UpdateItemRequest: Sendable {
    public var tableName: String
    public var key: Item
    /// The update; an empty one (no UpdateExpression) creates the item with its key only.
    public var update: UpdateExpression
    public var options: WriteOptions

    /// Reads and validates the operation's request body, with DynamoDB's messages.
    public init(_ body: RequestBody) throws(DynamoError) {
        tableName = try body.tableName()
        key = try body.requiredItem("Key")
        var attributes = try body.expressionAttributes()
        update = try body.string("UpdateExpression").map { text throws(DynamoError) in try Expressions.update(text, attributes: &attributes) } ?? UpdateExpression()
        options = try WriteOptions(body, allowedReturnValues: [.none, .allOld, .updatedOld, .allNew, .updatedNew], attributes: &attributes)
        try attributes.checkAllUsed()
    }

    /// What the request returns of the item before (`old`) and after (`new`) the update.
    public func returned(old: Item?, new: Item) -> Item? {
        switch options.returnValues {
        case .none: return nil
        case .allOld: return old
        case .allNew: return new
        case .updatedOld: return old.map { Evaluation.project($0, update.paths) }
        case .updatedNew: return Evaluation.project(new, update.paths)
        }
    }
}

/// What a Query or Scan returns of each item (`Select`).
public enum Select: String, Sendable {
    case allAttributes = "ALL_ATTRIBUTES"
    case count = "COUNT"
    case specificAttributes = "SPECIFIC_ATTRIBUTES"
}

/// What Query and Scan share: the filter, the projection, paging and consistency.
public struct ReadOptions: Sendable {
    public var filter: Condition?
    public var projection: [DocumentPath]?
    public var select: Select
    /// The most items to evaluate (before the filter), as DynamoDB counts `Limit`.
    public var limit: Int?
    public var exclusiveStartKey: Item?
    public var consistentRead: Bool
    public var returnConsumedCapacity: Bool

    init(_ body: RequestBody, attributes: inout ExpressionAttributes) throws(DynamoError) {
        if body.members["IndexName"] != nil { throw .unsupported("secondary indexes (IndexName)") }
        try body.refuseLegacy(["AttributesToGet", "ScanFilter", "QueryFilter", "KeyConditions", "ConditionalOperator"])
        filter = try body.string("FilterExpression").map { text throws(DynamoError) in try Expressions.condition(text, kind: .filter, attributes: &attributes) }
        projection = try body.string("ProjectionExpression").map { text throws(DynamoError) in try Expressions.projection(text, attributes: &attributes) }
        let rawSelect = try body.choice("Select", ["ALL_ATTRIBUTES", "ALL_PROJECTED_ATTRIBUTES", "SPECIFIC_ATTRIBUTES", "COUNT"])
        if rawSelect == "ALL_PROJECTED_ATTRIBUTES" {
            throw .validation("ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName")
        }
        select = rawSelect.flatMap(Select.init(rawValue:)) ?? (projection == nil ? .allAttributes : .specificAttributes)
        if projection != nil, select != .specificAttributes {
            throw .validation("Cannot specify the ProjectionExpression when choosing to get \(select.rawValue)")
        }
        if projection == nil, select == .specificAttributes {
            throw .validation("Must specify the ProjectionExpression when choosing to get SPECIFIC_ATTRIBUTES")
        }
        if let limit = try body.integer("Limit") {
            guard limit >= 1 else {
                throw .validation("1 validation error detected: Value '\(limit)' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1")
            }
            self.limit = Int(clamping: limit)
        }
        exclusiveStartKey = try body.item("ExclusiveStartKey")
        consistentRead = try body.bool("ConsistentRead") ?? false
        returnConsumedCapacity = try WriteOptions.consumedCapacity(body)
    }

    /// DynamoDB refuses filters on key attributes of a Query (they belong in the key condition).
    func checkFilterAvoids(keyNames: [String]) throws(DynamoError) {
        guard let filter else { return }
        for path in Self.paths(in: filter) where keyNames.contains(path.attribute) {
            throw .validation("Filter Expression can only contain non-primary key attributes: Primary key attribute: \(path.attribute)")
        }
    }

    static func paths(in condition: Condition) -> [DocumentPath] {
        func operandPaths(_ operand: Operand) -> [DocumentPath] {
            switch operand {
            case .path(let path), .size(let path): [path]
            case .value: []
            }
        }
        switch condition {
        case .comparison(let a, _, let b): return operandPaths(a) + operandPaths(b)
        case .between(let a, let b, let c): return operandPaths(a) + operandPaths(b) + operandPaths(c)
        case .within(let a, let list): return operandPaths(a) + list.flatMap(operandPaths)
        case .attributeExists(let path), .attributeNotExists(let path): return [path]
        case .attributeType(let path, let operand), .beginsWith(let path, let operand), .contains(let path, let operand): return [path] + operandPaths(operand)
        case .and(let a, let b), .or(let a, let b): return paths(in: a) + paths(in: b)
        case .not(let inner): return paths(in: inner)
        }
    }

    /// What the page returns of an item that passed the filter.
    public func returned(_ item: Item) -> Item {
        projection.map { Evaluation.project(item, $0) } ?? item
    }
}

/// A validated Query request (the key condition is read against the schema once the table is known).
public struct QueryRequest: Sendable {
    public var tableName: String
    public var keyConditionExpression: Condition
    public var forward: Bool
    public var options: ReadOptions

    /// Reads and validates the operation's request body, with DynamoDB's messages.
    public init(_ body: RequestBody) throws(DynamoError) {
        tableName = try body.tableName()
        var attributes = try body.expressionAttributes()
        options = try ReadOptions(body, attributes: &attributes)
        guard let text = try body.string("KeyConditionExpression") else {
            throw .validation("Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.")
        }
        keyConditionExpression = try Expressions.condition(text, kind: .keyCondition, attributes: &attributes)
        forward = try body.bool("ScanIndexForward") ?? true
        try attributes.checkAllUsed()
    }

    /// The key condition against the table's schema, and the filter checked to avoid key attributes.
    public func keyCondition(schema: DynamoSchema) throws(DynamoError) -> KeyCondition {
        try options.checkFilterAvoids(keyNames: [schema.hashKey.name] + (schema.rangeKey.map { [$0.name] } ?? []))
        return try KeyCondition(keyConditionExpression, schema: schema)
    }
}

/// A validated Scan request.
public struct ScanRequest: Sendable {
    public var tableName: String
    public var options: ReadOptions
    /// This scan's segment and the number of segments of a parallel scan.
    public var segment: (index: Int, total: Int)?

    /// Reads and validates the operation's request body, with DynamoDB's messages.
    public init(_ body: RequestBody) throws(DynamoError) {
        tableName = try body.tableName()
        var attributes = try body.expressionAttributes()
        options = try ReadOptions(body, attributes: &attributes)
        try attributes.checkAllUsed()
        switch (try body.integer("Segment"), try body.integer("TotalSegments")) {
        case (nil, nil):
            segment = nil
        case (let index?, let total?):
            guard (1...Int64(DynamoLimits.totalSegmentsMax)).contains(total) else {
                throw .validation("1 validation error detected: Value '\(total)' at 'totalSegments' failed to satisfy constraint: Member must have value \(total < 1 ? "greater than or equal to 1" : "less than or equal to \(DynamoLimits.totalSegmentsMax)")")
            }
            guard index >= 0 else {
                throw .validation("1 validation error detected: Value '\(index)' at 'segment' failed to satisfy constraint: Member must have value greater than or equal to 0")
            }
            guard index < total else {
                throw .validation("The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: \(index) is not less than TotalSegments: \(total)")
            }
            segment = (Int(index), Int(total))
        case (nil, _?):
            throw .validation("The Segment parameter is required but was not present in the request when parameter TotalSegments is present")
        case (_?, nil):
            throw .validation("The TotalSegments parameter is required but was not present in the request when Segment parameter is present")
        }
    }
}
