/// A value with one canonical binary encoding.
///
/// Rule: `T(from:)` accepts exactly the bytes `write(to:)` produces for some value and
/// refuses everything else, so that decoding and re-encoding give back the same bytes.
public protocol CanonicalCodable {
    func write(to writer: inout ByteWriter)
    init(from reader: inout ByteReader) throws(CodecError)
}

extension ByteWriter {
    public mutating func write(_ value: some CanonicalCodable) {
        value.write(to: &self)
    }

    /// A presence byte (0 absent, 1 present), then the value when present.
    public mutating func writeOptional(_ value: (some CanonicalCodable)?) {
        guard let value else {
            writeUInt8(0)
            return
        }
        writeUInt8(1)
        value.write(to: &self)
    }

    /// A count, then each element.
    public mutating func writeArray(_ elements: [some CanonicalCodable]) {
        writeCount(elements.count)
        for element in elements { element.write(to: &self) }
    }

    /// A count, then each key and value in ascending order of the key's UTF-8 bytes.
    public mutating func writeStringMap<Value: CanonicalCodable>(_ map: [String: Value]) {
        writeCount(map.count)
        for key in map.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            writeString(key)
            map[key].unsafelyUnwrapped.write(to: &self)
        }
    }
}

extension ByteReader {
    public mutating func read<T: CanonicalCodable>(_ type: T.Type) throws(CodecError) -> T {
        try T(from: &self)
    }

    public mutating func readOptional<T: CanonicalCodable>(_ type: T.Type) throws(CodecError) -> T? {
        guard try readPresence() else { return nil }
        return try T(from: &self)
    }

    /// The presence byte of an optional value.
    public mutating func readPresence() throws(CodecError) -> Bool {
        switch try readUInt8() {
        case 0: return false
        case 1: return true
        case let other: throw CodecError.invalidPayload.detailed("a presence byte is \(other)")
        }
    }

    public mutating func readArray<T: CanonicalCodable>(of type: T.Type, elementBytesMin: Int = 1) throws(CodecError) -> [T] {
        let count = try readCount(elementBytesMin: elementBytesMin)
        var elements: [T] = []
        for _ in 0..<count { elements.append(try T(from: &self)) }
        return elements
    }

    /// A map written by `writeStringMap`: keys strictly ascending by UTF-8 bytes, and no
    /// two keys that Swift considers equal (canonically equivalent Unicode).
    public mutating func readStringMap<Value>(elementBytesMin: Int = 2, value readValue: (inout ByteReader) throws(CodecError) -> Value) throws(CodecError) -> [String: Value] {
        let count = try readCount(elementBytesMin: elementBytesMin)
        var map: [String: Value] = [:]
        var previous: String? = nil
        for _ in 0..<count {
            let key = try readString()
            if let previous, !previous.utf8.lexicographicallyPrecedes(key.utf8) {
                throw CodecError.invalidPayload.detailed("map keys are not in strictly ascending order")
            }
            let value = try readValue(&self)
            guard map.updateValue(value, forKey: key) == nil else {
                throw CodecError.invalidPayload.detailed("a map holds two keys that are canonically equivalent")
            }
            previous = key
        }
        return map
    }
}
