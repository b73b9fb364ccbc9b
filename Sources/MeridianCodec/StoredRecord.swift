import MeridianCore

/// The envelope of every record Meridian stores: origin-log entries, item records, catalog
/// and ledger rows, and the Raft groups' persisted state.
///
///     +-----------+------------+--------------------+---------------+
///     | tag: u8   | format: u8 | payload            | crc32c: u32   |
///     +-----------+------------+--------------------+---------------+
///
/// `tag` is `checksummedTag`. `format` is the version of the payload's layout for the
/// record's type, so a layout can change while older rows still read. The CRC-32C covers
/// tag, format and payload: a record whose bytes changed after they were written (a
/// flipped bit, a torn page) is refused with `CodecError.checksumMismatch`, never decoded
/// into a wrong value.
///
/// Rows of earlier builds carry no envelope: JSON (first byte `{`), the binary rows of
/// schema 3 (`legacyBinaryTag`, no checksum), or a type's own raw layout (Raft state).
/// Their first bytes never equal `checksummedTag`; each reader says which it still reads.
public enum StoredRecord {
    /// The first byte of an enveloped record.
    public static let checksummedTag: UInt8 = 0x02
    /// The first byte of the unchecksummed binary rows of storage schema 3 (origin-log
    /// entries and item records), still read.
    public static let legacyBinaryTag: UInt8 = 0x01
    /// The bytes the envelope adds to a payload: tag, format and checksum.
    public static let envelopeBytes = 6

    /// Whether `bytes` start as an enveloped record does.
    public static func isEnveloped(_ bytes: some Collection<UInt8>) -> Bool {
        bytes.first == checksummedTag
    }

    /// Encodes a value in its canonical layout, as format `format`.
    public static func encode(_ value: some CanonicalCodable, format: UInt8 = 1) -> [UInt8] {
        encode(format: format) { value.write(to: &$0) }
    }

    /// Encodes a payload that `write` appends, as format `format`.
    public static func encode(format: UInt8, capacity: Int = 128, _ write: (inout ByteWriter) -> Void) -> [UInt8] {
        var writer = ByteWriter(capacity: capacity)
        writer.writeUInt8(checksummedTag)
        writer.writeUInt8(format)
        write(&writer)
        writer.writeUInt32(Checksum.crc32c(writer.bytes))
        return writer.bytes
    }

    /// Checks an enveloped record's tag and checksum; returns its format and a reader over
    /// its payload (which the caller must read exactly: `expectEnd`).
    public static func verified(_ bytes: [UInt8]) throws(CodecError) -> (format: UInt8, payload: ByteReader) {
        guard bytes.count >= envelopeBytes else { throw CodecError.truncated.detailed("a stored record of \(bytes.count) bytes is shorter than its envelope") }
        guard bytes[0] == checksummedTag else {
            throw CodecError.unknownFormat.detailed("a stored record starts with byte \(bytes[0]), not the envelope's tag")
        }
        let body = bytes.count - 4
        var trailer = ByteReader(bytes, range: body..<bytes.count)
        let stored = try trailer.readUInt32()
        let computed = Checksum.crc32c(bytes[0..<body])
        guard stored == computed else {
            throw CodecError.checksumMismatch.detailed("a stored record's CRC-32C is \(stored), its bytes give \(computed)")
        }
        return (bytes[1], ByteReader(bytes, range: 2..<body))
    }

    /// Decodes an enveloped record of a type whose only layout is format 1.
    public static func decode<T: CanonicalCodable>(_ bytes: [UInt8], as type: T.Type) throws(CodecError) -> T {
        var (format, payload) = try verified(bytes)
        guard format == 1 else { throw CodecError.unknownFormat.detailed("\(T.self) format \(format) is unknown to this build") }
        let value = try T(from: &payload)
        try payload.expectEnd()
        return value
    }

    /// Decodes a binary row of storage schema 3 (`legacyBinaryTag`, no checksum).
    public static func decodeLegacyBinary<T: CanonicalCodable>(_ bytes: [UInt8], as type: T.Type) throws(CodecError) -> T {
        guard bytes.first == legacyBinaryTag else { throw CodecError.unknownFormat.detailed("not a schema-3 binary row") }
        var reader = ByteReader(bytes, range: 1..<bytes.count)
        let value = try T(from: &reader)
        try reader.expectEnd()
        return value
    }
}
