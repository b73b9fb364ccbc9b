// The chat app of the seed's design challenge (issue 17): one instance per region, each
// serving a web page and talking to Meridian through MeridianClient, nearest region first.
// Messages live in a `multi-primary` table with the `merge` policy; the page follows a room
// through the table's change feed, which the app reads and passes on as Server-Sent Events.
// README.md ("A chat app in three regions") tells how to run it against `meridian dev`.

import Foundation
import Hummingbird
import MeridianClient
import MeridianCore

/// `chat --region eu-west [--cluster meridian-data/cluster.json] [--port N] [--table chat]`.
@main
struct ChatApp {
    static let usage = """
        usage: chat --region REGION [--cluster FILE] [--port N] [--host ADDRESS] [--table NAME] [--token TOKEN]
          --region   the region this instance sits in (its nearest Meridian region)
          --cluster  the cluster file meridian dev wrote (default meridian-data/cluster.json); the token is read from 'token' beside it
          --port     where the page is served (default 8080 + the region's place in the cluster file)
        """

    static func main() async throws {
        let options: ChatOptions
        do {
            options = try ChatOptions(arguments: Array(CommandLine.arguments.dropFirst()))
        } catch {
            FileHandle.standardError.write(Data("chat: \(error)\n\(usage)\n".utf8))
            exit(2)
        }
        let service = try await ChatService(options: options)
        let app = Application(router: service.router(),
                              configuration: .init(address: .hostname(options.host, port: options.port), serverName: "meridian-chat"))
        FileHandle.standardOutput.write(Data("chat: region \(options.region), page on http://\(options.host):\(options.port)/, messages in table '\(options.table)'\n".utf8))
        // No graceful shutdown: the pages' event streams never end by themselves, so Ctrl-C
        // (or SIGTERM) stops the instance at once; its pages reconnect when it is back.
        try await app.runService(gracefulShutdownSignals: [])
    }
}

/// The instance's settings, from its arguments and the cluster file.
struct ChatOptions {
    struct Failure: Error, CustomStringConvertible { let description: String }

    var region: String
    var host = "127.0.0.1"
    var port: Int
    var table = "chat"
    var token: String?
    var regions: [RegionAddress]
    var latency: LatencyMatrix?

    /// The parts of a cluster file the app reads.
    struct ClusterFile: Decodable {
        struct Region: Decodable { var name: String; var api: String }
        var regions: [Region]
        var latencyMilliseconds: [String: [String: Double]]?
        enum CodingKeys: String, CodingKey {
            case regions
            case latencyMilliseconds = "latency_ms"
        }
    }

    init(arguments: [String]) throws {
        var values: [String: String] = [:]
        var index = 0
        while index < arguments.count {
            let name = arguments[index]
            guard name.hasPrefix("--"), index + 1 < arguments.count else { throw Failure(description: "unexpected argument '\(name)'") }
            values[String(name.dropFirst(2))] = arguments[index + 1]
            index += 2
        }
        if let unknown = values.keys.first(where: { !["region", "cluster", "port", "host", "table", "token"].contains($0) }) {
            throw Failure(description: "unknown option --\(unknown)")
        }
        guard let region = values["region"] else { throw Failure(description: "--region is required") }
        let clusterPath = values["cluster"] ?? "meridian-data/cluster.json"
        guard let data = FileManager.default.contents(atPath: clusterPath) else { throw Failure(description: "cannot read the cluster file \(clusterPath)") }
        let cluster = try JSONDecoder().decode(ClusterFile.self, from: data)
        guard let place = cluster.regions.firstIndex(where: { $0.name == region }) else {
            throw Failure(description: "region '\(region)' is not in \(clusterPath): \(cluster.regions.map(\.name).joined(separator: ", "))")
        }
        self.region = region
        regions = cluster.regions.map { RegionAddress(name: $0.name, url: $0.api.contains("://") ? $0.api : "http://\($0.api)") }
        latency = cluster.latencyMilliseconds.map(LatencyMatrix.init)
        if let raw = values["port"] {
            guard let port = Int(raw), (1...65_535).contains(port) else { throw Failure(description: "--port must be 1 to 65535") }
            self.port = port
        } else {
            port = 8080 + place
        }
        if let host = values["host"] { self.host = host }
        if let table = values["table"] { self.table = table }
        let tokenFile = URL(fileURLWithPath: clusterPath).deletingLastPathComponent().appendingPathComponent("token").path
        token = values["token"] ?? FileManager.default.contents(atPath: tokenFile).map { String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
    }
}
