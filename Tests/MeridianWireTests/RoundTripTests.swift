import MeridianCodec
import MeridianCore
import MeridianRegion
import MeridianReplication
import Testing
@testable import MeridianWire

struct RoundTripTests {
    @Test(arguments: Samples.frames)
    func everyFrameKindRoundTripsWithItsContent(frame: WireFrame) throws {
        let bytes = encode(frame)
        #expect(try Samples.decodeAll(bytes) == [frame])
        #expect(bytes.count <= Wire.frameBytesMax)
    }

    @Test func theFrameStartsWithTheLengthOfTheRestAndTheKind() {
        let bytes = encode(.message(.replication(.ack(Positions()))))
        #expect(bytes == [0, 0, 0, 2, 4, 0], "length 2 (kind + an empty map's count), kind 4 (ack), count 0")
    }

    @Test func encodingIsCanonicalSoEqualValuesGiveEqualBytes() throws {
        for frame in Samples.frames {
            let decoded = try Samples.decodeAll(encode(frame))
            #expect(decoded.map(encode) == [encode(frame)])
        }
    }

    @Test func aDefinitionWithoutADynamoDBSchemaKeepsTheEarlierLayoutAndOneWithAFlagsTheModeByte() throws {
        var plain = ByteWriter(capacity: 64)
        Samples.strong.write(to: &plain)
        var earlier = ByteWriter(capacity: 64)
        earlier.write(Samples.table)
        earlier.writeUInt8(2)
        earlier.writeUInt8(0); earlier.writeUInt8(0); earlier.writeUInt8(0)
        earlier.writeArray(Samples.strong.regions)
        #expect(plain.bytes == earlier.bytes, "byte for byte what earlier builds wrote and stored")
        var flagged = ByteWriter(capacity: 128)
        Samples.dynamo.write(to: &flagged)
        var reader = ByteReader(flagged.bytes, range: 0..<flagged.bytes.count)
        #expect(try TableDefinition(from: &reader) == Samples.dynamo)
        #expect(flagged.bytes[Samples.table.name.utf8.count + 1] == 0x80, "multi-primary (0) with the schema flag")
    }

    @Test func doublesKeepTheirExactBits() throws {
        let doubles: [Double] = [-0.0, 0.0, 1e300, -1e300, .leastNonzeroMagnitude, .greatestFiniteMagnitude, 0.1]
        let frame = WireFrame.message(.replication(.entries([LogEntry(origin: Samples.usEast, sequence: 1, timestamp: .zero, payload: .item(
            table: Samples.catalogRecord, key: Samples.keys[0],
            record: ItemRecord(vector: VersionVector([Samples.usEast: 1]), version: Samples.version,
                               root: .array(doubles.map(JSONValue.double)))))])))
        guard case .message(.replication(.entries(let entries))) = try Samples.decodeAll(encode(frame)).first,
              case .item(_, _, let record) = entries.first?.payload, case .array(let values) = record.root else {
            Issue.record("the frame did not decode to one item entry")
            return
        }
        let bits = values.compactMap { value -> UInt64? in
            if case .double(let double) = value { return double.bitPattern }
            return nil
        }
        #expect(bits == doubles.map(\.bitPattern))
    }

    /// Issue 15, item 9: integers above `Int64.max` keep their value through the codec, and
    /// each number has one encoding.
    @Test func unsignedIntegersRoundTripAndEachNumberHasOneEncoding() throws {
        let values: [JSONValue] = [.unsignedInteger(.max), .unsignedInteger(1 << 63), .integer(.max), .integer(.min)]
        for value in values {
            var writer = ByteWriter()
            writer.write(value)
            var reader = ByteReader(writer.bytes)
            #expect(try reader.read(JSONValue.self) == value)
            try reader.expectEnd()
        }
        // A value that fits an Int64 under the unsigned tag is not canonical: refused.
        var reader = ByteReader([8, 5])
        #expect(throws: CodecError.self) { try reader.read(JSONValue.self) }
        // Written through the unsigned case, a small number still takes the integer's bytes.
        var small = ByteWriter()
        small.write(JSONValue.unsignedInteger(5))
        var integer = ByteWriter()
        integer.write(JSONValue.integer(5))
        #expect(small.bytes == integer.bytes)
    }

    @Test func unicodeKeysThatSwiftCallsEqualStayDistinctKeys() throws {
        let precomposed = try Key("\u{E9}")
        let decomposed = try Key("e\u{301}")
        let frame = WireFrame.message(.replication(.snapshot(SnapshotChunk(transfer: 1, index: 0, positions: Positions(), catalog: [], items: [
            SnapshotItem(table: Samples.table, key: precomposed, record: Samples.deletedRecord),
            SnapshotItem(table: Samples.table, key: decomposed, record: Samples.deletedRecord),
        ], isFinal: true))))
        guard case .message(.replication(.snapshot(let chunk))) = try Samples.decodeAll(encode(frame)).first else {
            Issue.record("no snapshot decoded")
            return
        }
        #expect(chunk.items.map(\.key.bytes) == [[0xC3, 0xA9], [0x65, 0xCC, 0x81]])
    }

    @Test func variableLengthIntegersRoundTripAtEveryWidth() throws {
        var values: [UInt64] = [0, 1, 127, 128, 255, 16_383, 16_384, UInt64.max, UInt64.max - 1]
        values += (0..<64).map { UInt64(1) << $0 }
        for value in values {
            var writer = ByteWriter()
            writer.writeVarUInt(value)
            var reader = ByteReader(writer.bytes)
            #expect(try reader.readVarUInt() == value)
            #expect(reader.remainingBytes == 0)
        }
        for value: Int64 in [0, -1, 1, Int64.min, Int64.max, -64, 64] {
            var writer = ByteWriter()
            writer.writeVarInt(value)
            var reader = ByteReader(writer.bytes)
            #expect(try reader.readVarInt() == value)
        }
    }
}
