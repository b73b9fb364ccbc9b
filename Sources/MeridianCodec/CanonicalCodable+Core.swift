// Canonical layouts of MeridianCore's types (version 1). Notation: `u8`, `u16`, `u64` are
// fixed-width big-endian; `var` is a shortest-form LEB128 integer; `zigzag` a signed one;
// `string` is `var` byte count + UTF-8; `opt(T)` is a presence byte 0/1 then T;
// `array(T)` is `var` count then each T.

import MeridianCore

/// `string`, validated as a region name.
extension RegionID: CanonicalCodable {
    public func write(to writer: inout ByteWriter) { writer.writeString(name) }

    public init(from reader: inout ByteReader) throws(CodecError) {
        let name = try reader.readString()
        do { try self.init(name) } catch { throw CodecError.invalidPayload.detailed(error.message) }
    }
}

/// `string`, validated as a table name.
extension TableName: CanonicalCodable {
    public func write(to writer: inout ByteWriter) { writer.writeString(name) }

    public init(from reader: inout ByteReader) throws(CodecError) {
        let name = try reader.readString()
        do { try self.init(name) } catch { throw CodecError.invalidPayload.detailed(error.message) }
    }
}

/// `var` byte count + bytes, validated as a key (1 to 1024 bytes of UTF-8).
extension Key: CanonicalCodable {
    public func write(to writer: inout ByteWriter) { writer.writeBytes(bytes) }

    public init(from reader: inout ByteReader) throws(CodecError) {
        let bytes = try reader.readBytes()
        do { try self.init(utf8: Array(bytes)) } catch { throw CodecError.invalidPayload.detailed(error.message) }
    }
}

/// `u64`: the packed value.
extension HLCTimestamp: CanonicalCodable {
    public func write(to writer: inout ByteWriter) { writer.writeUInt64(rawValue) }

    public init(from reader: inout ByteReader) throws(CodecError) {
        self.init(rawValue: try reader.readUInt64())
    }
}

/// timestamp `u64`, origin `string`.
extension ItemVersion: CanonicalCodable {
    public func write(to writer: inout ByteWriter) {
        writer.write(timestamp)
        writer.write(origin)
    }

    public init(from reader: inout ByteReader) throws(CodecError) {
        self.init(timestamp: try reader.read(HLCTimestamp.self), origin: try reader.read(RegionID.self))
    }
}

extension ByteWriter {
    /// `var` count, then (region `string`, count `var`) in ascending region order; never a zero count.
    public mutating func writeRegionCounts(_ counts: [RegionID: UInt64]) {
        writeCount(counts.count)
        for region in counts.keys.sorted() {
            let count = counts[region].unsafelyUnwrapped
            precondition(count > 0, "region counts are stored without zeros")
            write(region)
            writeVarUInt(count)
        }
    }
}

extension ByteReader {
    /// Region counts written by `writeRegionCounts`: regions strictly ascending, counts positive.
    public mutating func readRegionCounts() throws(CodecError) -> [RegionID: UInt64] {
        let count = try readCount(elementBytesMin: 3)
        var counts: [RegionID: UInt64] = [:]
        var previous: RegionID? = nil
        for _ in 0..<count {
            let region = try read(RegionID.self)
            if let previous, !(previous < region) {
                throw CodecError.invalidPayload.detailed("regions are not in strictly ascending order")
            }
            let value = try readVarUInt()
            guard value > 0 else { throw CodecError.invalidPayload.detailed("a region count is zero") }
            counts[region] = value
            previous = region
        }
        return counts
    }
}

/// Region counts (see `writeRegionCounts`).
extension VersionVector: CanonicalCodable {
    public func write(to writer: inout ByteWriter) { writer.writeRegionCounts(counts) }

    public init(from reader: inout ByteReader) throws(CodecError) {
        self.init(try reader.readRegionCounts())
    }
}

/// region `string`, counter `var`.
extension Dot: CanonicalCodable {
    public func write(to writer: inout ByteWriter) {
        writer.write(region)
        writer.writeVarUInt(counter)
    }

    public init(from reader: inout ByteReader) throws(CodecError) {
        self.init(region: try reader.read(RegionID.self), counter: try reader.readVarUInt())
    }
}

