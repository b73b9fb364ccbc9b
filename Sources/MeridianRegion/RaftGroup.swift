import MeridianCore
import MeridianRaft
import MeridianStorage

/// One `primary` or `strong` table's Raft group as this region runs it.
///
/// The group's state machine is the table's items in this region's storage: a committed
/// entry is applied in the same storage transaction that persists the group's progress.
struct RaftGroup: Sendable {
    var node: RaftNode
    /// The table's incarnation (its catalog record's deletion bound).
    var incarnation: HLCTimestamp
    var definition: TableDefinition
    /// The last index persisted in storage.
    var persistedLastIndex: UInt64
    /// The last index whose command is applied to the items. Under `commit: "local"` a
    /// leader applies its own entries when it appends them, so this may pass the commit index.
    var appliedIndex: UInt64
    /// Entries through this index were applied ahead of their commit by this region as
    /// leader (`commit: "local"`); each has an undo record until it commits.
    var speculativeThrough: UInt64
    /// The role and leader at the end of the last step, to count leader changes.
    var lastRole: RaftRole
    var lastLeader: RaftNodeID?
    /// Elections this region started in the group, and leader changes it saw.
    var campaigns = 0
    var leaderChanges = 0

    var table: TableName { definition.name }

    /// Whether the table acknowledges after the leader's own durable write.
    var commitsLocally: Bool { definition.mode == .primary && definition.commit == .local }
}

/// Raft group counters, for metrics and the cluster view.
public struct RaftCounters: Sendable, Equatable {
    /// Times this region started an election (pre-vote or vote) in any group.
    public var campaigns = 0
    /// Times a group's leader changed, as this region saw it.
    public var leaderChanges = 0
    /// Acknowledged `commit: "local"` writes found replaced by a new leader's log.
    public var divergedWrites = 0
    /// Proposals that timed out with an unknown outcome.
    public var proposalTimeouts = 0
    /// Snapshots a leader could not send because the table exceeds one frame.
    public var snapshotsTooLarge = 0
}

/// What a `primary` or `strong` table's group looks like from this region.
public struct RaftTableStatus: Sendable, Equatable {
    public var role: String
    public var term: UInt64
    public var leader: RegionID?
    public var commitIndex: UInt64
    public var appliedIndex: UInt64
    public var lastIndex: UInt64
    /// Elections this region started in the group, and leader changes it saw, since it started.
    public var campaigns: Int
    public var leaderChanges: Int

    init(_ group: RaftGroup) {
        let status = group.node.status
        role = status.role.rawValue
        term = status.term
        leader = status.leader.flatMap { try? RegionID($0) }
        commitIndex = status.commit
        appliedIndex = group.appliedIndex
        lastIndex = status.lastIndex
        campaigns = group.campaigns
        leaderChanges = group.leaderChanges
    }
}

/// A write entered in a group's log and waiting for its commit.
struct PendingProposal: Sendable {
    var table: TableName
    var index: UInt64
    var term: UInt64
    var deadlineMilliseconds: UInt64
}

/// A linearizable read waiting for its read index and for the items to be applied that far.
struct PendingRead: Sendable {
    var table: TableName
    var key: Key
    var consistency: ConsistencyLevel
    /// Set when the leader confirmed it: the read may be served once applied reaches it.
    var readIndex: UInt64?
    var deadlineMilliseconds: UInt64
}

/// A write command carried by a Raft entry: a put or a delete, its condition, and the
/// version the leader gave it. Encoded as canonical JSON.
struct RaftCommand: Sendable, Equatable {
    var key: Key
    /// The value to store; `nil` for a delete.
    var value: JSONValue?
    var isDelete: Bool
    var precondition: WritePrecondition
    var version: ItemVersion

    var bytes: [UInt8] {
        var fields: [String: JSONValue] = [
            "op": .string(isDelete ? "delete" : "put"),
            "key": .string(key.string),
            "ts": .string(String(version.timestamp.rawValue)),
            "origin": .string(version.origin.name),
        ]
        if let value { fields["value"] = value }
        switch precondition {
        case .none: break
        case .versionMatches(let token): fields["if_match"] = .string(token)
        case .itemAbsent: fields["if_absent"] = .bool(true)
        }
        return JSONValue.object(fields).canonicalBytes
    }

    init(key: Key, value: JSONValue?, isDelete: Bool, precondition: WritePrecondition, version: ItemVersion) {
        self.key = key
        self.value = value
        self.isDelete = isDelete
        self.precondition = precondition
        self.version = version
    }

