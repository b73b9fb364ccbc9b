import MeridianCore

/// A Query's KeyConditionExpression reduced to what the storage index serves: one hash
/// value and at most one condition on the range key.
public struct KeyCondition: Sendable, Equatable {
    /// A condition on the range key.
    public enum RangeCondition: Sendable, Equatable {
        case comparison(Comparator, AttributeValue)
        case between(AttributeValue, AttributeValue)
        case beginsWith(AttributeValue)
    }

    public var hash: AttributeValue
    public var range: RangeCondition?

    /// Reads a parsed KeyConditionExpression against a table's key schema, with DynamoDB's messages.
    public init(_ condition: Condition, schema: DynamoSchema) throws(DynamoError) {
        let unsupported = DynamoError.validation("Query key condition not supported")
        var parts: [Condition] = []
        func flatten(_ condition: Condition) {
            if case .and(let left, let right) = condition { flatten(left); flatten(right) } else { parts.append(condition) }
        }
        flatten(condition)
        var hash: AttributeValue?
        var range: RangeCondition?
        for part in parts {
            let (attribute, rangeCondition) = try Self.read(part, unsupported: unsupported)
            if attribute == schema.hashKey.name {
                guard case .comparison(.equal, let value) = rangeCondition, hash == nil else { throw unsupported }
                try Self.check(value, against: schema.hashKey)
                hash = value
            } else if let rangeKey = schema.rangeKey, attribute == rangeKey.name {
                guard range == nil else { throw unsupported }
                switch rangeCondition {
                case .comparison(_, let value), .beginsWith(let value):
                    try Self.check(value, against: rangeKey)
                case .between(let low, let high):
                    try Self.check(low, against: rangeKey)
                    try Self.check(high, against: rangeKey)
                }
                if case .beginsWith = rangeCondition, rangeKey.type == .number {
                    throw .validation("Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N")
                }
                range = rangeCondition
            } else {
                throw .validation("Query condition missed key schema element: \(hash == nil ? schema.hashKey.name : (schema.rangeKey?.name ?? schema.hashKey.name))")
            }
        }
        guard let hash else { throw .validation("Query condition missed key schema element: \(schema.hashKey.name)") }
        self.hash = hash
        self.range = range
    }

    /// One conjunct: the key attribute it constrains and how.
    private static func read(_ part: Condition, unsupported: DynamoError) throws(DynamoError) -> (String, RangeCondition) {
        switch part {
        case .comparison(.path(let path), let comparator, .value(let value)) where path.elements.count == 1 && comparator != .notEqual:
            return (path.attribute, .comparison(comparator, value))
        case .comparison(.value(let value), let comparator, .path(let path)) where path.elements.count == 1 && comparator != .notEqual:
            // `:v < sk` is `sk > :v`.
            let flipped: [Comparator: Comparator] = [.less: .greater, .lessOrEqual: .greaterOrEqual, .greater: .less, .greaterOrEqual: .lessOrEqual, .equal: .equal]
            return (path.attribute, .comparison(flipped[comparator]!, value))
        case .between(.path(let path), .value(let low), .value(let high)) where path.elements.count == 1:
            return (path.attribute, .between(low, high))
        case .beginsWith(let path, .value(let prefix)) where path.elements.count == 1:
            return (path.attribute, .beginsWith(prefix))
        default:
            throw unsupported
        }
    }

    private static func check(_ value: AttributeValue, against attribute: DynamoKeyAttribute) throws(DynamoError) {
        guard value.typeName == attribute.type.rawValue else {
            throw .invalidParameter("Condition parameter type does not match schema type")
        }
        switch value {
        case .string(let string) where string.isEmpty:
            throw .validation("One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: \(attribute.name)")
        case .binary(let bytes) where bytes.isEmpty:
            throw .validation("One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty binary value. Key: \(attribute.name)")
        default:
            return
        }
    }
}

/// A range of Meridian keys: a prefix and optional bounds (the storage scan's shape).
public struct KeyRange: Sendable, Equatable {
    /// Only keys starting with these bytes.
    public var prefix: [UInt8]
    /// The lower bound and whether it is included.
    public var lower: (key: Key, inclusive: Bool)?
    /// The upper bound and whether it is included.
    public var upper: (key: Key, inclusive: Bool)?

    /// A range of the keys with a prefix, between optional bounds.
    public init(prefix: [UInt8], lower: (key: Key, inclusive: Bool)? = nil, upper: (key: Key, inclusive: Bool)? = nil) {
        self.prefix = prefix
        self.lower = lower
        self.upper = upper
    }

    /// The keys a Query's key condition selects.
    public init(_ condition: KeyCondition, codec: KeyCodec) throws(DynamoError) {
        let prefix = codec.hashPrefix(condition.hash)
        func key(_ value: AttributeValue) throws(DynamoError) -> Key {
            let bytes = prefix + codec.rangeComponent(value)
            guard bytes.count <= Limits.keyBytesMax, let key = try? Key(utf8: bytes) else {
                throw .invalidParameter("the key condition's value takes \(bytes.count) bytes in Meridian's key encoding, more than Meridian's limit of \(Limits.keyBytesMax) bytes (docs/dynamodb.md)")
            }
            return key
        }
        self.init(prefix: prefix)
        guard codec.schema.rangeKey != nil else {
            // Without a sort key the hash value is the whole key: other keys may extend it.
            let whole = try codec.key(hash: condition.hash, range: nil)
            lower = (whole, true)
            upper = (whole, true)
            return
        }
        switch condition.range {
        case nil:
            break
        case .comparison(let comparator, let value)?:
            let bound = try key(value)
            switch comparator {
            case .equal: lower = (bound, true); upper = (bound, true)
            case .less: upper = (bound, false)
            case .lessOrEqual: upper = (bound, true)
            case .greater: lower = (bound, false)
            case .greaterOrEqual: lower = (bound, true)
            case .notEqual: preconditionFailure("a key condition never holds <>")
            }
        case .between(let low, let high)?:
            lower = (try key(low), true)
            upper = (try key(high), true)
        case .beginsWith(let value)?:
            self.prefix = prefix + codec.rangeComponent(value)
        }
    }

    /// The range left after a page that ended at `cursor`: strictly after it going
    /// forward, strictly before it going backward.
    public func resuming(after cursor: Key, reverse: Bool) -> KeyRange {
        var range = self
        if reverse {
            if upper.map({ cursor <= $0.key }) ?? true { range.upper = (cursor, false) }
        } else {
            if lower.map({ cursor >= $0.key }) ?? true { range.lower = (cursor, false) }
        }
        return range
    }

    /// Whether a key falls in the range.
    public func contains(_ key: Key) -> Bool {
        key.hasPrefix(prefix)
            && (lower.map { $0.inclusive ? $0.key <= key : $0.key < key } ?? true)
            && (upper.map { $0.inclusive ? key <= $0.key : key < $0.key } ?? true)
    }

    public static func == (lhs: KeyRange, rhs: KeyRange) -> Bool {
        lhs.prefix == rhs.prefix && lhs.lower?.key == rhs.lower?.key && lhs.lower?.inclusive == rhs.lower?.inclusive
            && lhs.upper?.key == rhs.upper?.key && lhs.upper?.inclusive == rhs.upper?.inclusive
    }
}
