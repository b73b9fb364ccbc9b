import MeridianCodec
import MeridianCore
import MeridianRaft
import MeridianStorage

/// One operation of a transaction on a `strong` table.
public struct TransactOperation: Sendable, Equatable {
    /// What the operation does to its item.
    public enum Kind: Sendable, Equatable {
        case put(JSONValue)
        case delete
        /// Only the precondition: the item must still be as the client saw it.
        case check
        /// Returns the item as it is at the transaction's point in the log.
        case read
    }

    public var key: Key
    public var kind: Kind
    public var precondition: WritePrecondition

    /// An operation on the item of `key`, applied only when `precondition` holds.
    public init(key: Key, kind: Kind, precondition: WritePrecondition = .none) {
        self.key = key
        self.kind = kind
        self.precondition = precondition
    }
}

/// What a transaction did.
public enum TransactOutcome: Sendable, Equatable {
    /// Every operation applied; per operation, its item afterwards (`nil`: none).
    case applied([StoredItem?])
    /// No operation applied: the precondition of operation `operation` failed against `current`.
    case refused(operation: Int, current: StoredItem?)
}

/// Limits of transactions.
public enum TransactLimits {
    /// The most operations of one transaction (DynamoDB's limit).
    public static let operationsMax = 100
}

/// A transaction carried by one Raft entry: its operations and the version the leader
/// gave its writes. A `StoredRecord` of format 2 (format 1 is `RaftCommand`): count
/// `var`, then per operation kind `u8` (0 put, 1 delete, 2 check, 3 read), key, value
/// `opt(JSON)`, precondition `u8` (0 none, 1 version match then the token `string`,
/// 2 absent); then the version.
struct RaftTransaction: Sendable, Equatable {
    static let format: UInt8 = 2

    var operations: [TransactOperation]
    var version: ItemVersion

    var bytes: [UInt8] {
        StoredRecord.encode(format: Self.format, capacity: 256) { writer in
            writer.writeVarUInt(UInt64(operations.count))
            for operation in operations {
                switch operation.kind {
                case .put: writer.writeUInt8(0)
                case .delete: writer.writeUInt8(1)
                case .check: writer.writeUInt8(2)
                case .read: writer.writeUInt8(3)
                }
                writer.write(operation.key)
                if case .put(let value) = operation.kind { writer.writeOptional(value) } else { writer.writeOptional(JSONValue?.none) }
                switch operation.precondition {
                case .none: writer.writeUInt8(0)
                case .versionMatches(let token):
                    writer.writeUInt8(1)
                    writer.writeString(token)
                case .itemAbsent: writer.writeUInt8(2)
                }
            }
            writer.write(version)
        }
    }

    init(operations: [TransactOperation], version: ItemVersion) {
        self.operations = operations
        self.version = version
    }

    /// Decodes a transaction; `nil` for bytes that are not one (never trapped on).
    init?(bytes: [UInt8]) {
        guard StoredRecord.isEnveloped(bytes), var (format, reader) = try? StoredRecord.verified(bytes), format == Self.format else { return nil }
        do {
            let count = try reader.readVarUInt()
            guard count >= 1, count <= UInt64(TransactLimits.operationsMax) else { return nil }
            var operations: [TransactOperation] = []
            for _ in 0..<count {
                let kindCode = try reader.readUInt8()
                let key = try reader.read(Key.self)
                let value = try reader.readOptional(JSONValue.self)
                let kind: TransactOperation.Kind
                switch (kindCode, value) {
                case (0, let value?): kind = .put(value)
                case (1, nil): kind = .delete
                case (2, nil): kind = .check
                case (3, nil): kind = .read
                default: return nil
                }
                let precondition: WritePrecondition
                switch try reader.readUInt8() {
                case 0: precondition = .none
                case 1: precondition = .versionMatches(try reader.readString())
                case 2: precondition = .itemAbsent
                default: return nil
                }
                operations.append(TransactOperation(key: key, kind: kind, precondition: precondition))
            }
            let version = try reader.read(ItemVersion.self)
            try reader.expectEnd()
            self.init(operations: operations, version: version)
        } catch {
            return nil
        }
    }
}

