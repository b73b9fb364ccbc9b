import ArgumentParser
import Foundation
import MeridianCore

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `meridian bench`: measured load against a running node. Prints what it measured.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure a running node under load.",
        discussion: "Scenario 'local-writes': concurrent clients put items into a multi-primary table of the node at --endpoint and the latency of every acknowledged write is recorded.")

    /// The most writes one run may make.
    static let writesMax = 10_000_000

    @Option(help: "The scenario to run: local-writes.") var scenario: String = "local-writes"
    @Option(help: "The node's API.") var endpoint: String = "http://127.0.0.1:7001"
    @Option(help: "Concurrent clients.") var clients: Int = 4
    @Option(help: "Writes in total.") var writes: Int = 20_000
    @Option(help: "Bytes of each value's string payload.") var valueBytes: Int = 100

    func validate() throws {
        guard scenario == "local-writes" else { throw ValidationError("unknown scenario '\(scenario)'; available: local-writes") }
        guard (1...1024).contains(clients) else { throw ValidationError("--clients must be 1 to 1024") }
        guard (1...Self.writesMax).contains(writes) else { throw ValidationError("--writes must be 1 to \(Self.writesMax)") }
    }

    func run() async throws {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = clients
        let session = URLSession(configuration: configuration)
        let table = "bench_local_writes"
        _ = try await request(session, "PUT", "/v1/tables/\(table)", body: Data("{}".utf8), expecting: [200, 201])
        let payload = Data(#"{"payload": "\#(String(repeating: "x", count: valueBytes))"}"#.utf8)
        let clients = self.clients, writes = self.writes

        let started = Date()
        let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
            for client in 0..<clients {
                group.addTask {
                    var latencies: [Double] = []
                    for index in stride(from: client, to: writes, by: clients) {
                        let before = Date()
                        _ = try await request(session, "PUT", "/v1/tables/\(table)/items/key-\(index)", body: payload, expecting: [200])
                        latencies.append(Date().timeIntervalSince(before) * 1000)
                    }
                    return latencies
                }
            }
            return try await group.reduce(into: [Double]()) { $0 += $1 }.sorted()
        }
        let seconds = Date().timeIntervalSince(started)
        func percentile(_ fraction: Double) -> Double { latencies[min(latencies.count - 1, Int(Double(latencies.count) * fraction))] }
        print("scenario local-writes: \(writes) writes, \(clients) clients, \(valueBytes)-byte payload, endpoint \(endpoint)")
        print(String(format: "throughput %.0f writes/s over %.2f s", Double(writes) / seconds, seconds))
        print(String(format: "latency ms: p50 %.2f  p90 %.2f  p99 %.2f  max %.2f", percentile(0.5), percentile(0.9), percentile(0.99), latencies.last ?? 0))
    }

    private func request(_ session: URLSession, _ method: String, _ path: String, body: Data?, expecting statuses: Set<Int>) async throws -> Data {
        var request = URLRequest(url: URL(string: endpoint + path)!)
        request.httpMethod = method
        request.httpBody = body
        let (data, response) = try await session.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard statuses.contains(status) else {
            throw ValidationError("\(method) \(path) answered \(status): \(String(decoding: data.prefix(300), as: UTF8.self))")
        }
        return data
    }
}
