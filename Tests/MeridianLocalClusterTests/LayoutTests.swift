import Foundation
import MeridianLocalCluster
import MeridianNode
import Testing

/// Ports, cluster files and command lines of a local cluster.
struct LayoutTests {
    @Test func devPortsPutEachPeerPortAHundredAboveItsAPIPort() {
        #expect(LocalPorts.consecutive(base: 7001, count: 3) == [7001, 7002, 7003, 7101, 7102, 7103])
    }

    @Test func freePortsAreDistinct() throws {
        let ports = try LocalPorts.free(8)
        #expect(Set(ports).count == 8)
        #expect(ports.allSatisfy { (1...65535).contains($0) })
    }

    @Test func aLoopbackClusterFileReadsBackAsWritten() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-layout-\(UInt64.random(in: 0...UInt64.max))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let names = ["us-east", "ap-south"]
        var configuration = try ClusterConfiguration.loopback(regions: names, ports: [7001, 7002, 7101, 7102],
                                                              latencyMilliseconds: Geography.latencyMilliseconds(between: names))
        configuration.peerSecret = String(repeating: "7", count: 64)
        let file = folder.appendingPathComponent("cluster.json")
        try configuration.write(to: file)
        let read = try ClusterConfiguration.load(path: file.path)
        #expect(read == configuration)
        #expect(read.regions.map(\.api) == ["127.0.0.1:7001", "127.0.0.1:7002"])
        #expect(read.regions.map(\.peer) == ["127.0.0.1:7101", "127.0.0.1:7102"])
        #expect(read.latencyMilliseconds == ["us-east": ["ap-south": 93], "ap-south": ["us-east": 93]])
    }

    @Test func aNameThatIsNotARegionIsRefused() {
        #expect(throws: (any Error).self) { try ClusterConfiguration.loopback(regions: ["US East"], ports: [1, 2], latencyMilliseconds: nil) }
    }

    @Test func aRegionTheMatrixDoesNotKnowGetsNoDelay() {
        #expect(Geography.latencyMilliseconds(between: ["us-east", "mars"]) == ["us-east": ["mars": 0], "mars": ["us-east": 0]])
        #expect(Geography.latencyMilliseconds(between: ["us-east"]).isEmpty)
    }

    @Test func theCommandLineHasDevsOrder() {
        var command = ServeCommand(executable: URL(fileURLWithPath: "/bin/meridian"), clusterFile: URL(fileURLWithPath: "/d/cluster.json"),
                                   region: "eu-west", dataDirectory: URL(fileURLWithPath: "/d/eu-west"))
        #expect(command.arguments == ["serve", "--cluster", "/d/cluster.json", "--region", "eu-west", "--data", "/d/eu-west"])
        command.allowFaultInjection = true
        command.devControl = "127.0.0.1:7100"
        command.injectLatency = false
        command.extraArguments = ["--sync", "full"]
        #expect(command.commandLine == "/bin/meridian serve --cluster /d/cluster.json --region eu-west --data /d/eu-west --allow-fault-injection --dev-control 127.0.0.1:7100 --no-latency --sync full")
    }
}
