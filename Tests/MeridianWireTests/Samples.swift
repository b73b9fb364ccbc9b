import MeridianCodec
import MeridianCore
import MeridianRegion
import MeridianRaft
import MeridianReplication
@testable import MeridianWire

/// Rich sample values: every message kind, every payload kind and JSON's edge cases.
enum Samples {
    static let usEast = try! RegionID("us-east")
    static let euWest = try! RegionID("eu-west")
    static let apSouth = try! RegionID("ap-south")
    static let table = try! TableName("orders_2024-eu")

    static func timestamp(_ milliseconds: UInt64, _ logical: UInt16 = 0) -> HLCTimestamp {
        HLCTimestamp(physicalMilliseconds: milliseconds, logical: logical)
    }

    static let version = ItemVersion(timestamp: timestamp(1_700_000_000_123, 7), origin: usEast)
    static let laterVersion = ItemVersion(timestamp: timestamp(1_700_000_000_456, 0), origin: euWest)

    /// Nested JSON with unicode keys, both Int64 extremes and awkward doubles.
    static let richJSON: JSONValue = .object([
        "": .string(""),
        "ключ": .string("значение ✓"),
        "日本語": .array([.integer(Int64.min), .integer(Int64.max), .integer(0), .integer(-1)]),
        "e\u{301}": .double(-0.0),
        "doubles": .array([.double(1e300), .double(-1e300), .double(.leastNonzeroMagnitude), .double(0.1), .double(-2.5)]),
        "flags": .array([.bool(true), .bool(false), .null]),
        "nested": .object(["deeper": .object(["deepest": .array([.array([]), .object([:]), .string("🎉 party")])])]),
    ])

    /// An array nested exactly `Limits.jsonDepthMax` levels deep (the deepest accepted).
    static let deepestJSON: JSONValue = (0..<Limits.jsonDepthMax).reduce(JSONValue.integer(42)) { inner, _ in .array([inner]) }

    static let vector = VersionVector([usEast: 3, euWest: UInt64.max, apSouth: 1])

    static let lwwRecord = ItemRecord(vector: vector, version: version, root: richJSON)
    static let mergeRecord = ItemRecord(vector: vector, version: laterVersion, root: .object([:]), fields: [
        "text": FieldEntry(value: .string("edited"), version: laterVersion),
        "reactions": FieldEntry(value: .array([.string("+1")]), version: version),
        "dropped": FieldEntry(value: nil, version: laterVersion),
        "ñandú": FieldEntry(value: .double(-0.0), version: version),
    ])
    static let siblingsRecord = ItemRecord(vector: vector, version: laterVersion, root: .integer(2), siblings: [
        Sibling(value: .integer(1), version: version, dot: Dot(region: usEast, counter: 3)),
        Sibling(value: nil, version: version, dot: Dot(region: apSouth, counter: 1)),
        Sibling(value: deepestJSON, version: laterVersion, dot: Dot(region: euWest, counter: UInt64.max)),
    ])
    static let deletedRecord = ItemRecord(vector: VersionVector([usEast: 1]), version: version, root: nil)

    static let multiPrimary = TableDefinition(name: table, mode: .multiPrimary, conflict: .merge, regions: [apSouth, euWest, usEast])
    static let primary = TableDefinition(name: table, mode: .primary, primary: euWest, commit: .local, regions: [euWest])
    static let strong = TableDefinition(name: table, mode: .strong, regions: [apSouth, euWest, usEast])
    static let dynamo = TableDefinition(name: table, mode: .multiPrimary, conflict: .lww, regions: [apSouth, euWest, usEast],
                                        dynamo: DynamoSchema(tableName: "Music.Albums", hashKey: .init(name: "artist", type: .string),
                                                             rangeKey: .init(name: "year", type: .number), billingMode: "PROVISIONED",
                                                             createdMilliseconds: 1_795_802_240_341))

    static let catalogRecord = CatalogRecord(name: table, definition: multiPrimary, version: version, deletedBefore: .zero)
    static let deletedCatalogRecord = CatalogRecord(name: table, definition: nil, version: laterVersion,
                                                    deletedBefore: HLCTimestamp(rawValue: UInt64.max))

