import MeridianCore
import MeridianRegion
import MeridianStorage
import Testing

/// `primary` and `strong` tables over three regions, driven step by step.
@Suite struct RaftTableTests {
    static let table = try! TableName("accounts")

    static func cluster(seed: UInt64 = 7) throws -> LocalCluster {
        let cluster = try LocalCluster(["ap-south", "eu-west", "us-east"], seed: seed) { $0.raft.randomSeed = seed }
        cluster.connectAll()
        return cluster
    }

    /// Creates the table at `at` and runs until a leader is known everywhere; returns it.
    @discardableResult
    static func create(_ cluster: LocalCluster, at region: String, _ definition: JSONValue) throws -> String {
        let created = cluster.call(region, .createTable(table, definition: definition))
        guard case .success(.tableCreated(_, created: true)) = created else { Issue.record("create failed: \(created)"); return "" }
        for _ in 0..<200 {
            cluster.settle(roundsMax: 5, roundsMin: 5)
            let leaders = Set(cluster.ids.map { leader(cluster, $0.name) })
            if leaders.count == 1, let only = leaders.first, let name = only { return name }
        }
        Issue.record("no leader agreed on")
        return ""
    }

    static func leader(_ cluster: LocalCluster, _ region: String) -> String? {
        guard case .success(.table(let status)) = cluster.request(region, .showTable(table)) else { return nil }
        return status.raft?.leader?.name
    }

    /// Sends a request that waits for the group, runs the cluster until it completes, returns its result.
    static func await(_ cluster: LocalCluster, _ region: String, _ request: RegionRequest, roundsMax: Int = 200) -> Result<RegionReply, MeridianError> {
        let reply = cluster.request(region, request)
        guard case .success(.pending(let ticket)) = reply else { return reply }
        for _ in 0..<roundsMax {
            if let result = cluster.completions[cluster.id(region)]?[ticket] { return result }
            cluster.settle(roundsMax: 1, roundsMin: 1)
        }
        return .failure(MeridianError(.unavailable, code: "test_timeout", "no completion"))
    }

    static func value(_ cluster: LocalCluster, _ region: String, _ key: String) throws -> JSONValue? {
        try cluster.items(region, table).first { $0.key == (try! Key(key)) }?.value
    }

