// Payload layouts of the origin log's types (version 1), in the notation of
// `CanonicalCodable+Core.swift`.

import MeridianCore

/// name, definition `opt(definition)`, version, deletedBefore `u64`. A definition must
/// name the record's table.
extension CatalogRecord: CanonicalCodable {
    public func write(to writer: inout ByteWriter) {
        writer.write(name)
        writer.writeOptional(definition)
        writer.write(version)
        writer.write(deletedBefore)
    }

    public init(from reader: inout ByteReader) throws(CodecError) {
        let name = try reader.read(TableName.self)
        let definition = try reader.readOptional(TableDefinition.self)
        if let definition, definition.name != name {
            throw CodecError.invalidPayload.detailed("catalog record of '\(name)' carries the definition of '\(definition.name)'")
        }
        self.init(name: name, definition: definition, version: try reader.read(ItemVersion.self),
                  deletedBefore: try reader.read(HLCTimestamp.self))
    }
}

/// A tag `u8`, then: 0 item (catalog record, key, item record); 1 catalog (record);
/// 2 withheld (table name).
extension LogPayload: CanonicalCodable {
    public func write(to writer: inout ByteWriter) {
        switch self {
        case .item(let table, let key, let record):
            writer.writeUInt8(0)
            writer.write(table)
            writer.write(key)
            writer.write(record)
        case .catalog(let record):
            writer.writeUInt8(1)
            writer.write(record)
        case .withheld(let table):
            writer.writeUInt8(2)
            writer.write(table)
        }
    }

    public init(from reader: inout ByteReader) throws(CodecError) {
        switch try reader.readUInt8() {
        case 0:
            self = .item(table: try reader.read(CatalogRecord.self), key: try reader.read(Key.self),
                         record: try reader.read(ItemRecord.self))
        case 1: self = .catalog(try reader.read(CatalogRecord.self))
        case 2: self = .withheld(table: try reader.read(TableName.self))
        case let other: throw CodecError.invalidPayload.detailed("unknown log payload tag \(other)")
        }
    }
}

/// origin, sequence `var` (at least 1), timestamp `u64`, payload.
extension LogEntry: CanonicalCodable {
    public func write(to writer: inout ByteWriter) {
        writer.write(origin)
        writer.writeVarUInt(sequence)
        writer.write(timestamp)
        writer.write(payload)
    }

    public init(from reader: inout ByteReader) throws(CodecError) {
        let origin = try reader.read(RegionID.self)
        let sequence = try reader.readVarUInt()
        guard sequence > 0 else { throw CodecError.invalidPayload.detailed("a log entry's sequence is zero") }
        self.init(origin: origin, sequence: sequence, timestamp: try reader.read(HLCTimestamp.self),
                  payload: try reader.read(LogPayload.self))
    }
}

/// Region counts (see `writeRegionCounts`).
extension Positions: CanonicalCodable {
    public func write(to writer: inout ByteWriter) { writer.writeRegionCounts(sequences) }

    public init(from reader: inout ByteReader) throws(CodecError) {
        self.init(try reader.readRegionCounts())
    }
}
