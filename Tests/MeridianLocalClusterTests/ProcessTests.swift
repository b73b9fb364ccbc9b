import Foundation
import MeridianLocalCluster
import MeridianNode
import Testing

/// Starting, watching, killing and stopping processes, with small shell scripts standing
/// in for `meridian serve` (they print its announcement line), so no server is needed.
@Suite(.serialized)
final class LocalClusterProcessTests {
    let folder: URL

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-local-cluster-\(UInt64.random(in: 0...UInt64.max))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(at: folder)
    }

    /// A cluster of `regions` whose "meridian" is the shell script `body` (arguments as
    /// `meridian serve` gets them: $5 is the region, $7 the data directory).
    func cluster(_ regions: [String], script body: String) throws -> LocalCluster {
        let executable = folder.appendingPathComponent("fake-meridian")
        try Data("#!/bin/sh\n\(body)\n".utf8).write(to: executable)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: executable.path)
        let configuration = try ClusterConfiguration.loopback(regions: regions, ports: LocalPorts.consecutive(base: 7001, count: regions.count),
                                                              latencyMilliseconds: nil)
        let clusterFile = folder.appendingPathComponent("cluster.json")
        try configuration.write(to: clusterFile)
        return LocalCluster(configuration: configuration, clusterFile: clusterFile, executable: executable, folder: folder)
    }

    /// Announces port 5000 + the number of times the region started, then waits.
    static let announcing = """
        count=$(( $(cat "$7.count" 2>/dev/null || echo 0) + 1 )); echo $count > "$7.count"
        echo "meridian: region $5 serving API on http://127.0.0.1:$((5000 + count)) (data $7, sync full)"
        exec sleep 30
        """

    @Test func aRegionServesOnceItsLogAnnouncesItsAPI() async throws {
        let cluster = try cluster(["us-east"], script: Self.announcing)
        defer { cluster.stopAll() }
        #expect(cluster.url("us-east") == "http://127.0.0.1:7001", "the cluster file's address until the log says otherwise")
        #expect(try cluster.start("us-east"))
        #expect(try cluster.start("us-east") == false, "a running region is not started twice")
        try await cluster.waitUntilServing("us-east")
        #expect(cluster.url("us-east") == "http://127.0.0.1:5001")
    }

    @Test func aRestartedRegionIsWatchedFromItsNewLines() throws {
        let cluster = try cluster(["us-east"], script: Self.announcing)
        defer { cluster.stopAll() }
        try cluster.start("us-east")
        try cluster.waitUntilServing("us-east")
        #expect(cluster.kill9("us-east"))
        #expect(cluster.kill9("us-east") == false, "it is no longer running")
        try cluster.start("us-east")
        try cluster.waitUntilServing("us-east")
        // The log holds both announcements; only the second belongs to this process.
        #expect(cluster.url("us-east") == "http://127.0.0.1:5002")
        let log = try String(contentsOf: try #require(cluster.log(of: "us-east")), encoding: .utf8)
        #expect(log.contains("127.0.0.1:5001") && log.contains("127.0.0.1:5002"))
    }

    @Test func aProcessThatExitsBeforeServingFailsTheWaitWithItsOutput() throws {
        let cluster = try cluster(["us-east"], script: "echo 'cannot open the data directory' >&2; exit 3")
        try cluster.start("us-east")
        let error = #expect(throws: LocalClusterError.self) { try cluster.waitUntilServing("us-east") }
        #expect(error?.description.contains("exited with status 3") == true)
        #expect(error?.description.contains("cannot open the data directory") == true)
    }

    @Test func onlyARegionThatExitedOnItsOwnIsReportedAndOnlyOnce() throws {
        let cluster = try cluster(["us-east", "eu-west"], script: """
            echo "meridian: region $5 serving API on http://127.0.0.1:6000 (data $7)"
            if [ "$5" = eu-west ]; then exit 7; fi
            exec sleep 30
            """)
        defer { cluster.stopAll() }
        try cluster.startAll()
        try cluster.waitUntilServing("us-east")
        try cluster.waitUntilServing("eu-west")
        cluster.process(of: "eu-west")?.waitForExit()
        cluster.kill9("us-east")
        let exited = cluster.newlyExited()
        #expect(exited.map(\.region) == ["eu-west"])
        #expect(exited.map(\.status) == [7])
        #expect(cluster.newlyExited().isEmpty)
    }

    @Test func stopAllEndsARegionThatIgnoresSIGTERMAfterTheGracePeriod() throws {
        let cluster = try cluster(["us-east", "eu-west"], script: """
            trap '' TERM
            echo "meridian: region $5 serving API on http://127.0.0.1:6000 (data $7)"
            while true; do sleep 1; done
            """)
        try cluster.startAll()
        for region in cluster.regions { try cluster.waitUntilServing(region) }
        let processes = cluster.regions.compactMap(cluster.process(of:))
        #expect(processes.count == 2)
        cluster.stopAll(killAfterMilliseconds: 200)
        #expect(processes.allSatisfy { !$0.isRunning })
        #expect(cluster.newlyExited().isEmpty, "regions stopped here are not reported")
    }
}
