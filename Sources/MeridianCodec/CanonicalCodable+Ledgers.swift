// Canonical layouts of the ledger rows (version 1). A row's `id` is the storage's own
// order and is not part of its encoding.

import MeridianCore

/// value `opt(JSON)`, version, field `opt(string)`, winner.
extension OverwrittenValue: CanonicalCodable {
    public func write(to writer: inout ByteWriter) {
        writer.writeOptional(value)
        writer.write(version)
        writer.writeOptional(field.map(CodableString.init))
        writer.write(winner)
    }

    public init(from reader: inout ByteReader) throws(CodecError) {
        self.init(value: try reader.readOptional(JSONValue.self), version: try reader.read(ItemVersion.self),
                  field: try reader.readOptional(CodableString.self)?.value, winner: try reader.read(ItemVersion.self))
    }
}

/// key, overwritten value, detectedBy.
extension ConflictEntry: CanonicalCodable {
    public func write(to writer: inout ByteWriter) {
        writer.write(key)
        writer.write(overwritten)
        writer.write(detectedBy)
    }

    public init(from reader: inout ByteReader) throws(CodecError) {
        self.init(key: try reader.read(Key.self), overwritten: try reader.read(OverwrittenValue.self), detectedBy: try reader.read(RegionID.self))
    }
}

/// key, value `opt(JSON)`, version, index `var`, term `var`, replacedInTerm `var`, detectedBy.
extension DivergenceEntry: CanonicalCodable {
    public func write(to writer: inout ByteWriter) {
        writer.write(key)
        writer.writeOptional(value)
        writer.write(version)
        writer.writeVarUInt(index)
        writer.writeVarUInt(term)
        writer.writeVarUInt(replacedInTerm)
        writer.write(detectedBy)
    }

    public init(from reader: inout ByteReader) throws(CodecError) {
        self.init(key: try reader.read(Key.self), value: try reader.readOptional(JSONValue.self), version: try reader.read(ItemVersion.self),
                  index: try reader.readVarUInt(), term: try reader.readVarUInt(), replacedInTerm: try reader.readVarUInt(),
                  detectedBy: try reader.read(RegionID.self))
    }
}

/// `string`: any UTF-8 string (so that optional strings reuse `writeOptional`).
struct CodableString: CanonicalCodable {
    var value: String

    init(_ value: String) { self.value = value }

    func write(to writer: inout ByteWriter) { writer.writeString(value) }

    init(from reader: inout ByteReader) throws(CodecError) { value = try reader.readString() }
}