/// A tag `u8`, then: 0 null; 1 false; 2 true; 3 integer `zigzag`; 4 double `u64` bits
/// (finite only: JSON has no NaN or infinity); 5 `string`; 6 `array(value)`;
/// 7 object: `var` count, then (key `string`, value) with keys strictly ascending by UTF-8
/// bytes; 8 unsigned integer `var`, only above `Int64.max` (a smaller one is written as 3
/// and refused under 8). Arrays and objects nest at most `Limits.jsonDepthMax` levels.
/// Builds before tag 8 refuse a record holding one (`corrupt_row`); every other record
/// reads as before.
extension JSONValue: CanonicalCodable {
    private enum Tag: UInt8 {
        case null = 0, falseValue, trueValue, integer, double, string, array, object
        /// An integer above `Int64.max`, as a varuint; added after the others, so a value
        /// without one has the same bytes as before it existed.
        case unsignedInteger
    }

    public func write(to writer: inout ByteWriter) {
        switch self {
        case .null:
            writer.writeUInt8(Tag.null.rawValue)
        case .bool(let value):
            writer.writeUInt8(value ? Tag.trueValue.rawValue : Tag.falseValue.rawValue)
        case .integer(let value):
            writer.writeUInt8(Tag.integer.rawValue)
            writer.writeVarInt(value)
        case .unsignedInteger(let value) where value <= UInt64(Int64.max):
            // Not the canonical case for this number (`JSONValue.integer(exactly:)`): written
            // as the integer it is, so that equal numbers have equal bytes.
            writer.writeUInt8(Tag.integer.rawValue)
            writer.writeVarInt(Int64(value))
        case .unsignedInteger(let value):
            writer.writeUInt8(Tag.unsignedInteger.rawValue)
            writer.writeVarUInt(value)
        case .double(let value):
            writer.writeUInt8(Tag.double.rawValue)
            writer.writeUInt64(value.bitPattern)
        case .string(let value):
            writer.writeUInt8(Tag.string.rawValue)
            writer.writeString(value)
        case .array(let elements):
            writer.writeUInt8(Tag.array.rawValue)
            writer.writeArray(elements)
        case .object(let fields):
            writer.writeUInt8(Tag.object.rawValue)
            writer.writeStringMap(fields)
        }
    }

    public init(from reader: inout ByteReader) throws(CodecError) {
        try self.init(from: &reader, depth: 0)
    }

    /// Reads a value that sits inside `depth` arrays or objects.
    private init(from reader: inout ByteReader, depth: Int) throws(CodecError) {
        let byte = try reader.readUInt8()
        guard let tag = Tag(rawValue: byte) else {
            throw CodecError.invalidPayload.detailed("unknown JSON tag \(byte)")
        }
        switch tag {
        case .null: self = .null
        case .falseValue: self = .bool(false)
        case .trueValue: self = .bool(true)
        case .integer: self = .integer(try reader.readVarInt())
        case .unsignedInteger:
            let value = try reader.readVarUInt()
            guard value > UInt64(Int64.max) else {
                throw CodecError.invalidPayload.detailed("an unsigned JSON integer \(value) that fits an Int64 (not canonical)")
            }
            self = .unsignedInteger(value)
        case .double:
            let value = Double(bitPattern: try reader.readUInt64())
            guard value.isFinite else { throw CodecError.invalidPayload.detailed("a JSON number is not finite") }
            self = .double(value)
        case .string: self = .string(try reader.readString())
        case .array:
            try Self.checkNesting(depth)
            let count = try reader.readCount(elementBytesMin: 1)
            var elements: [JSONValue] = []
            for _ in 0..<count { elements.append(try JSONValue(from: &reader, depth: depth + 1)) }
            self = .array(elements)
        case .object:
            try Self.checkNesting(depth)
            self = .object(try reader.readStringMap { (reader: inout ByteReader) throws(CodecError) in
                try JSONValue(from: &reader, depth: depth + 1)
            })
        }
    }

    private static func checkNesting(_ depth: Int) throws(CodecError) {
        guard depth < Limits.jsonDepthMax else {
            throw CodecError.invalidPayload.detailed("a JSON value nests deeper than \(Limits.jsonDepthMax) levels")
        }
    }
}

/// value `opt(JSON)`, version.
extension FieldEntry: CanonicalCodable {
    public func write(to writer: inout ByteWriter) {
        writer.writeOptional(value)
        writer.write(version)
    }

