import MeridianCodec
import MeridianCore
import MeridianRaft
import MeridianStorage

/// A write command carried by a Raft entry: a put or a delete, its condition, and the
/// version the leader gave it.
struct RaftCommand: Sendable, Equatable {
    var key: Key
    /// The value to store; `nil` for a delete.
    var value: JSONValue?
    var isDelete: Bool
    var precondition: WritePrecondition
    var version: ItemVersion

    init(key: Key, value: JSONValue?, isDelete: Bool, precondition: WritePrecondition, version: ItemVersion) {
        self.key = key
        self.value = value
        self.isDelete = isDelete
        self.precondition = precondition
        self.version = version
    }

    /// The entry data: a `StoredRecord` of format 1 (see `RaftCodec`).
    var bytes: [UInt8] {
        StoredRecord.encode(format: 1, capacity: key.bytes.count + 64) { writer in
            writer.writeBool(isDelete)
            writer.write(key)
            writer.writeOptional(value)
            switch precondition {
            case .none: writer.writeUInt8(0)
            case .versionMatches(let token):
                writer.writeUInt8(1)
                writer.writeString(token)
            case .itemAbsent: writer.writeUInt8(2)
            }
            writer.write(version)
        }
    }

    /// Decodes a command; `nil` for bytes that are not one (never trapped on). Reads the
    /// canonical JSON commands of protocol version 2 too, which older logs hold.
    init?(bytes: [UInt8]) {
        guard StoredRecord.isEnveloped(bytes) else {
            self.init(legacyJSON: bytes)
            return
        }
        do {
            var (format, reader) = try StoredRecord.verified(bytes)
            guard format == 1 else { return nil }
            let isDelete = try reader.readBool()
            let key = try reader.read(Key.self)
            let value = try reader.readOptional(JSONValue.self)
            let precondition: WritePrecondition
            switch try reader.readUInt8() {
            case 0: precondition = .none
            case 1: precondition = .versionMatches(try reader.readString())
            case 2: precondition = .itemAbsent
            default: return nil
            }
            let version = try reader.read(ItemVersion.self)
            try reader.expectEnd()
            guard isDelete == (value == nil) else { return nil }
            self.init(key: key, value: value, isDelete: isDelete, precondition: precondition, version: version)
        } catch {
            return nil
        }
    }

    /// A command as protocol version 2 wrote it: canonical JSON.
    private init?(legacyJSON bytes: [UInt8]) {
        guard case .object(let fields)? = try? JSONValue.decodeCanonical(bytes),
              case .string(let op)? = fields["op"], op == "put" || op == "delete",
              case .string(let keyString)? = fields["key"], let key = try? Key(keyString),
              case .string(let tsString)? = fields["ts"], let raw = UInt64(tsString),
              case .string(let originName)? = fields["origin"], let origin = try? RegionID(originName)
        else { return nil }
        var precondition = WritePrecondition.none
        if case .string(let token)? = fields["if_match"] { precondition = .versionMatches(token) }
        if case .bool(true)? = fields["if_absent"] { precondition = .itemAbsent }
        self.init(key: key, value: fields["value"], isDelete: op == "delete", precondition: precondition,
                  version: ItemVersion(timestamp: HLCTimestamp(rawValue: raw), origin: origin))
    }
}

/// The byte layouts of what a group persists: log entries, hard state, undo records,
/// the compaction mark and snapshot data.
///
/// Each is a `StoredRecord` (checksummed, format 1) in the notation of MeridianCodec:
/// - entry: the `RaftEntry` layout (term, index, kind, data);
/// - hard state: term `var`, commit `var`, vote `opt(string)`;
/// - undo: `opt(item)`, where an item is key, value `opt(JSON)`, version;
/// - mark: index `var`, term `var`;
/// - snapshot data: `array(item)`.
///
/// Rows written by builds before the envelope (storage schema 3 and older) still read:
/// entries as 8-byte term, 8-byte index, kind byte, data; hard state as 8-byte term,
/// 8-byte commit, vote's UTF-8; undo as `[0]` or `[1]` and canonical JSON; the mark as
/// 8-byte index and 8-byte term. Their first byte is never the envelope's tag (terms
/// and indexes below 2^57).
enum RaftCodec {
    static func encode(_ entry: RaftEntry) -> [UInt8] {
        StoredRecord.encode(entry)
    }

