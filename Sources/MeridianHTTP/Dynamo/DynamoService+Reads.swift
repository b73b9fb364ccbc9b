import MeridianCore
import MeridianDynamo
import MeridianRegion
import MeridianStorage

/// Query and Scan: pages of the storage index, in key order (Query: forward or backward
/// within one hash value; Scan: the whole table, forward).
///
/// A page ends at `Limit` items evaluated (before the filter, as DynamoDB counts), at
/// `DynamoLimits.pageBytesMax` bytes of items read, at `scanRowsPerRequestMax` rows read,
/// or at the end of the range; `LastEvaluatedKey` is returned whenever it ended before
/// the end. Each storage page is at most `Limits.scanItemsMax` rows.
extension DynamoService {
    /// The most stored rows one Query or Scan request reads (a parallel Scan's segment skips
    /// the rows of other segments, which still cost reading).
    static let scanRowsPerRequestMax = 20_000

    /// One request's walk over a key range.
    struct Page {
        var items: [Item] = []
        var count = 0
        var scanned = 0
        var bytes = 0
        var lastEvaluated: Item?
    }

    func query(_ request: QueryRequest) async throws -> Result {
        let table = try await table(request.tableName)
        try requireLocal(table)
        let condition = try request.keyCondition(schema: table.schema)
        var range = try KeyRange(condition, codec: table.codec)
        if let start = request.options.exclusiveStartKey {
            let startKey = try startingKey(start, table: table)
            guard range.contains(startKey) else {
                throw DynamoError.validation("The provided starting key is outside query boundaries based on provided conditions")
            }
            range = range.resuming(after: startKey, reverse: !request.forward)
        }
        try await confirmLeadershipIfConsistent(request.options.consistentRead, table: table)
        let page = try await walk(table, range: range, reverse: !request.forward, options: request.options, segment: nil)
        return Result(pageBody(page, request.options, tableName: request.tableName), consistency: Self.consistencyServed(request.options.consistentRead, table: table))
    }

    func scan(_ request: ScanRequest) async throws -> Result {
        let table = try await table(request.tableName)
        try requireLocal(table)
        var range = KeyRange(prefix: [])
        if let start = request.options.exclusiveStartKey {
            range = range.resuming(after: try startingKey(start, table: table), reverse: false)
        }
        try await confirmLeadershipIfConsistent(request.options.consistentRead, table: table)
        let page = try await walk(table, range: range, reverse: false, options: request.options, segment: request.segment)
        return Result(pageBody(page, request.options, tableName: request.tableName), consistency: Self.consistencyServed(request.options.consistentRead, table: table))
    }

    func startingKey(_ attributes: Item, table: Table) throws -> Key {
        do {
            return try table.codec.key(of: attributes, exact: true)
        } catch {
            throw DynamoError.validation("The provided starting key is invalid: \(error.message)")
        }
    }

    /// A consistent Query or Scan of a consensus table runs at its leader after a
    /// linearizable read there, so the leader's copy holds every write acknowledged before
    /// the request began. Multi-primary tables read this region's copy (`region` consistency).
    func confirmLeadershipIfConsistent(_ consistentRead: Bool, table: Table) async throws {
        guard consistentRead, table.isConsensus else { return }
        let probe = try Key("\u{1}meridian-consistent-read")
        _ = try await regionAllowingNotFound(.getItem(table.name, probe, .strong), table: table)
    }

    /// Reads pages of the range until the request's page is full or the range ends.
    func walk(_ table: Table, range start: KeyRange, reverse: Bool, options: ReadOptions, segment: (index: Int, total: Int)?) async throws -> Page {
        var page = Page()
        var range = start
        var rowsRead = 0
        // The last row read whose key is in the table's layout: a page can resume after it.
        var lastDecodable: Key?
        while true {
            let remaining = options.limit.map { $0 - page.scanned } ?? Limits.scanItemsMax
            let storageLimit = min(remaining, Limits.scanItemsMax, Self.scanRowsPerRequestMax - rowsRead)
            let scanRange = ScanRange(prefix: range.prefix,
                                      startAfter: range.lower.flatMap { $0.inclusive ? nil : $0.key }, startAt: range.lower.flatMap { $0.inclusive ? $0.key : nil },
                                      endBefore: range.upper.flatMap { $0.inclusive ? nil : $0.key }, endAt: range.upper.flatMap { $0.inclusive ? $0.key : nil },
                                      limit: storageLimit, reverse: reverse)
            guard case .page(let rows, let next) = try await region(.scan(table.name, scanRange), table: table.schema.tableName, regions: table.definition.regions) else {
                preconditionFailure("a scan answers a page")
            }
            rowsRead += rows.count
            for (position, row) in rows.enumerated() {
                guard let item = try decode(row, in: table) else { continue }
                lastDecodable = row.key
                if let segment, table.codec.segment(of: row.key, totalSegments: segment.total) != segment.index { continue }
                page.scanned += 1
                page.bytes += Items.sizeBytes(item)
                if options.filter.map({ Evaluation.evaluate($0, on: item) }) ?? true {
                    page.count += 1
                    if options.select != .count { page.items.append(options.returned(item)) }
                }
                if page.bytes >= DynamoLimits.pageBytesMax || page.scanned == options.limit {
                    if position < rows.count - 1 || next != nil { page.lastEvaluated = table.codec.keyAttributes(of: row.key) }
                    return page
                }
            }
            guard next != nil, let last = rows.last?.key else { return page }
            if rowsRead >= Self.scanRowsPerRequestMax {
                guard let lastDecodable else {
                    throw DynamoError("InternalServerError", "table \(table.schema.tableName) holds keys written through the native API outside its DynamoDB key layout; a page cannot resume after them (docs/dynamodb.md)", status: 500)
                }
                page.lastEvaluated = table.codec.keyAttributes(of: lastDecodable)
                return page
            }
            range = range.resuming(after: last, reverse: reverse)
        }
    }

    func pageBody(_ page: Page, _ options: ReadOptions, tableName: String) -> JSONValue {
        var body: [String: JSONValue] = ["Count": .integer(Int64(page.count)), "ScannedCount": .integer(Int64(page.scanned))]
        if options.select != .count { body["Items"] = .array(page.items.map(Items.dynamoJSON)) }
        if let last = page.lastEvaluated { body["LastEvaluatedKey"] = Items.dynamoJSON(last) }
        if options.returnConsumedCapacity {
            body["ConsumedCapacity"] = Responses.consumedCapacity(tableName: tableName, readBytes: page.bytes, reads: 1, consistent: options.consistentRead)
        }
        return .object(body)
    }
}
