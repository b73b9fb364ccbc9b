import Foundation
import MeridianCore
import MeridianLocalCluster
import MeridianTestSupport
import Testing

/// The chat app (examples/chat) in a real browser: `meridian dev` with its injected
/// latency, one chat instance per region, and headless Chromium with one page per region,
/// driven through the DevTools protocol. Screenshots go to `.build/chat/` (under the
/// package folder).
///
/// It also prints, for the messages the pages exchanged, the delay from a page's send to
/// another page's arrival per pair of regions, next to the injected one-way delay (set
/// `MERIDIAN_CHAT_MESSAGES` for more messages per page; nothing about speed is asserted).
///
/// Skipped, with a message, only when Chromium is missing and `CI` is not `true`.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct ChatBrowserTests {
    static let regions = ["us-east", "eu-west", "ap-south"]
    static let users = ["us-east": "ann", "eu-west": "bea", "ap-south": "raj"]
    static let screenshots = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(".build/chat")
    static let chatBinary = meridianBinary.deletingLastPathComponent().appendingPathComponent("chat")
    static let messagesPerPage = ProcessInfo.processInfo.environment["MERIDIAN_CHAT_MESSAGES"].flatMap(Int.init) ?? 3

    @Test(.enabled(if: DashboardBrowserTests.chromium != nil || DashboardBrowserTests.isCI, "chromium is not installed (apt-get install chromium; .ci/run installs it): browser test skipped"))
    func threePagesInThreeRegionsChatEditReactAndKeepGoingWhenARegionStops() async throws {
        let chromium = try #require(DashboardBrowserTests.chromium, "CI=true but chromium is missing: .ci/run must install Debian's chromium")
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let basePort = try LocalPorts.free(1)[0] % 20_000 + 20_000
        let data = directory.url.appendingPathComponent("data")
        let dev = try Self.start(meridianBinary, ["dev", "--data", data.path, "--base-port", String(basePort)], log: directory.url.appendingPathComponent("dev.log"))
        defer { Self.stop(dev) }
        let api = Dictionary(uniqueKeysWithValues: Self.regions.enumerated().map { ($1, "http://127.0.0.1:\(basePort + $0)") })
        let tokenFile = data.appendingPathComponent("token")
        #expect(try await Self.waitUntil { FileManager.default.fileExists(atPath: tokenFile.path) })
        let auth = ["Authorization": "Bearer \(try String(contentsOf: tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))"]
        for url in api.values {
            #expect(try await Self.waitUntil { (try? await send("GET", "\(url)/v1/health"))?.status == 200 }, "\(url) did not come up")
        }
        #expect(try await send("PUT", "\(api["us-east"]!)/v1/tables/chat", body: #"{"mode": "multi-primary", "conflict": "merge"}"#, headers: auth).status == 201)
        for url in api.values {
            #expect(try await Self.waitUntil { (try? await send("GET", "\(url)/v1/tables/chat", headers: auth))?.status == 200 })
        }

        // One chat instance per region, each with Meridian's nearest region its own.
        let ports = try LocalPorts.free(3)
        var apps: [Process] = []
        defer { apps.forEach(Self.stop) }
        for (index, region) in Self.regions.enumerated() {
            apps.append(try Self.start(Self.chatBinary, ["--region", region, "--cluster", data.appendingPathComponent("cluster.json").path, "--port", String(ports[index])],
                                       log: directory.url.appendingPathComponent("chat-\(region).log")))
        }
        for port in ports {
            #expect(try await Self.waitUntil { (try? await send("GET", "http://127.0.0.1:\(port)/api/info"))?.status == 200 }, "chat on \(port) did not come up")
        }

        let browser = try DevToolsBrowser(executable: chromium, profile: directory.url.appendingPathComponent("chromium-profile").path)
        var pages: [String: DevToolsBrowser.Page] = [:]
        for (index, region) in Self.regions.enumerated() {
            pages[region] = try browser.open("http://127.0.0.1:\(ports[index])/?user=\(Self.users[region]!)&room=lobby", name: region)
        }
        func evaluate(_ region: String, _ expression: String) throws -> Any? { try browser.evaluate(pages[region]!, expression) }
        func everyPage(_ what: String, _ expression: String) async throws {
            for region in Self.regions {
                let held = try await Self.waitUntil { (try? evaluate(region, expression)) as? Bool == true }
                #expect(held, "the \(region) page: \(what)")
            }
        }
        try await everyPage("joined through its own region", "chat.servedBy === chat.appRegion")

        // Three pages exchange messages.
        for region in Self.regions { _ = try evaluate(region, "chat.send('hello from \(region)')") }
        try await everyPage("shows the three greetings", "['us-east', 'eu-west', 'ap-south'].every((r) => [...document.querySelectorAll('.message .text')].some((e) => e.textContent === 'hello from ' + r))")
        for round in 0..<Self.messagesPerPage {
            _ = try browser.evaluateTogether(Self.regions.map { (pages[$0]!, "chat.send('message \(round) from \($0)')") })
            try await Task.sleep(for: .milliseconds(200))
        }
        try await everyPage("shows every message", "document.querySelectorAll('.message').length === \(3 + 3 * Self.messagesPerPage)")

        func key(_ text: String) throws -> String {
            try #require(evaluate("us-east", "[...chat.messages.values()].find((m) => m.value.text === '\(text)').key") as? String)
        }
        let greetingOfApSouth = try key("hello from ap-south")
        let greetingOfUsEast = try key("hello from us-east")
        // ap-south is cut off while it reacts and two other regions edit: the writes are
        // concurrent for certain, whatever the timing, and meet when the links heal.
        for peer in ["us-east", "eu-west"] {
            #expect(try await send("PUT", "\(api["ap-south"]!)/v1/debug/links/\(peer)", body: #"{"cut": true, "direction": "both"}"#, headers: auth).status == 200)
        }
        _ = try browser.evaluateTogether([
            (pages["us-east"]!, "chat.edit('\(greetingOfApSouth)', 'hello from ap-south (edited by ann)')"),
            (pages["ap-south"]!, "chat.react('\(greetingOfApSouth)', '👍')"),
            (pages["eu-west"]!, "chat.edit('\(greetingOfUsEast)', 'bea was here')"),
        ])
        _ = try evaluate("ap-south", "chat.edit('\(greetingOfUsEast)', 'raj was here')")
        for peer in ["us-east", "eu-west"] {
            #expect(try await send("PUT", "\(api["ap-south"]!)/v1/debug/links/\(peer)", body: #"{"cut": false, "direction": "both"}"#, headers: auth).status == 200)
        }
        let message = { (key: String) in "chat.messages.get('\(key)').value" }
        try await everyPage("keeps both the edit and the reaction made concurrently in two regions",
                            "\(message(greetingOfApSouth)).text === 'hello from ap-south (edited by ann)' && \(message(greetingOfApSouth))['react:👍:raj'] === true")
        try await everyPage("agrees on one of two concurrent edits of the same text",
                            "['bea was here', 'raj was here'].includes(\(message(greetingOfUsEast)).text) && [...document.querySelectorAll('.message')].every((e) => e.dataset.key !== '\(greetingOfUsEast)' || e.querySelector('.text').textContent === \(message(greetingOfUsEast)).text)")
        try await everyPage("shows the overwritten edit from the conflict ledger",
                            "chat.conflicts.some((c) => c.key === '\(greetingOfUsEast)' && c.field === 'text') && document.querySelector('.conflict') !== null")
        let agreed = try evaluate("us-east", "\(message(greetingOfUsEast)).text") as? String
        for region in Self.regions { #expect(try evaluate(region, "\(message(greetingOfUsEast)).text") as? String == agreed) }
        try FileManager.default.createDirectory(at: Self.screenshots, withIntermediateDirectories: true)
        try browser.screenshot(pages["ap-south"]!).write(to: Self.screenshots.appendingPathComponent("ap-south-after-concurrent-edits.png"))

        // eu-west stops (SIGKILL, as the dashboard does): its page goes on through us-east, the next-nearest.
        #expect(try await send("PUT", "\(api["us-east"]!)/v1/debug/regions/eu-west", body: #"{"running": false}"#, headers: auth).status == 200)
        #expect(try await Self.waitUntil { (try? await send("GET", "\(api["eu-west"]!)/v1/health")) == nil }, "eu-west still answers")
        _ = try evaluate("eu-west", "chat.send('bea writes while eu-west is down')")
        try await everyPage("receives the message sent while eu-west is down",
                            "[...document.querySelectorAll('.message .text')].some((e) => e.textContent === 'bea writes while eu-west is down')")
        _ = try evaluate("us-east", "chat.send('ann answers bea')")
        let reached = try await Self.waitUntil { (try? evaluate("eu-west", "[...document.querySelectorAll('.message .text')].some((e) => e.textContent === 'ann answers bea')")) as? Bool == true }
        #expect(reached, "the eu-west page receives through another region")
        #expect(try evaluate("eu-west", "chat.servedBy") as? String == "us-east", "the eu-west page reads from the next-nearest region")

        for region in Self.regions {
            let shot = try browser.screenshot(pages[region]!)
            #expect(shot.count > 10_000, "the \(region) screenshot is \(shot.count) bytes")
            try shot.write(to: Self.screenshots.appendingPathComponent("\(region).png"))
        }
        try printDelays(browser, pages, latency: Self.latency(data.appendingPathComponent("cluster.json")))
    }

    /// Prints, per pair of regions, the delay from a page's send to another page's arrival
    /// (messages sent before eu-west stopped), next to the injected one-way delay.
    func printDelays(_ browser: DevToolsBrowser, _ pages: [String: DevToolsBrowser.Page], latency: [String: [String: Double]]) throws {
        var feedDelays: [Double] = []
        for region in Self.regions {
            let delays = try browser.evaluate(pages[region]!, "JSON.stringify(chat.feedDelays)") as? String ?? "[]"
            feedDelays += (try JSONSerialization.jsonObject(with: Data(delays.utf8)) as? [Double]) ?? []
        }
        feedDelays.sort()
        if !feedDelays.isEmpty {
            print("chat: from a change's apply in the serving region to its arrival in the page: p50 \(Int(feedDelays[(feedDelays.count - 1) / 2])) ms, p99 \(Int(feedDelays[Int(Double(feedDelays.count - 1) * 0.99)])) ms, n=\(feedDelays.count)")
        }
        print("chat delivery delay, page to page (send to arrival), \(Self.messagesPerPage + 1) messages per page:")
        for region in Self.regions {
            let delays = try browser.evaluate(pages[region]!, "JSON.stringify(chat.delays)") as? String ?? "[]"
            let rows = (try JSONSerialization.jsonObject(with: Data(delays.utf8)) as? [[String: Any]]) ?? []
            for source in Self.regions {
                let samples = rows.filter { $0["from"] as? String == source && $0["to"] as? String == region }.compactMap { $0["milliseconds"] as? Double }.sorted()
                guard !samples.isEmpty else { continue }
                let p50 = samples[(samples.count - 1) / 2]
                let p99 = samples[min(samples.count - 1, Int((Double(samples.count) * 0.99).rounded(.up)) - 1)]
                let injected = source == region ? 0 : latency[source]?[region] ?? latency[region]?[source] ?? 0
                print("  \(source) -> \(region): p50 \(Int(p50)) ms, p99 \(Int(p99)) ms, n=\(samples.count) (injected one-way \(injected) ms)")
            }
        }
    }

    static func latency(_ clusterFile: URL) throws -> [String: [String: Double]] {
        let data = try Data(contentsOf: clusterFile)
        let cluster = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        return cluster?["latency_ms"] as? [String: [String: Double]] ?? [:]
    }

    static func start(_ executable: URL, _ arguments: [String], log: URL) throws -> Process {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return process
    }

    /// Stops a process with SIGINT, and with SIGKILL when it has not exited ten seconds later.
    static func stop(_ process: Process) {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGINT)
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// Polls `condition` until it holds, for up to thirty seconds.
    static func waitUntil(_ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return try await condition()
    }
}
