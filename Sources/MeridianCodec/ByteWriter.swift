/// Appends the wire format's primitives to a byte array.
///
/// Fixed-width integers are big-endian. `varUInt` is unsigned LEB128 (seven bits per byte,
/// low group first, high bit set on every byte but the last); `varInt` zigzag-maps a signed
/// value onto it so small magnitudes of either sign take one byte.
public struct ByteWriter {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 64) {
        bytes.reserveCapacity(capacity)
    }

    public mutating func writeUInt8(_ value: UInt8) {
        bytes.append(value)
    }

    public mutating func writeUInt16(_ value: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value))
    }

    public mutating func writeUInt32(_ value: UInt32) {
        for shift in stride(from: 24, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift)))
        }
    }

    public mutating func writeUInt64(_ value: UInt64) {
        for shift in stride(from: 56, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
        }
    }

    /// Overwrites four bytes at `offset` (used to fill in a length prefix).
    public mutating func patchUInt32(_ value: UInt32, at offset: Int) {
        precondition(offset >= 0 && offset + 4 <= bytes.count, "patching outside the written bytes")
        for index in 0..<4 {
            bytes[offset + index] = UInt8(truncatingIfNeeded: value >> UInt32(24 - 8 * index))
        }
    }

    public mutating func writeVarUInt(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    public mutating func writeVarInt(_ value: Int64) {
        writeVarUInt(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    /// A count of elements or bytes.
    public mutating func writeCount(_ count: Int) {
        precondition(count >= 0, "counts are never negative")
        writeVarUInt(UInt64(count))
    }

    public mutating func writeBool(_ value: Bool) {
        bytes.append(value ? 1 : 0)
    }

    /// A byte count followed by the bytes.
    public mutating func writeBytes(_ value: some Collection<UInt8>) {
        writeCount(value.count)
        bytes.append(contentsOf: value)
    }

    /// A UTF-8 byte count followed by the UTF-8 bytes.
    public mutating func writeString(_ value: String) {
        writeBytes(value.utf8)
    }
}
