import MeridianCore
import MeridianRaft
@testable import MeridianRegion
import MeridianStorage
import Testing

/// What a Raft group persists goes through the checksummed envelope; rows of earlier
/// builds (raw big-endian layouts and canonical JSON) still read; damaged rows never
/// decode into another value.
@Suite struct RaftCodecTests {
    static let version = ItemVersion(timestamp: HLCTimestamp(rawValue: 1_700_000_000_000 << 16 | 3), origin: try! RegionID("us-east"))
    static let key = try! Key("alex")
    static let item = StoredItem(key: key, value: .object(["city": .string("Pune")]), version: version)

    @Test func everyRecordRoundTrips() throws {
        let entry = RaftEntry(term: 7, index: 42, kind: .normal, data: [1, 2, 3])
        #expect(try RaftCodec.decodeEntry(RaftCodec.encode(entry)) == entry)
        let hardState = RaftHardState(term: 9, vote: "eu-west", commit: 40)
        #expect(try RaftCodec.decodeHardState(RaftCodec.encode(hardState)) == hardState)
        #expect(try RaftCodec.decodeHardState(RaftCodec.encode(RaftHardState(term: 1, vote: nil, commit: 0))).vote == nil)
        #expect(RaftCodec.decodeUndo(RaftCodec.encodeUndo(Self.item)) == .some(Self.item))
        #expect(RaftCodec.decodeUndo(RaftCodec.encodeUndo(nil)) == .some(nil))
        #expect(RaftCodec.decodeMark(RaftCodec.encodeMark(index: 10_000, term: 4))! == (10_000, 4))
        let tombstone = StoredItem(key: try Key("gone"), value: nil, version: Self.version)
        #expect(RaftCodec.decodeSnapshotItems(RaftCodec.encodeSnapshotItems([Self.item, tombstone])) == [Self.item, tombstone])
        for precondition in [WritePrecondition.none, .versionMatches(Self.version.token), .itemAbsent] {
            let command = RaftCommand(key: Self.key, value: .integer(5), isDelete: false, precondition: precondition, version: Self.version)
            #expect(RaftCommand(bytes: command.bytes) == command)
        }
        let delete = RaftCommand(key: Self.key, value: nil, isDelete: true, precondition: .none, version: Self.version)
        #expect(RaftCommand(bytes: delete.bytes) == delete)
    }

    @Test func rowsOfEarlierBuildsStillRead() throws {
        let entry = RaftEntry(term: 7, index: 42, kind: .normal, data: Array("{}".utf8))
        #expect(try RaftCodec.decodeEntry(UInt64(7).bigEndianBytes + UInt64(42).bigEndianBytes + [RaftEntry.Kind.normal.rawValue] + Array("{}".utf8)) == entry)
        #expect(try RaftCodec.decodeHardState(UInt64(9).bigEndianBytes + UInt64(40).bigEndianBytes + Array("eu-west".utf8))
                == RaftHardState(term: 9, vote: "eu-west", commit: 40))
        #expect(RaftCodec.decodeMark(UInt64(10_000).bigEndianBytes + UInt64(4).bigEndianBytes)! == (10_000, 4))
        #expect(RaftCodec.decodeUndo([0]) == .some(nil))
        let undoJSON = JSONValue.object(["key": .string("alex"), "ts": .string(String(Self.version.timestamp.rawValue)),
                                         "origin": .string("us-east"), "value": .object(["city": .string("Pune")])]).canonicalBytes
        #expect(RaftCodec.decodeUndo([1] + undoJSON) == .some(Self.item))
        let commandJSON = JSONValue.object(["op": .string("put"), "key": .string("alex"), "ts": .string(String(Self.version.timestamp.rawValue)),
                                            "origin": .string("us-east"), "value": .integer(5), "if_absent": .bool(true)]).canonicalBytes
        #expect(RaftCommand(bytes: commandJSON) == RaftCommand(key: Self.key, value: .integer(5), isDelete: false, precondition: .itemAbsent, version: Self.version))
    }

    @Test func aFlippedBitInAnyRecordIsRefused() throws {
        let records: [[UInt8]] = [
            RaftCodec.encode(RaftEntry(term: 7, index: 42, kind: .normal, data: [1, 2, 3])),
            RaftCodec.encode(RaftHardState(term: 9, vote: "eu-west", commit: 40)),
            RaftCodec.encodeUndo(Self.item),
            RaftCodec.encodeMark(index: 10_000, term: 4),
            RaftCodec.encodeSnapshotItems([Self.item]),
            RaftCommand(key: Self.key, value: .integer(5), isDelete: false, precondition: .none, version: Self.version).bytes,
        ]
        for (number, record) in records.enumerated() {
            // Every bit after the tag (a flipped tag reads as a legacy row, checked below).
            for position in 1..<record.count {
                for bit in 0..<8 {
                    var damaged = record
                    damaged[position] ^= 1 << bit
                    switch number {
                    case 0: #expect(throws: MeridianError.self) { try RaftCodec.decodeEntry(damaged) }
                    case 1: #expect(throws: MeridianError.self) { try RaftCodec.decodeHardState(damaged) }
                    case 2: #expect(RaftCodec.decodeUndo(damaged) == nil)
                    case 3: #expect(RaftCodec.decodeMark(damaged) == nil)
                    case 4: #expect(RaftCodec.decodeSnapshotItems(damaged) == nil)
                    default: #expect(RaftCommand(bytes: damaged) == nil)
                    }
                }
            }
        }
    }
}
