import MeridianCodec
import MeridianCore
import MeridianRegion
import MeridianReplication
import Testing
@testable import MeridianWire

struct FrameDecoderTests {
    static let stream: [UInt8] = Samples.frames.flatMap(encode)

    @Test func byteByByteDeliveryDecodesTheSameFrames() throws {
        var decoder = FrameDecoder()
        var frames: [WireFrame] = []
        for byte in Self.stream {
            decoder.append(CollectionOfOne(byte))
            while let frame = try decoder.nextFrame() { frames.append(frame) }
        }
        #expect(frames == Samples.frames)
        #expect(decoder.bufferedBytes == 0)
    }

    @Test(arguments: [2, 3, 7, 64, 1000])
    func chunkedDeliveryDecodesTheSameFrames(chunkBytes: Int) throws {
        var decoder = FrameDecoder()
        var frames: [WireFrame] = []
        for start in stride(from: 0, to: Self.stream.count, by: chunkBytes) {
            decoder.append(Self.stream[start..<min(start + chunkBytes, Self.stream.count)])
            while let frame = try decoder.nextFrame() { frames.append(frame) }
        }
        #expect(frames == Samples.frames)
    }

    @Test func anIncompleteFrameWaitsForMoreBytes() throws {
        let bytes = encode(Samples.frames[5])
        var decoder = FrameDecoder()
        for prefix in [0, 1, 3, 4, 5, bytes.count - 1] {
            decoder = FrameDecoder()
            decoder.append(bytes[..<prefix])
            #expect(try decoder.nextFrame() == nil, "a prefix of \(prefix) bytes is not an error")
        }
        decoder.append(bytes[(bytes.count - 1)...])
        #expect(try decoder.nextFrame() == Samples.frames[5])
    }

    @Test func anOversizedLengthPrefixIsRefusedBeforeItsPayloadArrives() {
        for length in [UInt32.max, UInt32(Wire.frameBytesMax - Wire.lengthPrefixBytes + 1)] {
            var decoder = FrameDecoder()
            decoder.append([UInt8(length >> 24), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff)])
            #expect(throws: WireError.frameTooLarge) { try decoder.nextFrame() }
            #expect(decoder.bufferedBytes == 0, "nothing of the frame was kept")
        }
    }

    @Test func aFrameOfExactlyTheLimitIsAwaited() throws {
        let length = UInt32(Wire.frameBytesMax - Wire.lengthPrefixBytes)
        var decoder = FrameDecoder()
        decoder.append([UInt8(length >> 24), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff), 3])
        #expect(try decoder.nextFrame() == nil)
    }

    @Test func aOneMebibyteValueFitsInAFrame() throws {
        let value = JSONValue.string(String(repeating: "x", count: Limits.valueBytesMaxDefault))
        let frame = WireFrame.message(.replication(.entries([LogEntry(origin: Samples.usEast, sequence: 1, timestamp: .zero, payload: .item(
            table: Samples.catalogRecord, key: Samples.keys[4],
            record: ItemRecord(vector: Samples.vector, version: Samples.version, root: value)))])))
        let bytes = encode(frame)
        #expect(bytes.count <= Wire.frameBytesMax)
        #expect(try Samples.decodeAll(bytes) == [frame])
    }

    @Test func aDeclaredFrameWhosePayloadIsShortIsTruncated() {
        var bytes = encode(Samples.frames[7])
        bytes.removeLast()
        bytes[3] -= 1
        #expect(throws: WireError.truncated) { try Samples.decodeAll(bytes) }
    }

    @Test func aDeclaredFrameWithBytesLeftOverIsInvalid() {
        var bytes = encode(Samples.frames[7])
        bytes.append(0)
        bytes[3] += 1
        #expect(throws: WireError.invalidPayload) { try Samples.decodeAll(bytes) }
    }

    @Test func anEmptyFrameIsInvalid() {
        #expect(throws: WireError.invalidPayload) { try Samples.decodeAll([0, 0, 0, 0]) }
    }

    @Test(arguments: [UInt8(0), 9, 200, 255])
    func anUnknownKindIsRefused(kind: UInt8) {
        #expect(throws: WireError.unknownKind) { try Samples.decodeAll([0, 0, 0, 1, kind]) }
    }

    @Test(arguments: [UInt16(0), 1, Wire.protocolVersion + 1, UInt16.max])
    func aHelloOfAnUnsupportedVersionIsRefused(version: UInt16) {
        let bytes = encode(.hello(Hello(protocolVersion: version, clusterID: "dev", region: Samples.usEast)))
        #expect(throws: WireError.unsupportedVersion) { try Samples.decodeAll(bytes) }
    }

    @Test func aHelloWithAnEmptyOrOverlongClusterIDIsRefused() {
        for clusterID in ["", String(repeating: "c", count: Wire.clusterIDBytesMax + 1)] {
            let bytes = encode(.hello(Hello(clusterID: clusterID, region: Samples.usEast)))
            #expect(throws: WireError.invalidPayload) { try Samples.decodeAll(bytes) }
        }
    }

    @Test func anErrorIsFinal() throws {
        var decoder = FrameDecoder()
        decoder.append([0, 0, 0, 1, 99])
        #expect(throws: WireError.unknownKind) { try decoder.nextFrame() }
        decoder.append(encode(Samples.frames[0]))
        #expect(throws: WireError.unknownKind) { try decoder.nextFrame() }
    }

    @Test func framesBeforeAnErrorAreDelivered() throws {
        var decoder = FrameDecoder()
        decoder.append(encode(Samples.frames[0]) + [0, 0, 0, 1, 99])
        #expect(try decoder.nextFrame() == Samples.frames[0])
        #expect(throws: WireError.unknownKind) { try decoder.nextFrame() }
    }

    @Test func aHostileCountIsRefusedWithoutAllocatingForIt() {
        let bytes = Samples.handmadeFrame(kind: FrameKind.entries.rawValue) { $0.writeVarUInt(UInt64(1) << 62) }
        #expect(throws: WireError.truncated) { try Samples.decodeAll(bytes) }
        let string = Samples.handmadeFrame(kind: FrameKind.hello.rawValue) {
            $0.writeUInt16(Wire.protocolVersion)
            $0.writeVarUInt(UInt64.max)
        }
        #expect(throws: WireError.truncated) { try Samples.decodeAll(string) }
    }
}

