import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Headless Chromium driven through the DevTools protocol over pipes
/// (`--remote-debugging-pipe`): the browser reads commands on its file descriptor 3 and
/// writes answers and events on 4, each message one JSON object ending in a NUL byte. No
/// WebSocket and no extra package: the tests open pages, run script in them and take
/// screenshots.
final class DevToolsBrowser {
    struct Failure: Error, CustomStringConvertible { let description: String }

    /// One page (a target) and the session attached to it.
    struct Page {
        let session: String
        let name: String
    }

    private let pid: pid_t
    private let commands: Int32
    private let answers: Int32
    private var nextID = 0
    private var received: [UInt8] = []
    /// Answers read while waiting for another one, by id.
    private var stashed: [Int: [String: Any]] = [:]
    /// The longest one command may take, in seconds.
    static let commandTimeoutSeconds = 60.0

    init(executable: String, profile: String) throws {
        var toBrowser: [Int32] = [0, 0]
        var fromBrowser: [Int32] = [0, 0]
        guard pipe(&toBrowser) == 0, pipe(&fromBrowser) == 0 else { throw Failure(description: "pipe failed") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, toBrowser[0], 3)
        posix_spawn_file_actions_adddup2(&actions, fromBrowser[1], 4)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        for descriptor in [toBrowser[1], fromBrowser[0]] { posix_spawn_file_actions_addclose(&actions, descriptor) }
        let arguments = [executable, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe", "--user-data-dir=\(profile)",
                         "--disable-background-timer-throttling", "--disable-renderer-backgrounding", "--disable-backgrounding-occluded-windows",
                         "--no-first-run", "--window-size=1200,800", "about:blank"]
        var argv = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var child: pid_t = 0
        let spawned = posix_spawn(&child, executable, &actions, nil, &argv, environ)
        close(toBrowser[0])
        close(fromBrowser[1])
        guard spawned == 0 else { throw Failure(description: "cannot start \(executable): error \(spawned)") }
        pid = child
        commands = toBrowser[1]
        answers = fromBrowser[0]
    }

    deinit {
        close(commands)
        close(answers)
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }

    /// Opens `url` in a new page and attaches to it.
    func open(_ url: String, name: String) throws -> Page {
        let created = try command("Target.createTarget", ["url": url, "newWindow": true, "width": 1200, "height": 800])
        guard let target = created["targetId"] as? String else { throw Failure(description: "no target id: \(created)") }
        let attached = try command("Target.attachToTarget", ["targetId": target, "flatten": true])
        guard let session = attached["sessionId"] as? String else { throw Failure(description: "no session id: \(attached)") }
        return Page(session: session, name: name)
    }

    /// Runs `expression` in the page (awaiting a promise it returns); returns its value as JSON.
    func evaluate(_ page: Page, _ expression: String) throws -> Any? {
        try evaluationResult(command("Runtime.evaluate", evaluation(expression), session: page.session), page: page)
    }

    /// Runs one expression in each page at the same moment: every command is sent before any
    /// answer is read. Returns the values in order.
    func evaluateTogether(_ runs: [(Page, String)]) throws -> [Any?] {
        let ids = try runs.map { page, expression in try send("Runtime.evaluate", evaluation(expression), session: page.session) }
        return try zip(ids, runs).map { id, run in try evaluationResult(answer(id), page: run.0) }
    }

    /// A PNG of the page as it is rendered now.
    func screenshot(_ page: Page) throws -> Data {
        let shot = try command("Page.captureScreenshot", ["format": "png"], session: page.session)
        guard let base64 = shot["data"] as? String, let data = Data(base64Encoded: base64) else { throw Failure(description: "no screenshot of \(page.name)") }
        return data
    }

    private func evaluation(_ expression: String) -> [String: Any] {
        ["expression": expression, "awaitPromise": true, "returnByValue": true]
    }

    private func evaluationResult(_ result: [String: Any], page: Page) throws -> Any? {
        if let exception = result["exceptionDetails"] as? [String: Any] {
            let detail = (exception["exception"] as? [String: Any])?["description"] ?? exception["text"] ?? exception
            throw Failure(description: "script failed in \(page.name): \(detail)")
        }
        return (result["result"] as? [String: Any])?["value"]
    }

    /// Sends a command and waits for its answer.
    func command(_ method: String, _ parameters: [String: Any] = [:], session: String? = nil) throws -> [String: Any] {
        try answer(send(method, parameters, session: session))
    }

    private func send(_ method: String, _ parameters: [String: Any], session: String?) throws -> Int {
        nextID += 1
        var message: [String: Any] = ["id": nextID, "method": method, "params": parameters]
        if let session { message["sessionId"] = session }
        var bytes = [UInt8](try JSONSerialization.data(withJSONObject: message))
        bytes.append(0)
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(commands, $0.baseAddress, $0.count) }
            guard written > 0 else { throw Failure(description: "the browser's command pipe closed") }
            offset += written
        }
        return nextID
    }

    /// Reads messages until the answer to `id` arrives (events are skipped, other answers kept).
    private func answer(_ id: Int) throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(Self.commandTimeoutSeconds)
        while true {
            if let message = stashed.removeValue(forKey: id) {
                if let error = message["error"] { throw Failure(description: "DevTools error: \(error)") }
                return message["result"] as? [String: Any] ?? [:]
            }
            let message = try readMessage(deadline: deadline)
            if let answered = message["id"] as? Int { stashed[answered] = message }
        }
    }

    private func readMessage(deadline: Date) throws -> [String: Any] {
        while true {
            if let end = received.firstIndex(of: 0) {
                let body = Data(received[..<end])
                received.removeSubrange(...end)
                guard let message = try JSONSerialization.jsonObject(with: body) as? [String: Any] else { throw Failure(description: "not a JSON object") }
                return message
            }
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { throw Failure(description: "the browser did not answer within \(Self.commandTimeoutSeconds) s") }
            var descriptor = pollfd(fd: answers, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, Int32(min(left, 1) * 1000)) >= 0 else { throw Failure(description: "poll failed") }
            guard descriptor.revents != 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            let count = chunk.withUnsafeMutableBytes { read(answers, $0.baseAddress, $0.count) }
            guard count > 0 else { throw Failure(description: "the browser closed its pipe") }
            received += chunk[..<count]
        }
    }
}
