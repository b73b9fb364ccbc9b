import Foundation
import MeridianCore
import MeridianTestSupport
import Testing

/// A region whose data directory fills up (issue 15, item 4), on a small tmpfs mounted for
/// the test: an admin action once answered 201 while its audit record was dropped, and
/// reads failed when they shared a step with a write the full disk refused (a tick's log
/// truncation, another region's entries). Needs `mount` (root); skipped with a message
/// when it cannot mount and `CI` is not `true`, failed when it is.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct FullDiskTests {
    static let isCI = ProcessInfo.processInfo.environment["CI"] == "true"
    static let canMount: Bool = {
        guard let probe = try? TemporaryDirectory() else { return false }
        defer { probe.remove() }
        guard mountTmpfs(at: probe.url, megabytes: 1) else { return false }
        unmount(probe.url)
        return true
    }()

    @Test(.enabled(if: canMount || isCI, "cannot mount a tmpfs (needs root): full-disk test skipped"))
    func aRegionWithAFullDiskKeepsReadingRefusesUnauditedAdminActionsAndRecovers() async throws {
        var mounted: URL? = nil
        let cluster: TestCluster
        do {
            cluster = try TestCluster(regions: ["us-east", "eu-west"], latencyMilliseconds: [:]) { _, directory in
                let data = directory.appendingPathComponent("us-east")
                try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
                if Self.mountTmpfs(at: data, megabytes: 64) { mounted = data }
            }
        } catch {
            if let mounted { Self.unmount(mounted) }
            throw error
        }
        defer {
            cluster.processes.stopAll()
            if let mounted { Self.unmount(mounted) }
            cluster.directory.remove()
        }
        let data = try #require(mounted, "CI=true but a tmpfs could not be mounted")
        let east = cluster.url("us-east"), west = cluster.url("eu-west")
        #expect(try await send("PUT", "\(east)/v1/tables/notes", body: "{}").status == 201)
        #expect(try await send("PUT", "\(east)/v1/tables/notes/items/seen", body: #""before""#).status == 200)
        #expect(try await waitFor { (try? await send("GET", "\(west)/v1/tables/notes/items/seen"))?.status == 200 })
        #expect(try await send("GET", "\(east)/v1/health").json()["status"] == .string("ok"))

        let filler = data.appendingPathComponent("filler")
        Self.fill(filler)

        // eu-west keeps writing new items of 32 KiB; their entries reach us-east, which
        // soon cannot store them (nor anything else: its own writes fail too). Then us-east
        // serves 300 reads from four clients while its own writes keep failing: no read may
        // fail for a write it shared a step with.
        let value = "\"" + String(repeating: "w", count: 32 << 10) + "\""
        let writers = [west, east].map { url in
            Task {
                var index = 0
                while !Task.isCancelled {
                    _ = try? await send("PUT", "\(url)/v1/tables/notes/items/w\(index)", body: value)
                    index += 1
                }
            }
        }
        defer { for writer in writers { writer.cancel() } }
        #expect(try await waitFor(seconds: 60) { (try? await send("PUT", "\(east)/v1/tables/notes/items/probe", body: value))?.status == 503 },
                "us-east's storage refuses writes once its disk is full")
        let failedReads = try await withThrowingTaskGroup(of: [String].self) { group in
            for _ in 0..<4 {
                group.addTask {
                    var failed: [String] = []
                    for _ in 0..<75 {
                        let read = try await send("GET", "\(east)/v1/tables/notes/items/seen")
                        if read.status != 200 { failed.append("\(read.status) \(String(decoding: read.body, as: UTF8.self).prefix(120))") }
                    }
                    return failed
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        for writer in writers { writer.cancel() }
        #expect(failedReads.isEmpty, "\(failedReads.count) of 300 reads failed on a full disk: \(failedReads.prefix(3))")

        // Admin actions until the audit log itself is full: none takes effect unaudited.
        var answers: [(table: String, status: Int, code: String?)] = []
        for index in 0..<60 {
            let answer = try await send("PUT", "\(east)/v1/tables/full\(index)", body: "{}")
            let code: String? = if case .object(let error)? = try? answer.json()["error"], case .string(let code)? = error["code"] { code } else { nil }
            answers.append(("full\(index)", answer.status, code))
            if code == "audit_unavailable" { break }
        }
        let refused = try #require(answers.last, "no admin action was answered")
        #expect(refused.status == 503 && refused.code == "audit_unavailable", "\(answers.map { "\($0.table) \($0.status) \($0.code ?? "")" })")
        #expect(try await send("GET", "\(east)/v1/tables/\(refused.table)").status == 404, "the refused action did nothing")
        let audit = try String(contentsOf: data.appendingPathComponent("audit.log"), encoding: .utf8)
        for answer in answers where (200..<300).contains(answer.status) {
            #expect(audit.contains(#""path":"/v1/tables/\#(answer.table)","phase":"intent""#), "\(answer.table) took effect unaudited")
        }
        let health = try await send("GET", "\(east)/v1/health").json()
        #expect(health["status"] == .string("degraded"), "\(health)")

        // Space again: writes commit, admin actions are audited, health recovers.
        try FileManager.default.removeItem(at: filler)
        #expect(try await waitFor { (try? await send("PUT", "\(east)/v1/tables/notes/items/after", body: #""after""#))?.status == 200 })
        #expect(try await send("PUT", "\(east)/v1/tables/again", body: "{}").status == 201)
        #expect(try await waitFor { (try? await send("GET", "\(east)/v1/health").json()["status"]) == .string("ok") })
    }

    /// Writes to `file` until the file system refuses more.
    static func fill(_ file: URL) {
        FileManager.default.createFile(atPath: file.path, contents: nil)
        guard let handle = try? FileHandle(forWritingTo: file) else { return }
        defer { try? handle.close() }
        let chunk = Data(repeating: 0x5A, count: 1 << 20)
        while (try? handle.write(contentsOf: chunk)) != nil {}
        let small = Data(repeating: 0x5A, count: 4096)
        while (try? handle.write(contentsOf: small)) != nil {}
    }

    static func mountTmpfs(at directory: URL, megabytes: Int) -> Bool {
        run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(megabytes)m", "tmpfs", directory.path]) == 0
    }

    static func unmount(_ directory: URL) {
        _ = run("/bin/umount", [directory.path])
    }

    private static func run(_ executable: String, _ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }
}