/// Payloads that are well framed but break a rule of their content.
struct HostilePayloadTests {
    static let catchUp = FrameKind.catchUp.rawValue
    static let entries = FrameKind.entries.rawValue

    static func entry(_ writePayload: @escaping (inout ByteWriter) -> Void) -> [UInt8] {
        Samples.handmadeFrame(kind: entries) { writer in
            writer.writeCount(1)
            writer.write(Samples.usEast)
            writer.writeVarUInt(1)
            writer.write(HLCTimestamp.zero)
            writePayload(&writer)
        }
    }

    static func itemEntry(presence: UInt8 = 1, root: @escaping (inout ByteWriter) -> Void) -> [UInt8] {
        entry { writer in
            writer.writeUInt8(0)
            writer.write(Samples.catalogRecord)
            writer.write(Samples.keys[0])
            writer.write(VersionVector([Samples.usEast: 1]))
            writer.write(Samples.version)
            writer.writeUInt8(presence)
            root(&writer)
            writer.writeCount(0)
            writer.writeCount(0)
        }
    }

    static let cases: [(String, [UInt8])] = [
        ("an invalid region name", Samples.handmadeFrame(kind: catchUp) { $0.writeCount(1); $0.writeString("US-EAST"); $0.writeVarUInt(1) }),
        ("regions out of order", Samples.handmadeFrame(kind: catchUp) {
            $0.writeCount(2); $0.writeString("us-east"); $0.writeVarUInt(1); $0.writeString("eu-west"); $0.writeVarUInt(1)
        }),
        ("a region listed twice", Samples.handmadeFrame(kind: catchUp) {
            $0.writeCount(2); $0.writeString("us-east"); $0.writeVarUInt(1); $0.writeString("us-east"); $0.writeVarUInt(2)
        }),
        ("a zero position", Samples.handmadeFrame(kind: catchUp) { $0.writeCount(1); $0.writeString("us-east"); $0.writeVarUInt(0) }),
        ("an overlong integer", Samples.handmadeFrame(kind: catchUp) { $0.writeUInt8(0x80); $0.writeUInt8(0x00) }),
        ("an integer past 64 bits", Samples.handmadeFrame(kind: catchUp) {
            for _ in 0..<9 { $0.writeUInt8(0xff) }
            $0.writeUInt8(0x02)
        }),
        ("invalid UTF-8", Samples.handmadeFrame(kind: catchUp) { $0.writeCount(1); $0.writeBytes([0x75, 0xC3]); $0.writeVarUInt(1) }),
        ("a zero sequence", Samples.handmadeFrame(kind: entries) {
            $0.writeCount(1); $0.write(Samples.usEast); $0.writeVarUInt(0); $0.write(HLCTimestamp.zero); $0.writeUInt8(2); $0.write(Samples.table)
        }),
        ("an unknown payload tag", entry { $0.writeUInt8(3) }),
        ("an invalid table name", entry { $0.writeUInt8(2); $0.writeString("Orders") }),
        ("an empty key", entry { $0.writeUInt8(0); $0.write(Samples.catalogRecord); $0.writeBytes([]) }),
        ("a key over 1024 bytes", entry {
            $0.writeUInt8(0); $0.write(Samples.catalogRecord); $0.writeBytes([UInt8](repeating: 0x6b, count: Limits.keyBytesMax + 1))
        }),
        ("a key of invalid UTF-8", entry { $0.writeUInt8(0); $0.write(Samples.catalogRecord); $0.writeBytes([0xFF]) }),
        ("an unknown JSON tag", itemEntry { $0.writeUInt8(8) }),
        ("a NaN", itemEntry { $0.writeUInt8(4); $0.writeUInt64(Double.nan.bitPattern) }),
        ("an infinity", itemEntry { $0.writeUInt8(4); $0.writeUInt64(Double.infinity.bitPattern) }),
        ("JSON nested too deep", itemEntry { writer in
            for _ in 0...Limits.jsonDepthMax { writer.writeUInt8(6); writer.writeCount(1) }
            writer.writeUInt8(0)
        }),
        ("object keys out of order", itemEntry { $0.writeUInt8(7); $0.writeCount(2); $0.writeString("b"); $0.writeUInt8(0); $0.writeString("a"); $0.writeUInt8(0) }),
        ("canonically equivalent object keys", itemEntry {
            $0.writeUInt8(7); $0.writeCount(2); $0.writeString("e\u{301}"); $0.writeUInt8(0); $0.writeString("\u{E9}"); $0.writeUInt8(0)
        }),
        ("a presence byte of 2", itemEntry(presence: 2) { $0.writeUInt8(0) }),
        ("a multi-primary table without a conflict policy", entry { writer in
            writer.writeUInt8(1)
            writer.write(Samples.table); writer.writeUInt8(1)
            writer.write(Samples.table); writer.writeUInt8(0); writer.writeUInt8(0); writer.writeUInt8(0); writer.writeUInt8(0)
            writer.writeArray([Samples.usEast])
            writer.write(Samples.version); writer.write(HLCTimestamp.zero)
        }),
        ("a primary table whose primary is not among its regions", entry { writer in
            writer.writeUInt8(1)
            writer.write(CatalogRecord(name: Samples.table, definition: TableDefinition(
                name: Samples.table, mode: .primary, primary: Samples.apSouth, commit: .quorum, regions: [Samples.usEast]),
                version: Samples.version, deletedBefore: .zero))
        }),
        ("unsorted table regions", entry { writer in
            writer.writeUInt8(1)
            writer.write(CatalogRecord(name: Samples.table, definition: TableDefinition(
                name: Samples.table, mode: .strong, regions: [Samples.usEast, Samples.euWest]), version: Samples.version, deletedBefore: .zero))
        }),
        ("a DynamoDB schema with an invalid table name", entry { writer in
            var definition = Samples.dynamo
            definition.dynamo?.tableName = "no spaces allowed"
            writer.writeUInt8(1)
            writer.write(CatalogRecord(name: Samples.table, definition: definition, version: Samples.version, deletedBefore: .zero))
        }),
        ("a definition of another table", entry { writer in
            writer.writeUInt8(1)
            writer.write(CatalogRecord(name: try! TableName("other"), definition: Samples.strong, version: Samples.version, deletedBefore: .zero))
        }),
        ("a boolean byte of 2", Samples.handmadeFrame(kind: FrameKind.snapshot.rawValue) {
            $0.writeVarUInt(1); $0.writeVarUInt(0); $0.writeCount(0); $0.writeCount(0); $0.writeCount(0); $0.writeUInt8(2)
        }),
    ]

    @Test(arguments: cases)
    func aMalformedPayloadIsRefused(name: String, bytes: [UInt8]) {
        #expect(throws: WireError.invalidPayload, "\(name)") { try Samples.decodeAll(bytes) }
    }
}
