import MeridianCore
import MeridianRegion
import MeridianReplication
import MeridianStorage
import Testing

/// Session reads wait in the region that cannot serve them yet: parked under a ticket,
/// served at the end of the step that brings the region far enough, or refused (naming
/// where to go) at their deadline.
@Suite struct ParkedReadTests {
    static let table = try! TableName("t")

    static func cluster() throws -> LocalCluster {
        let cluster = try LocalCluster(["us-east", "eu-west", "ap-south"], seed: 3)
        cluster.connectAll()
        _ = try cluster.call("us-east", .createTable(table, definition: .object(["conflict": .string("lww")]))).get()
        cluster.settle()
        return cluster
    }

    /// A write in us-east that ap-south has not received; returns the session after it.
    static func writeUnseenByApSouth(_ cluster: LocalCluster, key: Key) throws -> Positions {
        cluster.cut("us-east", "ap-south")
        cluster.cut("eu-west", "ap-south")
        _ = try cluster.request("us-east", .putItem(table, key, .string("new"), .none)).get()
        return cluster.regions[cluster.id("us-east")]!.appliedPositions
    }

    @Test func aSessionReadWaitsForTheWriteItSawAndIsServedWhenItArrives() throws {
        let cluster = try Self.cluster()
        let key = try Key("alex")
        let session = try Self.writeUnseenByApSouth(cluster, key: key)
        let read = cluster.request("ap-south", .getItem(Self.table, key, .session, requirement: .session(session), waitMilliseconds: 1_000))
        guard case .success(.pending(let ticket)) = read else { Issue.record("not parked: \(read)"); return }
        // Still cut off: a tick passes and the read keeps waiting.
        cluster.wallMilliseconds += 100
        cluster.step(cluster.id("ap-south"), [.tick])
        #expect(cluster.completions[cluster.id("ap-south")]?[ticket] == nil)
        cluster.healAll()
        cluster.settle()
        guard case .success(.item(let item, .session))? = cluster.completions[cluster.id("ap-south")]?[ticket] else {
            Issue.record("the parked read was not served: \(String(describing: cluster.completions[cluster.id("ap-south")]?[ticket]))"); return
        }
        #expect(item.value == .string("new"))
    }

    @Test func aSessionReadThatWaitsTooLongIsRefusedAtItsDeadline() throws {
        let cluster = try Self.cluster()
        let key = try Key("alex")
        let session = try Self.writeUnseenByApSouth(cluster, key: key)
        let read = cluster.request("ap-south", .getItem(Self.table, key, .session, requirement: .session(session), waitMilliseconds: 300))
        guard case .success(.pending(let ticket)) = read else { Issue.record("not parked: \(read)"); return }
        cluster.wallMilliseconds += 299
        cluster.step(cluster.id("ap-south"), [.tick])
        #expect(cluster.completions[cluster.id("ap-south")]?[ticket] == nil, "refused before its deadline")
        cluster.wallMilliseconds += 1
        cluster.step(cluster.id("ap-south"), [.tick])
        guard case .failure(let refusal)? = cluster.completions[cluster.id("ap-south")]?[ticket] else {
            Issue.record("not refused at its deadline"); return
        }
        #expect(refusal.code == "session_not_ready")
    }

    @Test func aReadThatMayNotWaitIsRefusedAtOnceAndOneTheRegionCanServeIsNotParked() throws {
        let cluster = try Self.cluster()
        let key = try Key("alex")
        let session = try Self.writeUnseenByApSouth(cluster, key: key)
        let refused = cluster.request("ap-south", .getItem(Self.table, key, .session, requirement: .session(session)))
        guard case .failure(let error) = refused else { Issue.record("served or parked without a wait: \(refused)"); return }
        #expect(error.code == "session_not_ready")
        let served = cluster.request("us-east", .getItem(Self.table, key, .session, requirement: .session(session), waitMilliseconds: 1_000))
        guard case .success(.item(let item, .session)) = served else { Issue.record("a caught-up region parked the read: \(served)"); return }
        #expect(item.value == .string("new"))
    }

    @Test func aParkedReadOfADeletedTableIsAnsweredThatTheTableIsGone() throws {
        // One region that votes alone on the catalog, and a session that saw eu-west's
        // writes, which this region never receives.
        let fixture = try Fixture()
        try fixture.createTable()
        let session = ReadRequirement.session(Positions([Fixture.euWest: 3]))
        let output = fixture.region.step([.request(.getItem(Fixture.table, try Key("k"), .session, requirement: session, waitMilliseconds: 5_000))],
                                         wallMilliseconds: 2_000)
        guard case .success(.pending(let ticket)) = output.replies[0] else { Issue.record("not parked: \(output.replies[0])"); return }
        let deleted = fixture.region.step([.request(.deleteTable(Fixture.table))], wallMilliseconds: 2_100)
        #expect(deleted.replies[0] == .success(.tableDeleted(Fixture.table)))
        guard let completion = deleted.completions.first(where: { $0.ticket == ticket }), case .failure(let error) = completion.result else {
            Issue.record("the parked read still waits after its table was deleted: \(deleted.completions)"); return
        }
        #expect(error.code == MeridianError.tableNotFound(Fixture.table).code)
    }
}
