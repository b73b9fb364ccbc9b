/// What a single-item write does once the item it replaces is known: the condition is
/// evaluated in the region that takes the write (as DynamoDB global tables do), then the
/// new item is computed. Pure, so the endpoint only reads, calls these, and writes with
/// `If-Match` on the version it read.
extension WriteOptions {
    /// Refuses the write when its condition does not hold for `current` (`nil`: no item).
    public func checkCondition(current: Item?) throws(DynamoError) {
        guard let condition, !Evaluation.evaluate(condition, on: current) else { return }
        var failure = DynamoError.conditionalCheckFailed
        if returnItemOnConditionFailure { failure.item = current }
        throw failure
    }
}

extension PutItemRequest {
    /// Checks the condition against the item being replaced and returns what the request
    /// returns (`ALL_OLD`: the replaced item).
    public func plan(current: Item?) throws(DynamoError) -> Item? {
        try options.checkCondition(current: current)
        return options.returnValues == .allOld ? current : nil
    }
}

extension DeleteItemRequest {
    /// Checks the condition against the item being deleted and returns what the request returns.
    public func plan(current: Item?) throws(DynamoError) -> Item? {
        try options.checkCondition(current: current)
        return options.returnValues == .allOld ? current : nil
    }
}

extension UpdateItemRequest {
    /// The item after the update and what the request returns.
    ///
    /// - Parameters:
    ///   - current: the item as stored, or `nil` (an update creates the item from its key).
    ///   - keyNames: the table's key attributes, which an update may not write.
    public func plan(current: Item?, keyNames: [String]) throws(DynamoError) -> (item: Item, returned: Item?) {
        try Evaluation.checkKeysUntouched(update, keyNames: keyNames)
        try options.checkCondition(current: current)
        let updated = try Evaluation.apply(update, to: current ?? key)
        try Items.checkSize(updated, updating: true)
        return (updated, returned(old: current, new: updated))
    }
}

extension TransactWriteItemsRequest {
    /// What one action of a transaction does to its item.
    public enum PlannedAction: Sendable, Equatable {
        case put(Item)
        case delete
        /// The item stays as it is (a ConditionCheck).
        case check
    }

    /// What every action does, given each action's item as it is (`nil`: none), in
    /// action order. When any condition fails, nothing applies: the transaction is
    /// cancelled with one reason per action, as DynamoDB reports it.
    public func plan(current: [Item?], keyNames: [String]) throws(DynamoError) -> [PlannedAction] {
        precondition(current.count == actions.count, "one current item per action")
        var reasons: [DynamoError.CancellationReason] = []
        var planned: [PlannedAction] = []
        for (index, action) in actions.enumerated() {
            let item = current[index]
            if let condition = action.condition, !Evaluation.evaluate(condition, on: item) {
                reasons.append(.init(code: "ConditionalCheckFailed", message: "The conditional request failed",
                                     item: returnItemOnConditionFailure[index] ? item : nil))
                continue
            }
            reasons.append(.init(code: "None"))
            switch action {
            case .conditionCheck: planned.append(.check)
            case .put(_, let newItem, _): planned.append(.put(newItem))
            case .delete: planned.append(.delete)
            case .update(_, let key, let update, _):
                try Evaluation.checkKeysUntouched(update, keyNames: keyNames)
                let updated = try Evaluation.apply(update, to: item ?? key)
                try Items.checkSize(updated, updating: true)
                planned.append(.put(updated))
            }
        }
        guard reasons.allSatisfy({ $0.code == "None" }) else {
            var error = DynamoError("TransactionCanceledException",
                "Transaction cancelled, please refer cancellation reasons for specific reasons [\(reasons.map(\.code).joined(separator: ", "))]")
            error.cancellationReasons = reasons
            throw error
        }
        return planned
    }
}
