import MeridianCore

/// A DynamoDB error: its type (`ValidationException`, ...), its message and HTTP status,
/// and what some types carry besides (the item of a failed condition, the reasons of a
/// cancelled transaction).
///
/// Types and messages follow DynamoDB's, so that SDKs raise the exception classes
/// applications already catch; where Meridian refuses something DynamoDB would accept,
/// the message says it is Meridian's limit.
public struct DynamoError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The exception's name, such as `ResourceNotFoundException`.
    public var type: String
    public var message: String
    /// The HTTP status: 400 for client errors, 500 and 503 for the server's.
    public var status: Int
    /// The item a failed condition saw, when the request asked for it
    /// (`ReturnValuesOnConditionCheckFailure: ALL_OLD`).
    public var item: Item?
    /// Per action of a cancelled transaction: why it was cancelled (`None` when it was not
    /// the cause).
    public var cancellationReasons: [CancellationReason]?

    /// Why one action of a cancelled transaction did not apply.
    public struct CancellationReason: Sendable, Equatable {
        public var code: String
        public var message: String?
        public var item: Item?

        /// A reason with its code (`None`, `ConditionalCheckFailed`), message and item.
        public init(code: String, message: String? = nil, item: Item? = nil) {
            self.code = code
            self.message = message
            self.item = item
        }
    }

    /// An error of a DynamoDB type with its message and HTTP status.
    public init(_ type: String, _ message: String, status: Int = 400) {
        self.type = type
        self.message = message
        self.status = status
    }

    public var description: String { "\(type): \(message)" }

    /// The `__type` an error body carries: the exception's name behind the namespace
    /// DynamoDB uses for it (SDKs read the part after `#`).
    public var qualifiedType: String {
        switch type {
        case "ValidationException": "com.amazon.coral.validate#ValidationException"
        case "UnrecognizedClientException", "AccessDeniedException", "MissingAuthenticationTokenException",
             "InvalidSignatureException", "IncompleteSignatureException", "UnknownOperationException",
             "SerializationException": "com.amazon.coral.service#\(type)"
        default: "com.amazonaws.dynamodb.v20120810#\(type)"
        }
    }

    /// A request that breaks a rule of the API.
    public static func validation(_ message: String) -> DynamoError {
        DynamoError("ValidationException", message)
    }

    /// A request body that is not the JSON of the operation.
    public static func serialization(_ message: String) -> DynamoError {
        DynamoError("SerializationException", message)
    }

    /// A table that does not exist (or is not visible through this API).
    public static func tableNotFound(_ name: String) -> DynamoError {
        DynamoError("ResourceNotFoundException", "Requested resource not found: Table: \(name) not found")
    }

    /// The request's condition did not hold.
    public static let conditionalCheckFailed = DynamoError("ConditionalCheckFailedException", "The conditional request failed")

    /// Something Meridian left out of its DynamoDB API (docs/dynamodb.md lists them).
    public static func unsupported(_ what: String) -> DynamoError {
        validation("Meridian does not support \(what) (docs/dynamodb.md lists what its DynamoDB API leaves out)")
    }

    /// One or more parameter values were invalid: DynamoDB's prefix for item and key errors.
    public static func invalidParameter(_ detail: String) -> DynamoError {
        validation("One or more parameter values were invalid: \(detail)")
    }
}
