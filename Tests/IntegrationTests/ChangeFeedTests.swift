import Foundation
#if canImport(Glibc)
import Glibc
#endif
import MeridianCore
import MeridianTestSupport
import Testing

/// The change feed against three real regions: 10,000 changes written in all three, and in
/// each region a subscriber that disconnects and resumes 20 times, alternating Server-Sent
/// Events (through curl) and the JSON long poll. Each must see every change exactly once,
/// in its region's apply order. It also prints the delay from a change's apply to its SSE
/// event (nothing about speed is asserted).
@Suite(.serialized, .timeLimit(.minutes(10)))
struct ChangeFeedTests {
    static let regions = ["us-east", "eu-west", "ap-south"]
    static let changes = 10_000
    static let sessions = 21
    static let curl: String? = ["/usr/bin/curl", "/bin/curl"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// One change as a subscriber saw it.
    struct Seen {
        var sequence: UInt64
        var key: String
        var cursor: String
        /// Milliseconds from the region's apply to the event's arrival (SSE sessions only).
        var delayMilliseconds: Double?
    }

    @Test(.enabled(if: curl != nil || DashboardBrowserTests.isCI, "curl is not installed: change-feed test skipped"))
    func tenThousandChangesFromThreeRegionsReachAResumingSubscriberOnceEachInApplyOrder() async throws {
        let cluster = try TestCluster(regions: Self.regions, latencyMilliseconds: [:])
        defer { cluster.stop() }
        #expect(try await send("PUT", "\(cluster.url("us-east"))/v1/tables/feed", body: #"{"conflict": "lww"}"#).status == 201)
        var starts: [String: String] = [:]
        for region in Self.regions {
            #expect(try await Self.waitUntil { (try? await send("GET", "\(cluster.url(region))/v1/tables/feed"))?.status == 200 })
            starts[region] = try Self.string(try await send("GET", "\(cluster.url(region))/v1/tables/feed/changes").json()["cursor"])
        }

        // Subscribers follow from before the first write, concurrently with the writers.
        let subscribers = Self.regions.map { region in
            let url = cluster.url(region)
            let start = starts[region]!
            return Task { try await Self.subscribe(url: url, from: start, expecting: Self.changes) }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, region) in Self.regions.enumerated() {
                for writer in 0..<4 {
                    group.addTask {
                        var number = writer
                        while number * 3 + index < Self.changes {
                            let key = "k\(number * 3 + index)"
                            let answer = try await send("PUT", "\(cluster.url(region))/v1/tables/feed/items/\(key)", body: #"{"n": \#(number)}"#)
                            #expect(answer.status == 200, "put \(key) in \(region): \(answer.status)")
                            number += 4
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        var delays: [Double] = []
        let written = Set((0..<Self.changes).map { "k\($0)" })
        for (region, subscriber) in zip(Self.regions, subscribers) {
            let seen = try await subscriber.value
            #expect(seen.count == Self.changes, "\(region): \(seen.count) changes seen")
            #expect(Set(seen.map(\.key)) == written, "\(region): every change exactly once")
            #expect(seen.map(\.sequence) == seen.map(\.sequence).sorted() && Set(seen.map(\.sequence)).count == seen.count, "\(region): in increasing sequence")
            // The region's apply order, read again in one pass from the first cursor.
            let order = try await Self.readAll(url: cluster.url(region), from: starts[region]!)
            #expect(seen.map(\.sequence) == order.map(\.sequence) && seen.map(\.key) == order.map(\.key), "\(region): the region's apply order")
            delays += seen.compactMap(\.delayMilliseconds)
        }
        delays.sort()
        if !delays.isEmpty {
            print("change feed, apply to SSE event: p50 \(delays[(delays.count - 1) / 2]) ms, p99 \(delays[Int(Double(delays.count - 1) * 0.99)]) ms, max \(delays.last!) ms, n=\(delays.count)")
        }
    }

    /// Follows `url`'s feed of the table from `start` until `expecting` changes arrived, in
    /// `sessions` sessions that each end early (a disconnect) and resume from the last cursor.
    static func subscribe(url: String, from start: String, expecting: Int) async throws -> [Seen] {
        var seen: [Seen] = []
        var cursor = start
        let perSession = expecting / sessions + 1
        for session in 0..<sessions {
            let target = session == sessions - 1 ? expecting : min(expecting, seen.count + perSession)
            let batch = session % 2 == 0
                ? try await streamSession(url: url, from: cursor, until: target - seen.count)
                : try await pollSession(url: url, from: cursor, until: target - seen.count)
            seen += batch
            if let last = batch.last { cursor = last.cursor }
        }
        return seen
    }

    /// Runs blocking work on a thread of its own, so that it never holds one of the few
    /// threads of the concurrency runtime (the writers need them).
    static func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }

    /// One SSE session through curl, cut off once `count` changes arrived.
    static func streamSession(url: String, from cursor: String, until count: Int) async throws -> [Seen] {
        try await onThread { () throws -> [Seen] in
            let (pid, descriptor) = try spawnReading([curl!, "-sN", "--max-time", "120", "-H", "Accept: text/event-stream",
                                                      "\(url)/v1/tables/feed/changes?since=\(cursor)"])
            defer {
                close(descriptor)
                kill(pid, SIGKILL)
                var status: Int32 = 0
                waitpid(pid, &status, 0)
            }
            var seen: [Seen] = []
            var buffer = Data()
            var bytes = [UInt8](repeating: 0, count: 1 << 16)
            while seen.count < count {
                let read = bytes.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
                guard read > 0 else { break }
                let arrived = Date().timeIntervalSince1970 * 1000
                buffer += bytes[..<read]
                while let end = buffer.range(of: Data("\n\n".utf8)) {
                    let event = String(decoding: buffer[..<end.lowerBound], as: UTF8.self)
                    buffer.removeSubrange(..<end.upperBound)
                    guard event.contains("event: change"), let line = event.split(separator: "\n").first(where: { $0.hasPrefix("data: ") }),
                          case .object(let change)? = try? JSONValue.parse(Array(line.dropFirst(6).utf8), bytesMax: .max) else { continue }
                    var item = try Self.seen(change)
                    if case .integer(let applied)? = change["applied_at_ms"] { item.delayMilliseconds = arrived - Double(applied) }
                    if seen.count < count { seen.append(item) }
                }
            }
            return seen
        }
    }

    /// Starts a program with its standard output on a pipe; returns its pid and the pipe's reading end.
    static func spawnReading(_ arguments: [String]) throws -> (pid_t, Int32) {
        var output: [Int32] = [0, 0]
        guard pipe(&output) == 0 else { throw MeridianError.invalid("test", "pipe failed") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, output[1], 1)
        posix_spawn_file_actions_addclose(&actions, output[0])
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var argv = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, arguments[0], &actions, nil, &argv, environ)
        close(output[1])
        guard spawned == 0 else {
            close(output[0])
            throw MeridianError.invalid("test", "cannot start \(arguments[0]): error \(spawned)")
        }
        return (pid, output[0])
    }

    /// One session of JSON long polls, ended once `count` changes arrived.
    static func pollSession(url: String, from start: String, until count: Int) async throws -> [Seen] {
        var seen: [Seen] = []
        var cursor = start
        while seen.count < count {
            let page = try await send("GET", "\(url)/v1/tables/feed/changes?since=\(cursor)&wait_ms=5000&limit=\(min(1_000, count - seen.count))").json()
            guard case .array(let changes)? = page["changes"] else { throw MeridianError.invalid("test", "no changes in \(page)") }
            for case .object(let change) in changes { seen.append(try Self.seen(change)) }
            cursor = try string(page["cursor"])
        }
        // The page's own cursor was not handed out per change: resume from the last change's.
        return seen
    }

    /// Every change after `start` in one long-poll pass, until a page catches up.
    static func readAll(url: String, from start: String) async throws -> [Seen] {
        var seen: [Seen] = []
        var cursor = start
        while true {
            let page = try await send("GET", "\(url)/v1/tables/feed/changes?since=\(cursor)&limit=1000").json()
            guard case .array(let changes)? = page["changes"] else { throw MeridianError.invalid("test", "no changes in \(page)") }
            for case .object(let change) in changes { seen.append(try Self.seen(change)) }
            cursor = try string(page["cursor"])
            if page["caught_up"] == .bool(true) { return seen }
        }
    }

    static func seen(_ change: [String: JSONValue]) throws -> Seen {
        guard case .integer(let sequence)? = change["sequence"] else { throw MeridianError.invalid("test", "no sequence in \(change)") }
        return Seen(sequence: UInt64(sequence), key: try string(change["key"]), cursor: try string(change["cursor"]))
    }

    static func string(_ value: JSONValue?) throws -> String {
        guard case .string(let text)? = value else { throw MeridianError.invalid("test", "expected a string, got \(String(describing: value))") }
        return text
    }

    static func waitUntil(_ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return try await condition()
    }
}