    static func decodeEntry(_ bytes: [UInt8]) throws(MeridianError) -> RaftEntry {
        if StoredRecord.isEnveloped(bytes) {
            do { return try StoredRecord.decode(bytes, as: RaftEntry.self) } catch { throw corrupt("Raft entry", error) }
        }
        guard bytes.count >= 17, let term = UInt64(bigEndianBytes: Array(bytes[0..<8])), let index = UInt64(bigEndianBytes: Array(bytes[8..<16])),
              let kind = RaftEntry.Kind(rawValue: bytes[16])
        else { throw corrupt("Raft entry", nil) }
        return RaftEntry(term: term, index: index, kind: kind, data: Array(bytes[17...]))
    }

    static func encode(_ state: RaftHardState) -> [UInt8] {
        StoredRecord.encode(format: 1) { writer in
            writer.writeVarUInt(state.term)
            writer.writeVarUInt(state.commit)
            writer.writeBool(state.vote != nil)
            if let vote = state.vote { writer.writeString(vote) }
        }
    }

    static func decodeHardState(_ bytes: [UInt8]) throws(MeridianError) -> RaftHardState {
        if StoredRecord.isEnveloped(bytes) {
            do {
                var reader = try payload(bytes)
                let term = try reader.readVarUInt()
                let commit = try reader.readVarUInt()
                let vote = try reader.readBool() ? try reader.readString() : nil
                try reader.expectEnd()
                return RaftHardState(term: term, vote: vote, commit: commit)
            } catch {
                throw corrupt("Raft hard state", error)
            }
        }
        guard bytes.count >= 16, let term = UInt64(bigEndianBytes: Array(bytes[0..<8])), let commit = UInt64(bigEndianBytes: Array(bytes[8..<16])) else {
            throw corrupt("Raft hard state", nil)
        }
        let vote = String(decoding: bytes[16...], as: UTF8.self)
        return RaftHardState(term: term, vote: vote.isEmpty ? nil : vote, commit: commit)
    }

    /// The item an entry applied ahead of its commit replaced (`nil`: there was none).
    static func encodeUndo(_ item: StoredItem?) -> [UInt8] {
        StoredRecord.encode(format: 1) { writer in
            writer.writeBool(item != nil)
            if let item { write(item, to: &writer) }
        }
    }

    /// The replaced item (`.some(nil)`: there was none); `nil` when the bytes are not an undo record.
    static func decodeUndo(_ bytes: [UInt8]) -> StoredItem?? {
        if StoredRecord.isEnveloped(bytes) {
            guard var reader = try? payload(bytes), let present = try? reader.readBool() else { return nil }
            guard present else { return (try? reader.expectEnd()) != nil ? .some(nil) : nil }
            guard let item = try? readItem(&reader), (try? reader.expectEnd()) != nil else { return nil }
            return .some(item)
        }
        guard let first = bytes.first else { return nil }
        if first == 0 { return .some(nil) }
        guard case .object(let fields)? = try? JSONValue.decodeCanonical(bytes.dropFirst()),
              case .string(let keyString)? = fields["key"], let key = try? Key(keyString),
              case .string(let ts)? = fields["ts"], let raw = UInt64(ts),
              case .string(let originName)? = fields["origin"], let origin = try? RegionID(originName)
        else { return nil }
        return .some(StoredItem(key: key, value: fields["value"], version: ItemVersion(timestamp: HLCTimestamp(rawValue: raw), origin: origin)))
    }