    static let keys: [Key] = [
        try! Key("plain"), try! Key("ключ/🎉"), try! Key("\u{E9}"), try! Key("e\u{301}"),
        try! Key(String(repeating: "k", count: Limits.keyBytesMax)),
    ]

    static let positions = Positions([usEast: 12, euWest: UInt64.max, apSouth: 1])

    static let entries: [LogEntry] = [
        LogEntry(origin: usEast, sequence: 1, timestamp: version.timestamp,
                 payload: .item(table: catalogRecord, key: keys[1], record: lwwRecord)),
        LogEntry(origin: usEast, sequence: 2, timestamp: version.timestamp,
                 payload: .item(table: catalogRecord, key: keys[2], record: mergeRecord)),
        LogEntry(origin: euWest, sequence: 300, timestamp: laterVersion.timestamp,
                 payload: .item(table: catalogRecord, key: keys[3], record: siblingsRecord)),
        LogEntry(origin: euWest, sequence: 301, timestamp: laterVersion.timestamp,
                 payload: .item(table: catalogRecord, key: keys[4], record: deletedRecord)),
        LogEntry(origin: apSouth, sequence: 7, timestamp: .zero, payload: .catalog(catalogRecord)),
        LogEntry(origin: apSouth, sequence: 8, timestamp: .zero, payload: .catalog(deletedCatalogRecord)),
        LogEntry(origin: apSouth, sequence: 9, timestamp: .zero,
                 payload: .catalog(CatalogRecord(name: table, definition: primary, version: version, deletedBefore: .zero))),
        LogEntry(origin: apSouth, sequence: 10, timestamp: .zero,
                 payload: .catalog(CatalogRecord(name: table, definition: strong, version: version, deletedBefore: .zero))),
        LogEntry(origin: euWest, sequence: 305, timestamp: laterVersion.timestamp,
                 payload: .catalog(CatalogRecord(name: table, definition: dynamo, version: version, deletedBefore: .zero))),
        LogEntry(origin: usEast, sequence: UInt64.max, timestamp: HLCTimestamp(rawValue: UInt64.max), payload: .withheld(table: table)),
    ]

    static let heartbeat = Heartbeat(latestSequence: 99, latestTimestamp: laterVersion.timestamp,
                                     wallMilliseconds: 1_700_000_000_999, applied: positions)

    static let snapshot = SnapshotChunk(transfer: 5, index: 3, positions: positions, catalog: [catalogRecord, deletedCatalogRecord], items: [
        SnapshotItem(table: table, key: keys[0], record: lwwRecord),
        SnapshotItem(table: table, key: keys[1], record: siblingsRecord),
    ], isFinal: false)

    static let hello = Hello(clusterID: "meridian-dev ☃", region: euWest)

    /// One frame of every kind, with rich content.
    static let frames: [WireFrame] = [
        .hello(hello),
        .hello(Hello(protocolVersion: Wire.protocolVersionMin, clusterID: "c", region: usEast)),
        .message(.replication(.catchUp(Positions()))),
        .message(.replication(.catchUp(positions))),
        .message(.replication(.entries([]))),
        .message(.replication(.entries(entries))),
        .message(.replication(.ack(positions))),
        .message(.replication(.heartbeat(heartbeat))),
        .message(.replication(.heartbeat(Heartbeat(latestSequence: 0, latestTimestamp: .zero, wallMilliseconds: 0, applied: Positions())))),
        .message(.replication(.snapshot(snapshot))),
        .message(.replication(.snapshot(SnapshotChunk(transfer: UInt64.max, index: UInt64.max, positions: Positions(), catalog: [], items: [], isFinal: true)))),
        .message(.replication(.copyRequest(try! TableName("orders")))),
        .message(.raft([])),
        .message(.raft(raftEnvelopes)),
    ]