    @Test func strongWritesCommitOnAMajorityAndReadsGoToTheLeader() throws {
        let cluster = try Self.cluster()
        let leader = try Self.create(cluster, at: "us-east", .object(["mode": .string("strong")]))
        #expect(leader == "us-east", "the creating region campaigns first")
        let followers = cluster.ids.map(\.name).filter { $0 != leader }

        let key = try Key("alice")
        let written = Self.await(cluster, leader, .putItem(Self.table, key, .integer(100), .none))
        guard case .success(.written(_, let version, _)) = written else { Issue.record("write: \(written)"); return }

        // A follower refuses writes and strong reads, naming the leader.
        guard case .failure(let refusal) = cluster.request(followers[0], .putItem(Self.table, key, .integer(1), .none)) else {
            Issue.record("a follower took a write"); return
        }
        #expect(refusal.code == "not_leader")
        #expect(refusal.redirect?.name == leader)
        guard case .failure(let readRefusal) = cluster.request(followers[0], .getItem(Self.table, key, .strong)) else {
            Issue.record("a follower served a strong read"); return
        }
        #expect(readRefusal.code == "not_leader")

        // The leader serves a strong read; followers have applied the commit.
        let read = Self.await(cluster, leader, .getItem(Self.table, key, .strong))
        guard case .success(.item(let item, .strong)) = read else { Issue.record("read: \(read)"); return }
        #expect(item.value == .integer(100) && item.version == version)
        cluster.settle(roundsMax: 20, roundsMin: 20)
        for region in followers { #expect(try Self.value(cluster, region, "alice") == .integer(100)) }

        // Compare-and-set is decided in log order: a stale If-Match fails everywhere alike.
        let stale = Self.await(cluster, leader, .putItem(Self.table, key, .integer(7), .versionMatches("0000000000000000-us-east")))
        guard case .failure(let failed) = stale else { Issue.record("a stale CAS succeeded"); return }
        #expect(failed.code == "precondition_failed")
        let swapped = Self.await(cluster, leader, .putItem(Self.table, key, .integer(200), .versionMatches(version.token)))
        guard case .success(.written) = swapped else { Issue.record("CAS: \(swapped)"); return }
        cluster.settle(roundsMax: 20, roundsMin: 20)
        for region in cluster.ids { #expect(try Self.value(cluster, region.name, "alice") == .integer(200)) }
    }

    static func appliedIndex(_ cluster: LocalCluster, _ region: String) -> UInt64 {
        guard case .success(.table(let status)) = cluster.request(region, .showTable(table)) else { return 0 }
        return status.raft?.appliedIndex ?? 0
    }

    /// Session reads of a consensus table: a follower serves them from its own copy once it
    /// has applied the index the session's token carries, and otherwise names the leader.
    @Test func aFollowerServesASessionReadOnceItHasAppliedWhatTheSessionSaw() throws {
        let cluster = try Self.cluster()
        let leader = try Self.create(cluster, at: "us-east", .object(["mode": .string("strong")]))
        let follower = try #require(cluster.ids.map(\.name).first { $0 != leader })
        let key = try Key("alice")
        let written = Self.await(cluster, leader, .putItem(Self.table, key, .integer(1), .none))
        guard case .success(.written) = written else { Issue.record("write: \(written)"); return }
        let mark = Self.appliedIndex(cluster, leader)
        #expect(mark > 0)

        // A session that saw more than the follower has applied is not served there.
        let ahead = cluster.request(follower, .getItem(Self.table, key, .session, requirement: .session(Positions(), raft: [Self.table: mark + 5])))
        guard case .failure(let refusal) = ahead else { Issue.record("served ahead of the session: \(ahead)"); return }
        #expect(refusal.code == "session_not_ready")
        #expect(refusal.redirect?.name == leader)

        // Once the follower has applied the write, it serves the session from its own copy.
        cluster.settle(roundsMax: 20, roundsMin: 20)
        #expect(Self.appliedIndex(cluster, follower) >= mark)
        let served = cluster.request(follower, .getItem(Self.table, key, .session, requirement: .session(Positions(), raft: [Self.table: mark])))
        guard case .success(.item(let item, .session)) = served else { Issue.record("session read at the follower: \(served)"); return }
        #expect(item.value == .integer(1))

        // Nor is one whose multi-primary positions (which carry the catalog, so a re-created
        // table too) the follower has not applied.
        let unseen = cluster.request(follower, .getItem(Self.table, key, .session,
            requirement: .session(Positions([cluster.id(leader): 1_000_000]), raft: [Self.table: mark])))
        guard case .failure(let behind) = unseen else { Issue.record("served ahead of the session's positions: \(unseen)"); return }
        #expect(behind.code == "session_not_ready")

        // A session with no history of the table is served by any region.
        guard case .success(.item(_, .session)) = cluster.request(follower, .getItem(Self.table, key, .session)) else {
            Issue.record("a fresh session was not served locally"); return
        }
        // At the leader, a mark beyond what it applied waits for a read index instead.
        let atLeader = Self.await(cluster, leader, .getItem(Self.table, key, .session, requirement: .session(Positions(), raft: [Self.table: mark + 5])))
        guard case .success(.item(let confirmed, _)) = atLeader else { Issue.record("session read at the leader: \(atLeader)"); return }
        #expect(confirmed.value == .integer(1))
    }

    @Test func aLostLeaderIsReplacedAndStepsDownWhenItReturns() throws {
        let cluster = try Self.cluster(seed: 11)
        let leader = try Self.create(cluster, at: "eu-west", .object(["mode": .string("strong")]))
        let key = try Key("k")
        guard case .success(.written) = Self.await(cluster, leader, .putItem(Self.table, key, .string("before"), .none)) else {
            Issue.record("first write failed"); return
        }
        let others = cluster.ids.map(\.name).filter { $0 != leader }
        cluster.cut(leader, others[0])
        cluster.cut(leader, others[1])
        var newLeader: String?
        for _ in 0..<100 {
            cluster.settle(roundsMax: 5, roundsMin: 5)
            if let found = Self.leader(cluster, others[0]), found != leader, Self.leader(cluster, others[1]) == found { newLeader = found; break }
        }
        guard let newLeader else { Issue.record("no new leader among the rest"); return }
        guard case .success(.written) = Self.await(cluster, newLeader, .putItem(Self.table, key, .string("after"), .none)) else {
            Issue.record("the new leader took no write"); return
        }
        // The old leader cannot commit anything alone.
        let isolated = Self.await(cluster, leader, .putItem(Self.table, key, .string("lost"), .none), roundsMax: 60)
        if case .success = isolated { Issue.record("an isolated leader acknowledged a strong write") }
        cluster.healAll()
        cluster.settle(roundsMax: 200, roundsMin: 100)
        for region in cluster.ids {
            #expect(try Self.value(cluster, region.name, "k") == .string("after"))
            #expect(Self.leader(cluster, region.name) == newLeader)
        }
    }

    @Test func localCommitAcknowledgesAtOnceAndKeepsReplacedWritesInTheDivergenceLedger() throws {
        let cluster = try Self.cluster(seed: 5)
        let leader = try Self.create(cluster, at: "us-east", .object(["mode": .string("primary"), "primary": .string("us-east"), "commit": .string("local")]))
        #expect(leader == "us-east")
        let key = try Key("order-1")
        guard case .success(.written) = Self.await(cluster, "us-east", .putItem(Self.table, key, .string("shipped-everywhere"), .none)) else {
            Issue.record("first write failed"); return
        }
        cluster.settle(roundsMax: 20, roundsMin: 20)
        // Cut the primary off, then write: acknowledged at once, before any standby has it.
        cluster.cut("us-east", "eu-west")
        cluster.cut("us-east", "ap-south")
        let acknowledged = cluster.request("us-east", .putItem(Self.table, key, .string("only-in-us-east"), .none))
        guard case .success(.written(_, let lostVersion, _)) = acknowledged else { Issue.record("local commit: \(acknowledged)"); return }
        #expect(try Self.value(cluster, "us-east", "order-1") == .string("only-in-us-east"))

        var newLeader: String?
        for _ in 0..<100 {
            cluster.settle(roundsMax: 5, roundsMin: 5)
            if let found = Self.leader(cluster, "eu-west"), found != "us-east", Self.leader(cluster, "ap-south") == found { newLeader = found; break }
        }
        guard let newLeader else { Issue.record("no standby took over"); return }
        guard case .success(.written) = Self.await(cluster, newLeader, .putItem(Self.table, key, .string("from-standby"), .none)) else {
            Issue.record("the new leader took no write"); return
        }
        cluster.healAll()
        cluster.settle(roundsMax: 400, roundsMin: 200)
        // Everyone holds the new leader's history; the replaced acknowledged write is in the ledger.
        for region in cluster.ids { #expect(try Self.value(cluster, region.name, "order-1") == .string("from-standby")) }
        let ledger = try cluster.storages[cluster.id("us-east")]!.read { try $0.divergence(table: Self.table, afterID: 0, limit: 10) }
        #expect(ledger.count == 1)
        #expect(ledger.first?.version == lostVersion)
        #expect(ledger.first?.value == .string("only-in-us-east"))
        // Leadership returns to the primary once it has caught up.
        #expect(Self.leader(cluster, "eu-west") == "us-east")
    }

    @Test func aRestartedRegionKeepsItsLogAndVote() throws {
        let cluster = try Self.cluster(seed: 3)
        let leader = try Self.create(cluster, at: "ap-south", .object(["mode": .string("strong")]))
        for number in 0..<20 {
            guard case .success(.written) = Self.await(cluster, leader, .putItem(Self.table, try Key("k\(number)"), .integer(Int64(number)), .none)) else {
                Issue.record("write \(number) failed"); return
            }
        }
        for region in cluster.ids { try cluster.restart(region.name) }
        var agreed: String?
        for _ in 0..<100 {
            cluster.settle(roundsMax: 5, roundsMin: 5)
            let leaders = Set(cluster.ids.map { Self.leader(cluster, $0.name) })
            if leaders.count == 1, let only = leaders.first, let name = only { agreed = name; break }
        }
        guard let agreed else { Issue.record("no leader after restart"); return }
        guard case .success(.written) = Self.await(cluster, agreed, .putItem(Self.table, try Key("k20"), .integer(20), .none)) else {
            Issue.record("no write after restart"); return
        }
        cluster.settle(roundsMax: 20, roundsMin: 20)
        for region in cluster.ids {
            let items = try cluster.items(region.name, Self.table)
            #expect(items.count == 21)
        }
    }

    @Test func twoRegionTablesAreRefusedAndSingleRegionOnesCommitAlone() throws {
        let cluster = try Self.cluster()
        guard case .failure(let refused) = cluster.call("us-east", .createTable(Self.table, definition: .object(["mode": .string("strong"), "regions": .array([.string("us-east"), .string("eu-west")])]))) else {
            Issue.record("a two-region strong table was created"); return
        }
        #expect(refused.code == "needs_third_region")
        let single = try TableName("ledger")
        guard case .success = cluster.call("eu-west", .createTable(single, definition: .object(["mode": .string("primary"), "regions": .array([.string("eu-west")])]))) else {
            Issue.record("single-region table refused"); return
        }
        let reply = Self.await(cluster, "eu-west", .putItem(single, try Key("a"), .integer(1), .none))
        guard case .success(.written) = reply else { Issue.record("single-region write: \(reply)"); return }
    }

    @Test func aRegionBehindTheCompactedLogCatchesUpFromASnapshotAndRestarts() throws {
        let cluster = try LocalCluster(["ap-south", "eu-west", "us-east"], seed: 21) { configuration in
            configuration.raft.randomSeed = 21
            configuration.raft.logEntriesRetainedMax = 40
            configuration.raft.logEntriesRetainedHardMax = 80
        }
        cluster.connectAll()
        let leader = try Self.create(cluster, at: "us-east", .object(["mode": .string("strong")]))
        #expect(leader == "us-east")
        cluster.cut("ap-south", "us-east")
        cluster.cut("ap-south", "eu-west")
        for number in 0..<300 {
            let reply = Self.await(cluster, leader, .putItem(Self.table, try Key("k\(number % 50)"), .integer(Int64(number)), .none))
            guard case .success(.written) = reply else { Issue.record("write \(number): \(reply)"); return }
        }
        let leaderLog = try cluster.storages[cluster.id(leader)]!.read { try $0.raftEntries(group: Self.table.name, from: 0, limit: 1_000) }
        #expect(leaderLog.count <= 90, "the leader compacted its log (\(leaderLog.count) entries kept)")
        cluster.healAll()
        cluster.settle(roundsMax: 300, roundsMin: 100)
        #expect(cluster.regions[cluster.id("ap-south")]!.counters.snapshotsInstalled >= 1)
        let reference = try cluster.items(leader, Self.table)
        #expect(reference.count == 50)
        #expect(try cluster.items("ap-south", Self.table) == reference)
        // After restarting everything from compacted logs, the group still works.
        for region in cluster.ids { try cluster.restart(region.name) }
        var agreed: String?
        for _ in 0..<100 {
            cluster.settle(roundsMax: 5, roundsMin: 5)
            let leaders = Set(cluster.ids.map { Self.leader(cluster, $0.name) })
            if leaders.count == 1, let only = leaders.first, let name = only { agreed = name; break }
        }
        guard let agreed else { Issue.record("no leader after restart"); return }
        guard case .success(.written) = Self.await(cluster, agreed, .putItem(Self.table, try Key("k0"), .integer(-1), .none)) else {
            Issue.record("no write after restart"); return
        }
        cluster.settle(roundsMax: 20, roundsMin: 20)
        for region in cluster.ids { #expect(try Self.value(cluster, region.name, "k0") == .integer(-1)) }
    }
}
