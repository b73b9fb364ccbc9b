import Foundation
import MeridianCore
import MeridianNode
import MeridianRegion
import MeridianStorage
import Testing

struct ClusterConfigurationTests {
    @Test func aClusterFileParsesWithItsLatencyMatrix() throws {
        let text = #"""
        {"regions": [{"name": "us-east", "api": "127.0.0.1:7001", "peer": "127.0.0.1:7101"},
                     {"name": "eu-west", "api": "127.0.0.1:7002", "peer": "127.0.0.1:7102"}],
         "latency_ms": {"us-east": {"eu-west": 35}}}
        """#
        let cluster = try ClusterConfiguration.parse(Data(text.utf8))
        #expect(cluster.regionIDs.map(\.name) == ["us-east", "eu-west"])
        #expect(cluster.latencyMilliseconds?["us-east"]?["eu-west"] == 35)
        #expect(cluster.endpoint(of: try RegionID("eu-west"))?.api == "127.0.0.1:7002")
    }

    @Test(arguments: [
        #"{"regions": []}"#,
        #"{"regions": [{"name": "us-east", "api": "nowhere", "peer": "127.0.0.1:1"}]}"#,
        #"{"regions": [{"name": "us-east", "api": "127.0.0.1:99999", "peer": "127.0.0.1:1"}]}"#,
        #"{"regions": [{"name": "US_EAST", "api": "127.0.0.1:1", "peer": "127.0.0.1:2"}]}"#,
        #"{"regions": [{"name": "a", "api": "127.0.0.1:1", "peer": "127.0.0.1:2"}, {"name": "a", "api": "127.0.0.1:3", "peer": "127.0.0.1:4"}]}"#,
        #"not json"#,
        // Peer authentication bound to nothing: neither the addresses nor TLS.
        #"{"regions": [{"name": "us-east", "api": "127.0.0.1:1", "peer": "127.0.0.1:2"}], "peer_secret": "0123456789abcdef0123456789abcdef", "peer_address_binding": false}"#,
    ])
    func invalidClusterFilesAreRefusedWithAReason(text: String) throws {
        #expect(throws: MeridianError.self) { try ClusterConfiguration.parse(Data(text.utf8)) }
    }
}

struct NodeTests {
    static let region = try! RegionID("us-east")
    static let cluster = ClusterConfiguration(regions: [RegionEndpoint(name: region, api: "127.0.0.1:0", peer: "127.0.0.1:0")])

    @Test func concurrentRequestsAllGetTheirOwnResults() async throws {
        let node = try Node(cluster: Self.cluster, region: Self.region, storage: InMemoryStorage())
        let table = try TableName("t")
        #expect(try await node.perform(.createTable(table, definition: .object([:]))).get() != .tableDeleted(table))
        let versions = try await withThrowingTaskGroup(of: (Int, ItemVersion).self) { group in
            for index in 0..<400 {
                group.addTask {
                    guard case .written(_, let version, _) = try await node.perform(.putItem(table, try Key("k\(index)"), .integer(Int64(index)), .none)).get() else {
                        throw MeridianError.invalid("test", "unexpected reply")
                    }
                    return (index, version)
                }
            }
            return try await group.reduce(into: [Int: ItemVersion]()) { $0[$1.0] = $1.1 }
        }
        #expect(Set(versions.values).count == 400, "every write has its own version")
        for index in [0, 199, 399] {
            guard case .item(let item, _) = try await node.perform(.getItem(table, try Key("k\(index)"), .eventual)).get() else {
                Issue.record("no item")
                continue
            }
            #expect(item.value == .integer(Int64(index)))
            #expect(item.version == versions[index])
        }
        await node.shutdown()
    }

    @Test func requestsAfterShutdownAreRefusedWith503() async throws {
        let node = try Node(cluster: Self.cluster, region: Self.region, storage: InMemoryStorage())
        await node.shutdown()
        let result = await node.perform(.listTables)
        #expect(throws: MeridianError(.unavailable, code: "shutting_down", "the region is shutting down")) { try result.get() }
    }

    @Test func aDataDirectoryIsLockedAgainstASecondNode() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-lock-\(getpid())-\(UInt64.random(in: 0...UInt64.max))").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let options = NodeOptions(region: Self.region, dataDirectory: path)
        let first = try Node(cluster: Self.cluster, options: options)
        #expect(throws: MeridianError.self) { try Node(cluster: Self.cluster, options: options) }
        await first.shutdown()
    }

    @Test func wallClockIsInjected() async throws {
        let node = try Node(cluster: Self.cluster, region: Self.region, storage: InMemoryStorage(), wallMilliseconds: { 1_234_567 })
        let table = try TableName("t")
        _ = await node.perform(.createTable(table, definition: .object([:])))
        guard case .written(_, let version, _) = try await node.perform(.putItem(table, try Key("k"), .null, .none)).get() else {
            Issue.record("no version")
            return
        }
        #expect(version.timestamp.physicalMilliseconds == 1_234_567)
        await node.shutdown()
    }
}

struct NodeOptionsTests {
    static let east = try! RegionID("us-east")
    static let oneRegion = ClusterConfiguration(regions: [RegionEndpoint(name: east, api: "127.0.0.1:0", peer: "127.0.0.1:0")])
    static let twoRegions = ClusterConfiguration(regions: [
        RegionEndpoint(name: east, api: "127.0.0.1:0", peer: "127.0.0.1:0"),
        RegionEndpoint(name: try! RegionID("eu-west"), api: "127.0.0.1:0", peer: "127.0.0.1:0"),
    ])

    @Test func normalSyncIsRefusedInAClusterOfSeveralRegionsOnly() throws {
        let options = NodeOptions(region: Self.east, dataDirectory: "unused", syncPolicy: .normal)
        #expect(throws: Never.self) { try options.validate(for: Self.oneRegion) }
        let error = #expect(throws: MeridianError.self) { try options.validate(for: Self.twoRegions) }
        #expect(error?.code == "invalid_node_options")
        #expect(error?.message.contains("sync 'normal' is refused in a cluster of several regions") == true)
        #expect(throws: Never.self) { try NodeOptions(region: Self.east, dataDirectory: "unused", syncPolicy: .full).validate(for: Self.twoRegions) }
    }

    @Test func aRefusedNodeOpensNoDataDirectory() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-node-options-\(UInt64.random(in: 0...UInt64.max))")
        let options = NodeOptions(region: Self.east, dataDirectory: directory.path, syncPolicy: .normal)
        #expect(throws: MeridianError.self) { try Node(cluster: Self.twoRegions, options: options) }
        #expect(!FileManager.default.fileExists(atPath: directory.path))
    }

    @Test func theValueLimitAndTheSessionWaitMustBeInRange() {
        for valueBytesMax in [0, Limits.valueBytesMaxMax + 1] {
            let options = NodeOptions(region: Self.east, dataDirectory: "unused", valueBytesMax: valueBytesMax)
            #expect(throws: MeridianError.self) { try options.validate(for: Self.oneRegion) }
        }
        #expect(throws: Never.self) { try NodeOptions(region: Self.east, dataDirectory: "unused", valueBytesMax: Limits.valueBytesMaxMax).validate(for: Self.oneRegion) }
        var options = NodeOptions(region: Self.east, dataDirectory: "unused")
        options.sessionWaitMilliseconds = Node.sessionWaitMillisecondsMax + 1
        #expect(throws: MeridianError.self) { try options.validate(for: Self.oneRegion) }
        options.sessionWaitMilliseconds = Node.sessionWaitMillisecondsMax
        #expect(throws: Never.self) { try options.validate(for: Self.oneRegion) }
    }
}
