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