    /// Decodes a command; `nil` for bytes that are not one (never trapped on).
    init?(bytes: [UInt8]) {
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

/// Byte layouts of what a group persists: entries, hard state, undo records.
enum RaftCodec {
    static func encode(_ entry: RaftEntry) -> [UInt8] {
        entry.term.bigEndianBytes + entry.index.bigEndianBytes + [entry.kind.rawValue] + entry.data
    }

    static func decodeEntry(_ bytes: [UInt8]) throws(MeridianError) -> RaftEntry {
        guard bytes.count >= 17, let term = UInt64(bigEndianBytes: Array(bytes[0..<8])), let index = UInt64(bigEndianBytes: Array(bytes[8..<16])),
              let kind = RaftEntry.Kind(rawValue: bytes[16])
        else { throw MeridianError(.internalError, code: "corrupt_row", "a stored Raft entry could not be decoded") }
        return RaftEntry(term: term, index: index, kind: kind, data: Array(bytes[17...]))
    }

    static func encode(_ state: RaftHardState) -> [UInt8] {
        state.term.bigEndianBytes + state.commit.bigEndianBytes + Array((state.vote ?? "").utf8)
    }

    static func decodeHardState(_ bytes: [UInt8]) throws(MeridianError) -> RaftHardState {
        guard bytes.count >= 16, let term = UInt64(bigEndianBytes: Array(bytes[0..<8])), let commit = UInt64(bigEndianBytes: Array(bytes[8..<16])) else {
            throw MeridianError(.internalError, code: "corrupt_row", "a stored Raft hard state could not be decoded")
        }
        let vote = String(decoding: bytes[16...], as: UTF8.self)
        return RaftHardState(term: term, vote: vote.isEmpty ? nil : vote, commit: commit)
    }

    /// The item an entry applied ahead of its commit replaced: `[0]` when there was none,
    /// else `[1]` and the item as JSON.
    static func encodeUndo(_ item: StoredItem?) -> [UInt8] {
        guard let item else { return [0] }
        var fields: [String: JSONValue] = ["key": .string(item.key.string), "ts": .string(String(item.version.timestamp.rawValue)), "origin": .string(item.version.origin.name)]
        if let value = item.value { fields["value"] = value }
        return [1] + JSONValue.object(fields).canonicalBytes
    }

    /// The point a log was compacted through (or a snapshot installed at): index and term.
    static func encodeMark(index: UInt64, term: UInt64) -> [UInt8] { index.bigEndianBytes + term.bigEndianBytes }

    static func decodeMark(_ bytes: [UInt8]?) -> (index: UInt64, term: UInt64)? {
        guard let bytes, bytes.count == 16, let index = UInt64(bigEndianBytes: Array(bytes[0..<8])),
              let term = UInt64(bigEndianBytes: Array(bytes[8..<16])) else { return nil }
        return (index, term)
    }

    static func decodeUndo(_ bytes: [UInt8]) -> StoredItem?? {
        guard let first = bytes.first else { return nil }
        if first == 0 { return .some(nil) }
        guard case .object(let fields)? = try? JSONValue.decodeCanonical(bytes.dropFirst()),
              case .string(let keyString)? = fields["key"], let key = try? Key(keyString),
              case .string(let ts)? = fields["ts"], let raw = UInt64(ts),
              case .string(let originName)? = fields["origin"], let origin = try? RegionID(originName)
        else { return nil }
        return .some(StoredItem(key: key, value: fields["value"], version: ItemVersion(timestamp: HLCTimestamp(rawValue: raw), origin: origin)))
    }
}

/// Metadata names of a group's persisted state.
enum RaftMetadata {
    static func hardState(_ table: TableName) -> String { "raft.hard.\(table.name)" }
    static func applied(_ table: TableName) -> String { "raft.applied.\(table.name)" }
    static func speculative(_ table: TableName) -> String { "raft.speculative.\(table.name)" }
    static func incarnation(_ table: TableName) -> String { "raft.incarnation.\(table.name)" }
    static func undo(_ table: TableName, _ index: UInt64) -> String { "raft.undo.\(table.name).\(index)" }
    /// The index and term through which the log was compacted (16 bytes).
    static func snapshot(_ table: TableName) -> String { "raft.snapshot.\(table.name)" }
    /// The log group name in storage.
    static func group(_ table: TableName) -> String { table.name }
}

/// A stable 64-bit hash of bytes (FNV-1a): Swift's `Hasher` is seeded per process, and a
/// seed derived from it would break replay.
func stableHash(_ bytes: some Sequence<UInt8>) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in bytes {
        hash ^= UInt64(byte)
        hash = hash &* 0x0000_0100_0000_01b3
    }
    return hash
}

extension UInt64 {
    /// The bits rotated by 32, so that two stable hashes combined by xor do not cancel.
    var rotated: UInt64 { self << 32 | self >> 32 }
}
