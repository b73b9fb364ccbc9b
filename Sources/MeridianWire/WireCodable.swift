/// A value with one canonical binary encoding.
///
/// Rule: `T(from:)` accepts exactly the bytes `write(to:)` produces for some value and
/// refuses everything else, so that decoding and re-encoding give back the same bytes.
protocol WireCodable {
    func write(to writer: inout ByteWriter)
    init(from reader: inout ByteReader) throws(WireError)
}

extension ByteWriter {
    mutating func write(_ value: some WireCodable) {
        value.write(to: &self)
    }

    /// A presence byte (0 absent, 1 present), then the value when present.
    mutating func writeOptional(_ value: (some WireCodable)?) {
        guard let value else {
            writeUInt8(0)
            return
        }
        writeUInt8(1)
        value.write(to: &self)
    }

    /// A count, then each element.
    mutating func writeArray(_ elements: [some WireCodable]) {
        writeCount(elements.count)
        for element in elements { element.write(to: &self) }
    }

    /// A count, then each key and value in ascending order of the key's UTF-8 bytes.
    mutating func writeStringMap<Value: WireCodable>(_ map: [String: Value]) {
        writeCount(map.count)
        for key in map.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            writeString(key)
            map[key].unsafelyUnwrapped.write(to: &self)
        }
    }
}

extension ByteReader {
    mutating func read<T: WireCodable>(_ type: T.Type) throws(WireError) -> T {
        try T(from: &self)
    }

    mutating func readOptional<T: WireCodable>(_ type: T.Type) throws(WireError) -> T? {
        guard try readPresence() else { return nil }
        return try T(from: &self)
    }

    /// The presence byte of an optional value.
    mutating func readPresence() throws(WireError) -> Bool {
        switch try readUInt8() {
        case 0: return false
        case 1: return true
        case let other: throw WireError.invalidPayload.detailed("a presence byte is \(other)")
        }
    }

    mutating func readArray<T: WireCodable>(of type: T.Type, elementBytesMin: Int = 1) throws(WireError) -> [T] {
        let count = try readCount(elementBytesMin: elementBytesMin)
        var elements: [T] = []
        for _ in 0..<count { elements.append(try T(from: &self)) }
        return elements
    }

    /// A map written by `writeStringMap`: keys strictly ascending by UTF-8 bytes, and no
    /// two keys that Swift considers equal (canonically equivalent Unicode).
    mutating func readStringMap<Value>(elementBytesMin: Int = 2, value readValue: (inout ByteReader) throws(WireError) -> Value) throws(WireError) -> [String: Value] {
        let count = try readCount(elementBytesMin: elementBytesMin)
        var map: [String: Value] = [:]
        var previous: String? = nil
        for _ in 0..<count {
            let key = try readString()
            if let previous, !previous.utf8.lexicographicallyPrecedes(key.utf8) {
                throw WireError.invalidPayload.detailed("map keys are not in strictly ascending order")
            }
            let value = try readValue(&self)
            guard map.updateValue(value, forKey: key) == nil else {
                throw WireError.invalidPayload.detailed("a map holds two keys that are canonically equivalent")
            }
            previous = key
        }
        return map
    }
}
