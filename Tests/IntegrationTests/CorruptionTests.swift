import Foundation
import MeridianCore
import MeridianTestSupport
import Testing

/// Issue 15, item 2: bytes flipped in a stopped region's SQLite file are found, refused and
/// repaired. Real processes: the region is stopped, two bytes of a stored value are flipped
/// in its database file, and the region is started again.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct CorruptionTests {
    static let regions = ["us-east", "eu-west"]

    @Test func aFlippedValueIsRefusedReportedAndRepairedFromAHealthyRegion() async throws {
        let cluster = try TestCluster(regions: Self.regions, latencyMilliseconds: [:])
        defer { cluster.stop() }
        let east = cluster.url("us-east"), west = cluster.url("eu-west")
        #expect(try await send("PUT", "\(east)/v1/tables/notes", body: "{}").status == 201)
        let marker = "corrupt-me-0123456789abcdef"
        for index in 0..<20 {
            let value = index == 7 ? #"{"text": "\#(marker)"}"# : #"{"text": "note \#(index)"}"#
            #expect(try await send("PUT", "\(east)/v1/tables/notes/items/n\(index)", body: value).status == 200)
        }
        // Both regions hold every item before eu-west stops.
        #expect(try await waitFor { try await send("GET", "\(west)/v1/tables/notes/items/n19").status == 200 })
        #expect(try await waitFor { try await send("GET", "\(west)/v1/tables/notes/items/n7").status == 200 })
        #expect(cluster.processes.terminate("eu-west") == 0)

        let database = cluster.directory.url.appendingPathComponent("eu-west/meridian.sqlite")
        try checkpoint(database)
        var bytes = try Data(contentsOf: database)
        let found = try #require(bytes.range(of: Data(marker.utf8)), "the value is in the database file")
        // Two bytes inside the stored value change, as a failing disk or a stray write would.
        bytes[found.lowerBound + 3] ^= 0x01
        bytes[found.lowerBound + 9] ^= 0x20
        try bytes.write(to: database)

        try cluster.start("eu-west")
        let damaged = try await send("GET", "\(west)/v1/tables/notes/items/n7")
        #expect(damaged.status == 503, "the damaged value is refused, never served")
        #expect(try damaged.json()["error"].flatMap { if case .object(let error) = $0 { error["code"] } else { nil } } == .string("corrupt_row"))
        #expect(try await send("GET", "\(west)/v1/tables/notes/items/n8").status == 200, "undamaged items are still served")
        // The region says so: health degraded with the reason, the metric, the log.
        #expect(try await waitFor { try await healthProblems(west).contains { $0.contains("damaged") } })
        let metrics = String(decoding: try await send("GET", "\(west)/metrics").body, as: UTF8.self)
        #expect(metrics.split(separator: "\n").contains { $0.hasPrefix("meridian_corruption_detected_total") && !$0.hasSuffix(" 0") })
        let log = try String(contentsOf: try #require(cluster.processes.log(of: "eu-west")), encoding: .utf8)
        #expect(log.contains("stored data is damaged"))

        // The repair command removes the damaged row and copies the table back from us-east.
        let repair = try runCLI(["tables", "repair", "notes", "--endpoint", west])
        #expect(repair.status == 0, "\(repair.error)")
        #expect(repair.output.contains(#""removed_rows":1"#) || repair.output.contains(#""removed_rows": 1"#), "\(repair.output)")
        let repaired = try await waitFor {
            let answer = try await send("GET", "\(west)/v1/tables/notes/items/n7")
            guard answer.status == 200 else { return false }
            return try answer.json()["value"] == .object(["text": .string(marker)])
        }
        #expect(repaired, "the repaired item holds its value again")
        #expect(try await healthProblems(west).isEmpty, "health is ok once repaired")
        let scan = try await send("GET", "\(west)/v1/tables/notes/items?limit=100")
        guard case .array(let items)? = try scan.json()["items"] else { Issue.record("no items"); return }
        #expect(items.count == 20)
    }

    /// The problems `/v1/health` lists (none when it is ok).
    func healthProblems(_ base: String) async throws -> [String] {
        let health = try await send("GET", "\(base)/v1/health").json()
        guard case .array(let problems)? = health["problems"] else { return [] }
        return problems.compactMap { if case .string(let text) = $0 { text } else { nil } }
    }

    /// Copies the write-ahead log into the database file, as a stopped region's next start
    /// would, so that the value's bytes are in the file (python3's sqlite3 module).
    func checkpoint(_ database: URL) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('PRAGMA wal_checkpoint(TRUNCATE)'); c.close()", database.path]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "python3 checkpointed the database")
    }
}
