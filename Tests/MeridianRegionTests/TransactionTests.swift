import MeridianCore
import MeridianRegion
import MeridianStorage
import Testing

/// Transactions on `strong` tables: one Raft entry, all operations or none, in every region.
@Suite struct TransactionTests {
    static let table = RaftTableTests.table

    static func key(_ name: String) -> Key { try! Key(name) }

    static func transact(_ cluster: LocalCluster, _ region: String, _ operations: [TransactOperation]) -> Result<RegionReply, MeridianError> {
        RaftTableTests.await(cluster, region, .transact(table, operations))
    }

    @Test func everyOperationAppliesInEveryRegionWhenEveryPreconditionHolds() throws {
        let cluster = try RaftTableTests.cluster()
        let leader = try RaftTableTests.create(cluster, at: "us-east", .object(["mode": .string("strong")]))
        guard case .success(.written(_, let version, _)) = RaftTableTests.await(cluster, leader, .putItem(Self.table, Self.key("a"), .integer(1), .none)) else {
            Issue.record("setup write failed"); return
        }
        let outcome = Self.transact(cluster, leader, [
            TransactOperation(key: Self.key("a"), kind: .put(.integer(2)), precondition: .versionMatches(version.token)),
            TransactOperation(key: Self.key("b"), kind: .put(.integer(3)), precondition: .itemAbsent),
            TransactOperation(key: Self.key("c"), kind: .check, precondition: .itemAbsent),
        ])
        guard case .success(.transacted(.applied(let items))) = outcome else { Issue.record("transaction: \(outcome)"); return }
        #expect(items.map { $0?.value } == [.integer(2), .integer(3), nil])
        #expect(items[0]?.version == items[1]?.version, "one version for the whole transaction")
        cluster.settle(roundsMax: 20, roundsMin: 20)
        for region in cluster.ids.map(\.name) {
            #expect(try RaftTableTests.value(cluster, region, "a") == .integer(2))
            #expect(try RaftTableTests.value(cluster, region, "b") == .integer(3))
        }
    }

    @Test func onePreconditionThatFailsLeavesEveryItemAsItWas() throws {
        let cluster = try RaftTableTests.cluster()
        let leader = try RaftTableTests.create(cluster, at: "us-east", .object(["mode": .string("strong")]))
        _ = RaftTableTests.await(cluster, leader, .putItem(Self.table, Self.key("a"), .integer(1), .none))
        let outcome = Self.transact(cluster, leader, [
            TransactOperation(key: Self.key("b"), kind: .put(.integer(9)), precondition: .none),
            TransactOperation(key: Self.key("a"), kind: .delete, precondition: .versionMatches("0000000000000000-us-east")),
        ])
        guard case .success(.transacted(.refused(let operation, let current))) = outcome else { Issue.record("transaction: \(outcome)"); return }
        #expect(operation == 1)
        #expect(current?.value == .integer(1))
        cluster.settle(roundsMax: 20, roundsMin: 20)
        for region in cluster.ids.map(\.name) {
            #expect(try RaftTableTests.value(cluster, region, "a") == .integer(1))
            #expect(try RaftTableTests.value(cluster, region, "b") == nil)
        }
    }

    @Test func readsSeeOnePointOfTheLog() throws {
        let cluster = try RaftTableTests.cluster()
        let leader = try RaftTableTests.create(cluster, at: "us-east", .object(["mode": .string("strong")]))
        _ = Self.transact(cluster, leader, [
            TransactOperation(key: Self.key("x"), kind: .put(.integer(5))),
            TransactOperation(key: Self.key("y"), kind: .put(.integer(5))),
        ])
        let outcome = Self.transact(cluster, leader, [TransactOperation(key: Self.key("x"), kind: .read), TransactOperation(key: Self.key("y"), kind: .read),
                                                     TransactOperation(key: Self.key("z"), kind: .read)])
        guard case .success(.transacted(.applied(let items))) = outcome else { Issue.record("read: \(outcome)"); return }
        #expect(items.map { $0?.value } == [.integer(5), .integer(5), nil])
    }

    @Test func followersAndOtherModesRefuseTransactions() throws {
        let cluster = try RaftTableTests.cluster()
        let leader = try RaftTableTests.create(cluster, at: "us-east", .object(["mode": .string("strong")]))
        let follower = cluster.ids.map(\.name).first { $0 != leader }!
        guard case .failure(let refusal) = cluster.request(follower, .transact(Self.table, [TransactOperation(key: Self.key("a"), kind: .read)])) else {
            Issue.record("a follower took a transaction"); return
        }
        #expect(refusal.code == "not_leader")
        let other = try TableName("notes")
        _ = cluster.call(leader, .createTable(other, definition: .object([:])))
        guard case .failure(let modeRefusal) = cluster.request(leader, .transact(other, [TransactOperation(key: Self.key("a"), kind: .read)])) else {
            Issue.record("a multi-primary table took a transaction"); return
        }
        #expect(modeRefusal.code == "transactions_need_strong")
        guard case .failure(let duplicate) = cluster.request(leader, .transact(Self.table, [TransactOperation(key: Self.key("a"), kind: .read),
                                                                                           TransactOperation(key: Self.key("a"), kind: .check)])) else {
            Issue.record("a transaction naming one item twice was taken"); return
        }
        #expect(duplicate.code == "invalid_transaction")
    }
}
