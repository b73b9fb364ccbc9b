import MeridianDynamo

/// TransactWriteItems and TransactGetItems.
extension DynamoService {
    func transactWriteItems(_ request: TransactWriteItemsRequest) async throws -> Result {
        throw DynamoError.unsupported("TransactWriteItems yet")
    }

    func transactGetItems(_ request: TransactGetItemsRequest) async throws -> Result {
        throw DynamoError.unsupported("TransactGetItems yet")
    }
}
