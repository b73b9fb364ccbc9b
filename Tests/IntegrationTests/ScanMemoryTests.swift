import Foundation
import MeridianCore
import MeridianTestSupport
import Testing

/// Large values scanned from a real node (issue 15, item 3): a `read` token scanning 150
/// values of 1 MB got one 157 MB answer, and the region's memory went from 77 MB to
/// 1.45 GB (1.9 GB under four concurrent scans) and stayed at 1.2 GB.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct ScanMemoryTests {
    static let itemCount = 24
    /// A value of about 1 MiB: a JSON string.
    static let value = "\"" + String(repeating: "x", count: (1 << 20) - 100) + "\""

    @Test func pagesAreBoundedInBytesAndConcurrentScansDoNotGrowTheRegion() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let server = try ServerProcess(directory: directory.url)
        defer { _ = server.terminate() }
        _ = try await send("PUT", "\(server.baseURL)/v1/tables/big", body: "{}")
        for index in 0..<Self.itemCount {
            #expect(try await send("PUT", "\(server.baseURL)/v1/tables/big/items/k\(String(format: "%03d", index))", body: Self.value).status == 200)
        }

        let first = try await send("GET", "\(server.baseURL)/v1/tables/big/items?limit=1000")
        #expect(first.status == 200)
        #expect(first.body.count <= Limits.pageBytesMax + Self.value.utf8.count + 4096, "one page: at most the bound plus one item, \(first.body.count) bytes")
        guard case .array(let items)? = try first.json()["items"], case .string? = try first.json()["next"] else {
            Issue.record("the first page has items and a next key")
            return
        }
        #expect(items.count < Self.itemCount, "the page ended at the byte bound, not at limit=1000")

        let before = try Self.peakResidentKilobytes(of: server.process.processIdentifier)
        let baseURL = server.baseURL
        let scanned = try await withThrowingTaskGroup(of: [String].self) { group in
            for _ in 0..<4 { group.addTask { try await Self.scanAll(baseURL) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        for keys in scanned {
            #expect(keys == (0..<Self.itemCount).map { "k" + String(format: "%03d", $0) }, "every item exactly once, in order")
        }
        // The peak resident size of the process (VmHWM) over four concurrent scans: a page
        // of about 5 MB each, not the whole table several times over.
        let after = try Self.peakResidentKilobytes(of: server.process.processIdentifier)
        #expect(after - before < 200 * 1024, "peak resident size grew from \(before) kB to \(after) kB")
    }

    /// Every key of the table, page by page.
    static func scanAll(_ baseURL: String) async throws -> [String] {
        var keys: [String] = []
        var next: String? = nil
        for _ in 0..<(itemCount + 1) {
            let query = next.map { "&start_after=\($0)" } ?? ""
            let page = try await send("GET", "\(baseURL)/v1/tables/big/items?limit=1000\(query)").json()
            guard case .array(let items)? = page["items"] else { break }
            for case .object(let item) in items { if case .string(let key)? = item["key"] { keys.append(key) } }
            guard case .string(let key)? = page["next"] else { break }
            next = key
        }
        return keys
    }

    /// `VmHWM` of `/proc/<pid>/status`: the most memory the process has held resident.
    static func peakResidentKilobytes(of pid: Int32) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kilobytes = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") else {
            throw MeridianError.invalid("test", "no VmHWM in /proc/\(pid)/status")
        }
        return kilobytes
    }
}
