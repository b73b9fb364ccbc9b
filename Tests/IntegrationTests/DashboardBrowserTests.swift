import Foundation
import MeridianCore
import MeridianLocalCluster
import MeridianTestSupport
import Testing

/// The dashboard in a real browser: headless Chromium loads `/dashboard` from a running
/// `meridian dev` of three regions, the test checks the rendered DOM and saves a screenshot
/// to `.build/dashboard/dashboard.png` (under the package folder).
///
/// Skipped, with a message, only when Chromium is missing and `CI` is not `true`; in CI a
/// missing browser fails the test (`.ci/run` installs Debian's `chromium`).
@Suite(.serialized, .timeLimit(.minutes(10)))
struct DashboardBrowserTests {
    static let chromium: String? = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }
    static let isCI = ProcessInfo.processInfo.environment["CI"] == "true"
    static let screenshot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(".build/dashboard/dashboard.png")

    @Test(.enabled(if: chromium != nil || isCI, "chromium is not installed (apt-get install chromium; .ci/run installs it): browser test skipped"))
    func theDashboardShowsRegionsLinksTablesAndConflictsInABrowser() async throws {
        let browser = try #require(Self.chromium, "CI=true but chromium is missing: .ci/run must install Debian's chromium")
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let basePort = try LocalPorts.free(1)[0] % 20_000 + 20_000
        let dev = Process()
        dev.executableURL = meridianBinary
        dev.arguments = ["dev", "--data", directory.url.appendingPathComponent("data").path, "--base-port", String(basePort)]
        dev.standardOutput = FileHandle.nullDevice
        dev.standardError = FileHandle.nullDevice
        try dev.run()
        defer {
            kill(dev.processIdentifier, SIGINT)
            dev.waitUntilExit()
        }
        let urls = (0..<3).map { "http://127.0.0.1:\(basePort + $0)" }
        let tokenFile = directory.url.appendingPathComponent("data/token")
        #expect(try await waitUntil { FileManager.default.fileExists(atPath: tokenFile.path) })
        let token = try String(contentsOf: tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let auth = ["Authorization": "Bearer \(token)"]
        for url in urls {
            #expect(try await waitUntil { (try? await send("GET", "\(url)/v1/health"))?.status == 200 }, "\(url) did not come up")
        }

        #expect(try await send("PUT", "\(urls[0])/v1/tables/notes", body: #"{"conflict": "lww"}"#, headers: auth).status == 201)
        #expect(try await waitUntil { (try? await send("GET", "\(urls[2])/v1/tables/notes", headers: auth))?.status == 200 })
        // Concurrent writes to the same keys in us-east and ap-south (93 ms apart): conflicts.
        for index in 0..<4 {
            async let east = send("PUT", "\(urls[0])/v1/tables/notes/items/k\(index)", body: #"{"from": "us-east"}"#, headers: auth)
            async let south = send("PUT", "\(urls[2])/v1/tables/notes/items/k\(index)", body: #"{"from": "ap-south"}"#, headers: auth)
            _ = try await (east, south)
        }
        #expect(try await waitUntil {
            let conflicts = try? await send("GET", "\(urls[0])/v1/tables/notes/conflicts", headers: auth).json()
            if case .array(let rows)? = conflicts?["conflicts"] { return !rows.isEmpty }
            return false
        })

        let page = "\(urls[0])/dashboard#token=\(token)"
        let profile = directory.url.appendingPathComponent("chromium-profile").path
        let common = ["--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=\(profile)", "--virtual-time-budget=5000", "--window-size=1600,1000"]
        let dom = try run(browser, common + ["--dump-dom", page])
        for region in ["us-east", "eu-west", "ap-south"] {
            #expect(dom.contains(#"class="region"#) && dom.contains(#"data-region="\#(region)""#), "region \(region) missing from the DOM")
        }
        #expect(dom.components(separatedBy: #"<line class="link"#).count - 1 == 3, "three links between three regions")
        #expect(dom.contains(#"class="link-lag""#) && dom.contains(" ms"), "links carry their measured lag")
        #expect(dom.contains(#"data-table="notes""#), "the table is listed")
        #expect(dom.contains(#"class="conflict-row""#), "the conflict ledger of the table is shown")
        #expect(dom.contains("multi-primary"))

        try FileManager.default.createDirectory(at: Self.screenshot.deletingLastPathComponent(), withIntermediateDirectories: true)
        try? FileManager.default.removeItem(at: Self.screenshot)
        _ = try run(browser, common + ["--screenshot=\(Self.screenshot.path)", page])
        let size = (try? FileManager.default.attributesOfItem(atPath: Self.screenshot.path)[.size] as? Int) ?? 0
        #expect(size > 20_000, "the screenshot at \(Self.screenshot.path) is \(size) bytes")
    }

    /// Runs a program; returns its standard output (standard error is discarded).
    private func run(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// Polls `condition` until it holds, for up to thirty seconds.
    private func waitUntil(_ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return try await condition()
    }
}
