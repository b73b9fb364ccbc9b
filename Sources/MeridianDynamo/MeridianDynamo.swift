// MeridianDynamo owns the DynamoDB side of Meridian's data model: typed attribute values
// and their DynamoDB JSON, numbers as DynamoDB keeps them, the order-preserving encoding
// of hash and range keys into Meridian keys, the JSON form in which items are stored, the
// expression language (a lexer and a recursive-descent parser, condition evaluation,
// update application, projection) and the validation of each operation's request into
// DynamoDB's error types and messages. docs/dynamodb.md explains every mapping.
//
// It must never do I/O, read a clock, draw from a global random source or use the
// concurrency runtime: the endpoint in MeridianHTTP verifies signatures, reads bodies
// and carries the requests to the region; everything it decides comes from here.

import MeridianCore

/// DynamoDB's limits as Meridian enforces them. Each name ends with its unit.
public enum DynamoLimits {
    /// The largest item, in bytes as DynamoDB counts them (attribute names and values).
    public static let itemBytesMax = 400 * 1024
    /// The largest partition key value DynamoDB accepts, in bytes.
    public static let hashKeyBytesMax = 2048
    /// The largest sort key value DynamoDB accepts, in bytes.
    public static let rangeKeyBytesMax = 1024
    /// The longest expression string, in bytes.
    public static let expressionBytesMax = 4096
    /// The most entries of `ExpressionAttributeNames` or `ExpressionAttributeValues`.
    public static let expressionAttributesMax = 1000
    /// The deepest nesting of lists and maps in an attribute value.
    public static let nestingLevelsMax = 32
    /// The most operands of an `IN` list.
    public static let inOperandsMax = 100
    /// The most significant digits of a number.
    public static let numberDigitsMax = 38
    /// The most keys one BatchGetItem may name.
    public static let batchGetKeysMax = 100
    /// The most requests one BatchWriteItem may carry.
    public static let batchWriteItemsMax = 25
    /// The most actions one TransactWriteItems or TransactGetItems may carry.
    public static let transactItemsMax = 100
    /// The most table names one ListTables page returns.
    public static let listTablesPageMax = 100
    /// The most bytes of items one Query or Scan page reads.
    public static let pageBytesMax = 1 << 20
    /// The largest request body, in bytes (a full BatchWriteItem of 400 KB items fits).
    public static let requestBytesMax = 16 << 20
    /// The most segments of a parallel Scan.
    public static let totalSegmentsMax = 1_000_000
}
