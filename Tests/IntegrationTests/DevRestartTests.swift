import Foundation
import MeridianCore
import MeridianLocalCluster
import MeridianTestSupport
import Testing

/// `meridian dev` stopped and started again over the same data folder (issue 15, item 7):
/// what `meridian tokens add` put in its `secrets.json` survives the restart.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct DevRestartTests {
    @Test func aRestartKeepsTheTokensAddedToTheSecretsFile() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let data = directory.url.appendingPathComponent("data")
        let basePort = try LocalPorts.free(1)[0] % 20_000 + 20_000
        let url = "http://127.0.0.1:\(basePort)"

        var dev = try startDev(data: data, basePort: basePort)
        let devToken = try String(contentsOf: data.appendingPathComponent("token"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let added = try runCLI(["tokens", "add", "ops", "--role", "admin", "--secrets", data.appendingPathComponent("secrets.json").path])
        #expect(added.status == 0, "\(added.error)")
        let opsToken = added.output.trimmingCharacters(in: .whitespacesAndNewlines)
        stop(dev)

        dev = try startDev(data: data, basePort: basePort)
        defer { stop(dev) }
        let created = try await send("PUT", "\(url)/v1/tables/notes", body: "{}", headers: ["Authorization": "Bearer \(opsToken)"])
        #expect(created.status == 201, "the token added before the restart: \(String(decoding: created.body, as: UTF8.self))")
        #expect(try await send("GET", "\(url)/v1/tables/notes", headers: ["Authorization": "Bearer \(devToken)"]).status == 200)
        let listed = try runCLI(["tokens", "list", "--secrets", data.appendingPathComponent("secrets.json").path])
        #expect(listed.output.contains("ops\tadmin") && listed.output.contains("dev-admin\tadmin"), "\(listed.output)")
    }

    /// Starts `meridian dev` with one region and waits until it serves.
    private func startDev(data: URL, basePort: Int) throws -> Process {
        let dev = Process()
        dev.executableURL = meridianBinary
        dev.arguments = ["dev", "--regions", "us-east", "--data", data.path, "--base-port", String(basePort), "--no-latency"]
        dev.standardOutput = FileHandle.nullDevice
        dev.standardError = FileHandle.nullDevice
        try dev.run()
        let deadline = Date().addingTimeInterval(Double(LocalCluster.startupMillisecondsMax) / 1000)
        while Date() < deadline {
            if rawHealth(port: basePort) { return dev }
            Thread.sleep(forTimeInterval: 0.1)
        }
        stop(dev)
        throw MeridianError.invalid("test", "meridian dev did not serve on port \(basePort)")
    }

    private func rawHealth(port: Int) -> Bool {
        (try? rawExchange(port: port, bytes: Array("GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8)))?.hasPrefix("HTTP/1.1 200") == true
    }

    private func stop(_ dev: Process) {
        guard dev.isRunning else { return }
        kill(dev.processIdentifier, SIGINT)
        dev.waitUntilExit()
    }
}