    public init(from reader: inout ByteReader) throws(CodecError) {
        self.init(value: try reader.readOptional(JSONValue.self), version: try reader.read(ItemVersion.self))
    }
}

/// value `opt(JSON)`, version, dot.
extension Sibling: CanonicalCodable {
    public func write(to writer: inout ByteWriter) {
        writer.writeOptional(value)
        writer.write(version)
        writer.write(dot)
    }

    public init(from reader: inout ByteReader) throws(CodecError) {
        self.init(value: try reader.readOptional(JSONValue.self), version: try reader.read(ItemVersion.self),
                  dot: try reader.read(Dot.self))
    }
}

/// vector, version, root `opt(JSON)`, fields (a string map of field entries), `array(sibling)`.
extension ItemRecord: CanonicalCodable {
    public func write(to writer: inout ByteWriter) {
        writer.write(vector)
        writer.write(version)
        writer.writeOptional(root)
        writer.writeStringMap(fields)
        writer.writeArray(siblings)
    }

    public init(from reader: inout ByteReader) throws(CodecError) {
        let vector = try reader.read(VersionVector.self)
        let version = try reader.read(ItemVersion.self)
        let root = try reader.readOptional(JSONValue.self)
        let fields = try reader.readStringMap { (reader: inout ByteReader) throws(CodecError) in try reader.read(FieldEntry.self) }
        let siblings = try reader.readArray(of: Sibling.self)
        self.init(vector: vector, version: version, root: root, fields: fields, siblings: siblings)
    }
}

/// name, mode `u8` (0 multi-primary, 1 primary, 2 strong; plus `witnessFlag` when a witness
/// follows and `dynamoFlag` when a DynamoDB schema follows), conflict `opt(u8)` (0 lww,
/// 1 merge, 2 siblings), primary `opt(region)`, commit `opt(u8)` (0 local, 1 quorum),
/// `array(region)`, then the witness region when flagged, then the DynamoDB schema when
/// flagged. A definition with neither keeps the layout of earlier builds byte for byte
/// (they are stored inside log entries and must still read); one with either is refused by
/// them as an unknown mode rather than misread. The decoder checks the invariants
/// `TableDefinition` documents.
extension TableDefinition: CanonicalCodable {
    /// Set in the mode byte when a witness region follows the regions.
    static let witnessFlag: UInt8 = 0x40
    /// Set in the mode byte when a DynamoDB schema follows the regions (and the witness).
    static let dynamoFlag: UInt8 = 0x80

    public func write(to writer: inout ByteWriter) {
        writer.write(name)
        writer.writeUInt8(Self.wireCode(of: mode) | (witness == nil ? 0 : Self.witnessFlag) | (dynamo == nil ? 0 : Self.dynamoFlag))
        writer.writeOptional(conflict.map { EnumCode(Self.wireCode(of: $0)) })
        writer.writeOptional(primary)
        writer.writeOptional(commit.map { EnumCode(Self.wireCode(of: $0)) })
        writer.writeArray(regions)
        if let witness { writer.write(witness) }
        if let dynamo { writer.write(dynamo) }
    }

    public init(from reader: inout ByteReader) throws(CodecError) {
        let name = try reader.read(TableName.self)
        let modeByte = try reader.readUInt8()
        let mode: TableMode = try Self.decodeEnum(modeByte & ~(Self.witnessFlag | Self.dynamoFlag), TableMode.allCases, Self.wireCode(of:))
        let conflict: ConflictPolicy? = try reader.readOptional(EnumCode.self).map { (code: EnumCode) throws(CodecError) in
            try Self.decodeEnum(code.value, ConflictPolicy.allCases, Self.wireCode(of:))
        }
        let primary = try reader.readOptional(RegionID.self)
        let commit: CommitRule? = try reader.readOptional(EnumCode.self).map { (code: EnumCode) throws(CodecError) in
            try Self.decodeEnum(code.value, CommitRule.allCases, Self.wireCode(of:))
        }
        let regions = try reader.readArray(of: RegionID.self, elementBytesMin: 2)
        let witness = modeByte & Self.witnessFlag != 0 ? try reader.read(RegionID.self) : nil
        let dynamo = modeByte & Self.dynamoFlag == 0 ? nil : try reader.read(DynamoSchema.self)
        self.init(name: name, mode: mode, conflict: conflict, primary: primary, commit: commit, regions: regions, witness: witness, dynamo: dynamo)
        try checkInvariants()
    }