    /// The point a log was compacted through (or a snapshot installed at): index and term.
    static func encodeMark(index: UInt64, term: UInt64) -> [UInt8] {
        StoredRecord.encode(format: 1) { writer in
            writer.writeVarUInt(index)
            writer.writeVarUInt(term)
        }
    }

    static func decodeMark(_ bytes: [UInt8]?) -> (index: UInt64, term: UInt64)? {
        guard let bytes else { return nil }
        if StoredRecord.isEnveloped(bytes) {
            guard var reader = try? payload(bytes), let index = try? reader.readVarUInt(), let term = try? reader.readVarUInt(),
                  (try? reader.expectEnd()) != nil else { return nil }
            return (index, term)
        }
        guard bytes.count == 16, let index = UInt64(bigEndianBytes: Array(bytes[0..<8])),
              let term = UInt64(bigEndianBytes: Array(bytes[8..<16])) else { return nil }
        return (index, term)
    }

    /// A snapshot's data: the table's items, tombstones included.
    static func encodeSnapshotItems(_ items: [StoredItem]) -> [UInt8] {
        StoredRecord.encode(format: 1, capacity: 1024) { writer in
            writer.writeCount(items.count)
            for item in items { write(item, to: &writer) }
        }
    }

    static func decodeSnapshotItems(_ bytes: [UInt8]) -> [StoredItem]? {
        guard var reader = try? payload(bytes), let count = try? reader.readCount(elementBytesMin: 12) else { return nil }
        var items: [StoredItem] = []
        for _ in 0..<count {
            guard let item = try? readItem(&reader) else { return nil }
            items.append(item)
        }
        guard (try? reader.expectEnd()) != nil else { return nil }
        return items
    }

    static func estimatedBytes(_ command: RaftCommand) -> Int {
        command.key.bytes.count + (command.value?.canonicalBytes.count ?? 0) + 128
    }

    // MARK: Pieces

    /// key, value `opt(JSON)`, version.
    private static func write(_ item: StoredItem, to writer: inout ByteWriter) {
        writer.write(item.key)
        writer.writeOptional(item.value)
        writer.write(item.version)
    }

    private static func readItem(_ reader: inout ByteReader) throws(CodecError) -> StoredItem {
        StoredItem(key: try reader.read(Key.self), value: try reader.readOptional(JSONValue.self), version: try reader.read(ItemVersion.self))
    }

    /// The payload of an enveloped record of format 1.
    private static func payload(_ bytes: [UInt8]) throws(CodecError) -> ByteReader {
        let (format, reader) = try StoredRecord.verified(bytes)
        guard format == 1 else { throw CodecError.unknownFormat.detailed("Raft record format \(format) is unknown to this build") }
        return reader
    }

    private static func corrupt(_ what: String, _ error: CodecError?) -> MeridianError {
        MeridianError(.internalError, code: "corrupt_row", "a stored \(what) could not be read\(error.map { " (\($0))" } ?? ""); the row is damaged")
    }
}

/// The version a stored Raft log entry's command writes (`nil` for an entry that carries
/// no command): the simulator places versions in a table's log with it.
public func committedWriteVersion(ofStoredEntry bytes: [UInt8]) -> ItemVersion? {
    guard let entry = try? RaftCodec.decodeEntry(bytes), entry.kind == .normal else { return nil }
    return RaftCommand(bytes: entry.data)?.version
}

/// A stored Raft log entry, described for people: its term and index and the size of its
/// command (the simulator's checkers print it when two regions disagree).
public func describeStoredRaftEntry(_ bytes: [UInt8]) -> String {
    guard let entry = try? RaftCodec.decodeEntry(bytes) else { return "an undecodable entry of \(bytes.count) bytes" }
    guard let command = RaftCommand(bytes: entry.data) else { return "term \(entry.term) index \(entry.index) (\(entry.kind), \(entry.data.count) bytes)" }
    let value = command.value.map { String(decoding: $0.canonicalBytes.prefix(64), as: UTF8.self) } ?? "delete"
    return "term \(entry.term) index \(entry.index) \(command.key): \(value)"
}