/// Transactions on `strong` tables: proposed at the leader as one log entry; applied in
/// log order in every region, all operations or none. Every precondition is checked
/// against the items as the entry finds them before any operation applies, so a
/// transaction whose items another write changed since the client read them changes
/// nothing and says which operation it stopped at.
extension Step {
    mutating func raftTransact(_ table: TableName, _ operations: [TransactOperation], reader: any StorageReader,
                               writer: any StorageWriter) throws -> RegionReply {
        let definition = try servedTable(table)
        guard definition.mode == .strong else {
            throw MeridianError.invalid("transactions_need_strong",
                "table '\(table)' is \(definition.mode.rawValue); transactions run in the Raft log of a table with mode \"strong\"")
        }
        guard (1...TransactLimits.operationsMax).contains(operations.count) else {
            throw MeridianError.invalid("invalid_transaction", "a transaction has 1 to \(TransactLimits.operationsMax) operations; this one has \(operations.count)")
        }
        guard Set(operations.map(\.key)).count == operations.count else {
            throw MeridianError.invalid("invalid_transaction", "a transaction names each item at most once")
        }
        guard var group = state.consensus.groups.removeValue(forKey: table) else { throw Self.groupMissing(table) }
        defer { state.consensus.groups[table] = group }
        let status = group.node.status
        guard status.role == .leader else { throw notLeader(table, status) }
        guard state.consensus.pendingProposals.count < ConsensusState.pendingProposalsMax else {
            throw MeridianError(.unavailable, code: "overloaded", "\(ConsensusState.pendingProposalsMax) writes are waiting for their commit; retry shortly")
        }
        // The version must exceed every version the transaction's items hold.
        for operation in operations {
            if let current = try reader.item(table: table, key: operation.key) { state.clock.advance(past: current.version.timestamp) }
        }
        let version = ItemVersion(timestamp: state.clock.now(wallMilliseconds: wallMilliseconds), origin: local)
        let bytes = RaftTransaction(operations: operations, version: version).bytes
        guard bytes.count <= Limits.recordBytesMax else {
            throw MeridianError(.tooLarge, code: "transaction_too_large", "the transaction takes \(bytes.count) bytes; the limit is \(Limits.recordBytesMax)")
        }
        let index: UInt64
        do {
            index = try group.node.propose(bytes)
        } catch {
            throw MeridianError(.unavailable, code: "not_accepting_writes", "the leader of table '\(table)' cannot take writes now (\(error)); retry shortly")
        }
        let ticket = state.issueTicket()
        state.consensus.awaitCommit(ticket: ticket, PendingProposal(table: table, index: index, term: status.term,
            deadlineMilliseconds: wallMilliseconds + region.configuration.raft.proposalTimeoutMilliseconds))
        return .pending(ticket: ticket)
    }

    /// Applies a committed transaction: every precondition first, then every write.
    mutating func applyTransaction(_ transaction: RaftTransaction, table: TableName, writer: any StorageWriter) throws -> Result<RegionReply, MeridianError> {
        state.clock.advance(past: transaction.version.timestamp)
        var currents: [StoredItem?] = []
        for (position, operation) in transaction.operations.enumerated() {
            let stored = try writer.item(table: table, key: operation.key)
            let live = stored.flatMap { $0.isTombstone ? nil : $0 }
            do {
                try check(operation.precondition, on: stored)
            } catch {
                return .success(.transacted(.refused(operation: position, current: live)))
            }
            currents.append(live)
        }
        var results: [StoredItem?] = []
        for (operation, current) in zip(transaction.operations, currents) {
            switch operation.kind {
            case .put(let value):
                let item = StoredItem(key: operation.key, value: value, version: transaction.version)
                try writer.putItem(table: table, item)
                results.append(item)
            case .delete:
                if current != nil { try writer.putItem(table: table, StoredItem(key: operation.key, value: nil, version: transaction.version)) }
                results.append(nil)
            case .check, .read:
                results.append(current)
            }
        }
        return .success(.transacted(.applied(results)))
    }
}