    /// The invariants `resolve` establishes; a definition that breaks them never came from a correct peer.
    private func checkInvariants() throws(CodecError) {
        guard !regions.isEmpty, zip(regions, regions.dropFirst()).allSatisfy({ $0 < $1 }) else {
            throw CodecError.invalidPayload.detailed("a table's regions must be non-empty, sorted and unique")
        }
        let valid: Bool
        switch mode {
        case .multiPrimary: valid = conflict != nil && primary == nil && commit == nil && witness == nil
        case .primary: valid = conflict == nil && commit != nil && primary.map(regions.contains) == true
        case .strong: valid = conflict == nil && primary == nil && commit == nil
        }
        if let witness, regions.contains(witness) {
            throw CodecError.invalidPayload.detailed("table '\(name)': witness \(witness) is among its regions")
        }
        guard valid else {
            throw CodecError.invalidPayload.detailed("table '\(name)': conflict, primary and commit do not fit mode \(mode.rawValue)")
        }
    }

    // Wire codes are fixed here, independent of case order, so adding a case never renumbers.
    private static func wireCode(of mode: TableMode) -> UInt8 {
        switch mode {
        case .multiPrimary: 0
        case .primary: 1
        case .strong: 2
        }
    }

    private static func wireCode(of policy: ConflictPolicy) -> UInt8 {
        switch policy {
        case .lww: 0
        case .merge: 1
        case .siblings: 2
        }
    }

    private static func wireCode(of rule: CommitRule) -> UInt8 {
        switch rule {
        case .local: 0
        case .quorum: 1
        }
    }

    private static func decodeEnum<T>(_ code: UInt8, _ cases: [T], _ wireCode: (T) -> UInt8) throws(CodecError) -> T {
        guard let value = cases.first(where: { wireCode($0) == code }) else {
            throw CodecError.invalidPayload.detailed("unknown \(T.self) code \(code)")
        }
        return value
    }
}

/// table name `string`, hash key (name `string`, type `u8`: 0 S, 1 N, 2 B), range key
/// `opt` of the same, billing mode `string`, created `u64` (milliseconds). The decoder
/// checks `DynamoSchema.isValid`.
extension DynamoSchema: CanonicalCodable {
    public func write(to writer: inout ByteWriter) {
        writer.writeString(tableName)
        writer.write(hashKey)
        writer.writeOptional(rangeKey)
        writer.writeString(billingMode)
        writer.writeUInt64(createdMilliseconds)
    }

    public init(from reader: inout ByteReader) throws(CodecError) {
        self.init(tableName: try reader.readString(), hashKey: try reader.read(DynamoKeyAttribute.self),
                  rangeKey: try reader.readOptional(DynamoKeyAttribute.self), billingMode: try reader.readString(),
                  createdMilliseconds: try reader.readUInt64())
        guard isValid else { throw CodecError.invalidPayload.detailed("an invalid DynamoDB schema for table '\(tableName.prefix(80))'") }
    }
}

/// name `string`, type `u8` (0 S, 1 N, 2 B).
extension DynamoKeyAttribute: CanonicalCodable {
    public func write(to writer: inout ByteWriter) {
        writer.writeString(name)
        writer.writeUInt8(Self.wireCode(of: type))
    }

    public init(from reader: inout ByteReader) throws(CodecError) {
        let name = try reader.readString()
        let code = try reader.readUInt8()
        guard let type = DynamoKeyType.allCases.first(where: { Self.wireCode(of: $0) == code }) else {
            throw CodecError.invalidPayload.detailed("unknown DynamoDB key type code \(code)")
        }
        self.init(name: name, type: type)
    }

    private static func wireCode(of type: DynamoKeyType) -> UInt8 {
        switch type {
        case .string: 0
        case .number: 1
        case .binary: 2
        }
    }
}

/// One byte naming an enumeration case (so that optional enumerations reuse `writeOptional`).
struct EnumCode: CanonicalCodable {
    var value: UInt8

    init(_ value: UInt8) { self.value = value }

    public func write(to writer: inout ByteWriter) { writer.writeUInt8(value) }

    public init(from reader: inout ByteReader) throws(CodecError) { value = try reader.readUInt8() }
}