    /// Raft messages of two groups: an append with entries, a snapshot, a heartbeat with a round.
    static let raftEnvelopes: [RaftEnvelope] = [
        RaftEnvelope(table: table, incarnation: timestamp(1_700_000_000_000, 3), message: RaftMessage(
            kind: .append, from: "us-east", to: "eu-west", term: 7, logTerm: 6, index: 41,
            entries: [RaftEntry(term: 7, index: 42, kind: .empty), RaftEntry(term: 7, index: 43, data: Array("{\"op\":\"put\"}".utf8))],
            commit: 40)),
        RaftEnvelope(table: try! TableName("accounts"), incarnation: .zero, message: RaftMessage(
            kind: .snapshot, from: "ap-south", to: "us-east", term: UInt64.max, commit: 3,
            snapshot: RaftSnapshot(index: 3, term: 2, membership: RaftMembership(voters: ["ap-south", "eu-west", "us-east"], learners: ["us-west"]), data: [0, 1, 255]))),
        RaftEnvelope(table: table, incarnation: .zero, message: RaftMessage(
            kind: .heartbeatResponse, from: "eu-west", to: "us-east", term: 1, reject: true, rejectHint: 9, context: [1, 0, 0, 0, 0, 0, 0, 0])),
    ]

    /// Short frames of every kind: the fuzzer's seeds (small, so that a million mutations stay fast).
    static let smallFrames: [WireFrame] = [
        .hello(Hello(clusterID: "dev", region: usEast)),
        .message(.replication(.catchUp(Positions([usEast: 3, euWest: 300])))),
        .message(.replication(.copyRequest(try! TableName("t")))),
        .message(.replication(.ack(Positions([apSouth: 1])))),
        .message(.replication(.entries([LogEntry(origin: usEast, sequence: 4, timestamp: version.timestamp, payload: .withheld(table: table))]))),
        .message(.replication(.entries([LogEntry(origin: euWest, sequence: 1, timestamp: version.timestamp, payload: .catalog(catalogRecord))]))),
        .message(.replication(.entries([LogEntry(origin: euWest, sequence: 2, timestamp: version.timestamp, payload: .item(
            table: CatalogRecord(name: table, definition: nil, version: version, deletedBefore: .zero), key: keys[2],
            record: ItemRecord(vector: VersionVector([usEast: 1]), version: version,
                               root: .object(["a": .array([.integer(-1), .double(0.5), .null, .bool(true)]), "é": .string("x")]))))]))),
        .message(.replication(.entries([LogEntry(origin: apSouth, sequence: 9, timestamp: .zero, payload: .item(
            table: CatalogRecord(name: table, definition: strong, version: version, deletedBefore: .zero), key: keys[0],
            record: ItemRecord(vector: VersionVector([euWest: 2]), version: version, root: .object([:]), fields: [
                "f": FieldEntry(value: .integer(7), version: version), "g": FieldEntry(value: nil, version: version)])))]))),
        .message(.replication(.heartbeat(Heartbeat(latestSequence: 5, latestTimestamp: version.timestamp, wallMilliseconds: 1_700_000_000_000,
                                      applied: Positions([usEast: 5]))))),
        .message(.replication(.snapshot(SnapshotChunk(transfer: 1, index: 0, positions: Positions([usEast: 1]), catalog: [], items: [
            SnapshotItem(table: table, key: keys[0], record: ItemRecord(vector: VersionVector([usEast: 1]), version: version, root: .integer(1),
                siblings: [Sibling(value: .string("s"), version: version, dot: Dot(region: usEast, counter: 1))]))], isFinal: true)))),
    ]

    /// Builds a frame by hand, for payloads the encoder would never produce.
    static func handmadeFrame(kind: UInt8, _ writePayload: (inout ByteWriter) -> Void) -> [UInt8] {
        var payload = ByteWriter()
        writePayload(&payload)
        var frame = ByteWriter()
        frame.writeUInt32(UInt32(payload.bytes.count + 1))
        frame.writeUInt8(kind)
        return frame.bytes + payload.bytes
    }

    /// Decodes bytes that must hold exactly the frames returned.
    static func decodeAll(_ bytes: [UInt8]) throws(WireError) -> [WireFrame] {
        var decoder = FrameDecoder()
        decoder.append(bytes)
        var frames: [WireFrame] = []
        while let frame = try decoder.nextFrame() { frames.append(frame) }
        return frames
    }
}
