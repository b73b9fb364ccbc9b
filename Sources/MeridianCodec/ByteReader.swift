/// Reads the wire format's primitives from a range of a byte array, refusing anything
/// malformed with a `CodecError` instead of trapping.
///
/// Invariant: `start <= position <= end <= bytes.count`.
public struct ByteReader {
    private let bytes: [UInt8]
    public private(set) var position: Int
    private let end: Int

    /// Reads `bytes[range]`.
    public init(_ bytes: [UInt8], range: Range<Int>) {
        precondition(range.lowerBound >= 0 && range.upperBound <= bytes.count, "reader range outside its bytes")
        self.bytes = bytes
        position = range.lowerBound
        end = range.upperBound
    }

    /// Reads all of `bytes`.
    public init(_ bytes: [UInt8]) {
        self.init(bytes, range: 0..<bytes.count)
    }

    /// The bytes not read yet.
    public var remainingBytes: Int { end - position }

    /// Refuses bytes left over after a value that should have ended the input.
    public func expectEnd() throws(CodecError) {
        guard position == end else {
            throw CodecError.invalidPayload.detailed("\(end - position) bytes left over after the payload")
        }
    }

    public mutating func readUInt8() throws(CodecError) -> UInt8 {
        guard position < end else { throw CodecError.truncated }
        defer { position += 1 }
        return bytes[position]
    }

    public mutating func readUInt16() throws(CodecError) -> UInt16 {
        UInt16(try readFixed(byteCount: 2))
    }

    public mutating func readUInt32() throws(CodecError) -> UInt32 {
        UInt32(try readFixed(byteCount: 4))
    }

    public mutating func readUInt64() throws(CodecError) -> UInt64 {
        try readFixed(byteCount: 8)
    }

    private mutating func readFixed(byteCount: Int) throws(CodecError) -> UInt64 {
        guard remainingBytes >= byteCount else { throw CodecError.truncated }
        var value: UInt64 = 0
        for index in position..<(position + byteCount) {
            value = value << 8 | UInt64(bytes[index])
        }
        position += byteCount
        return value
    }

    /// Unsigned LEB128 in its shortest form: an overlong encoding or a value past 64 bits is refused.
    public mutating func readVarUInt() throws(CodecError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try readUInt8()
            let group = UInt64(byte & 0x7f)
            if shift == 63 && group > 1 {
                throw CodecError.invalidPayload.detailed("a variable-length integer exceeds 64 bits")
            }
            value |= group << shift
            if byte & 0x80 == 0 {
                if byte == 0 && shift > 0 {
                    throw CodecError.invalidPayload.detailed("a variable-length integer is not in its shortest form")
                }
                return value
            }
            shift += 7
            if shift > 63 {
                throw CodecError.invalidPayload.detailed("a variable-length integer exceeds 64 bits")
            }
        }
    }

    public mutating func readVarInt() throws(CodecError) -> Int64 {
        let zigzag = try readVarUInt()
        return Int64(bitPattern: (zigzag >> 1) ^ (0 &- (zigzag & 1)))
    }

    /// A count of elements that each take at least `elementBytesMin` bytes: a count the
    /// remaining bytes cannot hold is refused before anything is allocated for it.
    public mutating func readCount(elementBytesMin: Int) throws(CodecError) -> Int {
        precondition(elementBytesMin >= 1, "every element takes at least one byte")
        let count = try readVarUInt()
        guard count <= UInt64(remainingBytes / elementBytesMin) else {
            throw CodecError.truncated.detailed("a count of \(count) does not fit in the \(remainingBytes) bytes left")
        }
        return Int(count)
    }

    public mutating func readBool() throws(CodecError) -> Bool {
        switch try readUInt8() {
        case 0: return false
        case 1: return true
        case let other: throw CodecError.invalidPayload.detailed("a boolean byte is \(other)")
        }
    }

    /// A byte count followed by the bytes.
    public mutating func readBytes() throws(CodecError) -> ArraySlice<UInt8> {
        let count = try readCount(elementBytesMin: 1)
        defer { position += count }
        return bytes[position..<(position + count)]
    }

    /// A UTF-8 byte count followed by well-formed UTF-8.
    public mutating func readString() throws(CodecError) -> String {
        let utf8 = try readBytes()
        guard let string = String(validating: utf8, as: UTF8.self) else {
            throw CodecError.invalidPayload.detailed("a string is not valid UTF-8")
        }
        return string
    }
}
