// The binary encoding of what a region stores on every write: its origin-log entries and
// its item records. The same canonical codec as the wire; storage writes these bytes
// behind a one-byte format tag so that rows written as JSON by earlier builds still read.

import MeridianCore

/// Encodes and decodes stored origin-log entries and item records.
public enum StoredRecords {
    /// The first byte of a binary row. JSON rows of earlier builds start with `{` (0x7B).
    public static let binaryTag: UInt8 = 0x01

    public static func encode(_ entry: LogEntry) -> [UInt8] { tagged(entry) }
    public static func encode(_ record: ItemRecord) -> [UInt8] { tagged(record) }

    /// Decodes the bytes after the tag; nil when they are not exactly one entry.
    public static func decodeLogEntry(_ bytes: [UInt8]) -> LogEntry? { untagged(bytes, as: LogEntry.self) }
    public static func decodeItemRecord(_ bytes: [UInt8]) -> ItemRecord? { untagged(bytes, as: ItemRecord.self) }

    static func tagged(_ value: some WireCodable) -> [UInt8] {
        var writer = ByteWriter(capacity: 128)
        writer.writeUInt8(binaryTag)
        value.write(to: &writer)
        return writer.bytes
    }

    static func untagged<T: WireCodable>(_ bytes: [UInt8], as type: T.Type) -> T? {
        guard bytes.first == binaryTag else { return nil }
        var reader = ByteReader(bytes, range: 1..<bytes.count)
        guard let value = try? T(from: &reader), (try? reader.expectEnd()) != nil else { return nil }
        return value
    }
}
