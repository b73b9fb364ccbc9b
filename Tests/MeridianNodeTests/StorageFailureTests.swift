import Foundation
import MeridianCore
import MeridianRegion
import MeridianStorage
@testable import MeridianNode
import MeridianTestSupport
import Testing

/// Storage that stops taking writes, as a full disk does (issue 15, item 4): reads that
/// were batched with a write that failed (a tick's log truncation) are still answered,
/// and the node reports its storage degraded until a write commits again.
@Suite(.serialized)
struct StorageFailureTests {
    static let region = try! RegionID("us-east")
    static let cluster = ClusterConfiguration(regions: [RegionEndpoint(name: region, api: "127.0.0.1:0", peer: "127.0.0.1:0")])
    static let table = try! TableName("t")

    @Test func readsBatchedWithAFailedWriteAreStillAnswered() async throws {
        let storage = FullDiskStorage()
        let region = try Region(configuration: RegionConfiguration(id: Self.region, clusterRegions: [Self.region]), storage: storage)
        let executor = RegionExecutor(region: region, wallMilliseconds: Node.systemWallMilliseconds)
        defer { executor.shutdown() }
        _ = try await executor.perform(.createTable(Self.table, definition: .object([:]))).0.get()
        _ = try await executor.perform(.putItem(Self.table, try Key("k"), .integer(7), .none)).0.get()

        // The next write holds the executor inside its transaction until the reads and a
        // tick queued behind it: they form the next step, whose write then fails too.
        storage.failWrites(holdingTheFirst: true)
        let write = Task { await executor.perform(.putItem(Self.table, try! Key("k"), .integer(8), .none)).0 }
        while !storage.isHoldingAWrite { try await Task.sleep(for: .milliseconds(1)) }
        let reads = (0..<3).map { _ in Task { await executor.perform(.getItem(Self.table, try! Key("k"), .eventual)).0 } }
        executor.submit(.tick)
        while executor.queuedInputs < 4 { try await Task.sleep(for: .milliseconds(1)) }
        storage.releaseTheHeldWrite()

        let written = await write.value
        #expect(throws: MeridianError.self) { try written.get() }
        for read in reads {
            guard case .item(let item, _) = try await read.value.get() else { Issue.record("no item"); continue }
            #expect(item.value == .integer(7), "the read is answered from what was committed")
        }
        #expect(storage.failedWrites >= 2, "the write and the step with the tick and the reads both failed to write")
        #expect(executor.recentStorageFailure(withinMilliseconds: 60_000)?.error.code == "storage_unavailable")

        storage.takeWritesAgain()
        _ = try await executor.perform(.putItem(Self.table, try Key("k"), .integer(9), .none)).0.get()
        #expect(executor.recentStorageFailure(withinMilliseconds: 60_000) == nil, "a committed write clears the failure")
    }
}
