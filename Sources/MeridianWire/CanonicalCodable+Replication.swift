// Payload layouts of MeridianReplication's types (version 1), in the notation of
// `CanonicalCodable+Core.swift`.

import MeridianCodec
import MeridianCore
import MeridianReplication

/// latestSequence `var`, latestTimestamp `u64`, wallMilliseconds `var`, applied positions.
extension Heartbeat: CanonicalCodable {
    public func write(to writer: inout ByteWriter) {
        writer.writeVarUInt(latestSequence)
        writer.write(latestTimestamp)
        writer.writeVarUInt(wallMilliseconds)
        writer.write(applied)
    }

    public init(from reader: inout ByteReader) throws(CodecError) {
        self.init(latestSequence: try reader.readVarUInt(), latestTimestamp: try reader.read(HLCTimestamp.self),
                  wallMilliseconds: try reader.readVarUInt(), applied: try reader.read(Positions.self))
    }
}

/// table, key, record.
extension SnapshotItem: CanonicalCodable {
    public func write(to writer: inout ByteWriter) {
        writer.write(table)
        writer.write(key)
        writer.write(record)
    }

    public init(from reader: inout ByteReader) throws(CodecError) {
        self.init(table: try reader.read(TableName.self), key: try reader.read(Key.self), record: try reader.read(ItemRecord.self))
    }
}

/// transfer `var`, positions, `array(catalog record)`, `array(snapshot item)`, isFinal `u8` 0/1.
extension SnapshotChunk: CanonicalCodable {
    public func write(to writer: inout ByteWriter) {
        writer.writeVarUInt(transfer)
        writer.writeVarUInt(index)
        writer.write(positions)
        writer.writeArray(catalog)
        writer.writeArray(items)
        writer.writeBool(isFinal)
    }

    public init(from reader: inout ByteReader) throws(CodecError) {
        self.init(transfer: try reader.readVarUInt(), index: try reader.readVarUInt(), positions: try reader.read(Positions.self),
                  catalog: try reader.readArray(of: CatalogRecord.self, elementBytesMin: 12),
                  items: try reader.readArray(of: SnapshotItem.self, elementBytesMin: 12),
                  isFinal: try reader.readBool())
    }
}
