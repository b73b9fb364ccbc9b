import MeridianCore

/// An item: attribute names to typed values.
public typealias Item = [String: AttributeValue]

/// A DynamoDB attribute value: one of the ten data types.
///
/// Sets are kept sorted and without duplicates (strings and binaries by their bytes,
/// numbers numerically), so that two equal sets are equal values whatever order a client
/// sent them in.
public indirect enum AttributeValue: Sendable, Hashable {
    case string(String)
    case number(DynamoNumber)
    case binary([UInt8])
    case bool(Bool)
    case null
    case list([AttributeValue])
    case map([String: AttributeValue])
    case stringSet([String])
    case numberSet([DynamoNumber])
    case binarySet([[UInt8]])

    /// DynamoDB's name of the value's type: `S`, `N`, `B`, `BOOL`, `NULL`, `L`, `M`, `SS`, `NS` or `BS`.
    public var typeName: String {
        switch self {
        case .string: "S"
        case .number: "N"
        case .binary: "B"
        case .bool: "BOOL"
        case .null: "NULL"
        case .list: "L"
        case .map: "M"
        case .stringSet: "SS"
        case .numberSet: "NS"
        case .binarySet: "BS"
        }
    }

    /// Every type name, as `attribute_type` accepts them.
    public static let typeNames: Set<String> = ["S", "N", "B", "BOOL", "NULL", "L", "M", "SS", "NS", "BS"]

    /// A string set from elements in any order (sorted, duplicates dropped).
    public static func makeStringSet(_ elements: some Sequence<String>) -> AttributeValue {
        .stringSet(Array(Set(elements)).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
    }

    /// A number set from elements in any order (sorted, duplicates dropped).
    public static func makeNumberSet(_ elements: some Sequence<DynamoNumber>) -> AttributeValue {
        .numberSet(Array(Set(elements)).sorted())
    }

    /// A binary set from elements in any order (sorted, duplicates dropped).
    public static func makeBinarySet(_ elements: some Sequence<[UInt8]>) -> AttributeValue {
        .binarySet(Array(Set(elements)).sorted { $0.lexicographicallyPrecedes($1) })
    }

    /// The nesting depth: 0 for scalars and sets, 1 for a flat list or map.
    public var nestingDepth: Int {
        switch self {
        case .list(let elements): 1 + (elements.map(\.nestingDepth).max() ?? 0)
        case .map(let fields): 1 + (fields.values.map(\.nestingDepth).max() ?? 0)
        default: 0
        }
    }

    /// The value's size as DynamoDB counts it toward the 400 KB item limit: strings and
    /// binaries by their bytes, numbers about one byte per two significant digits plus
    /// one, booleans and nulls one byte, lists and maps three bytes plus one per element
    /// and their elements (map keys counted as names), sets the sum of their elements.
    public var sizeBytes: Int {
        switch self {
        case .string(let string): string.utf8.count
        case .number(let number): Self.size(of: number)
        case .binary(let bytes): bytes.count
        case .bool, .null: 1
        case .list(let elements): 3 + elements.reduce(0) { $0 + 1 + $1.sizeBytes }
        case .map(let fields): 3 + fields.reduce(0) { $0 + 1 + $1.key.utf8.count + $1.value.sizeBytes }
        case .stringSet(let elements): elements.reduce(0) { $0 + $1.utf8.count }
        case .numberSet(let elements): elements.reduce(0) { $0 + Self.size(of: $1) }
        case .binarySet(let elements): elements.reduce(0) { $0 + $1.count }
        }
    }

    private static func size(of number: DynamoNumber) -> Int {
        (number.digits.count + 1) / 2 + 1
    }
}

/// Helpers on items.
public enum Items {
    /// An item's size as DynamoDB counts it: each attribute's name and value.
    public static func sizeBytes(_ item: Item) -> Int {
        item.reduce(0) { $0 + $1.key.utf8.count + $1.value.sizeBytes }
    }

    /// Refuses an item larger than DynamoDB's limit, with DynamoDB's message.
    public static func checkSize(_ item: Item, updating: Bool = false) throws(DynamoError) {
        guard sizeBytes(item) <= DynamoLimits.itemBytesMax else {
            throw .validation(updating ? "Item size to update has exceeded the maximum allowed size" : "Item size has exceeded the maximum allowed size")
        }
    }
}
