import ArgumentParser
import Foundation
import MeridianCore
import MeridianNode

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Where the data commands send their requests, and from where.
struct EndpointOptions: ParsableArguments {
    @Option(help: "The node's API, such as http://127.0.0.1:7001.")
    var endpoint: String?

    @Option(help: "A cluster file (meridian dev writes one into its data folder).")
    var cluster: String?

    @Option(help: "With --cluster: the region the client sits in; requests pay the simulated delay from there.")
    var from: String?

    @Option(help: "With --cluster: the region to send the request to (default: --from, the nearest).")
    var to: String?

    /// The base URL and the one-way delay to pay each way, in milliseconds.
    func target() throws -> (baseURL: String, oneWayMilliseconds: Double) {
        if let endpoint { return (endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint, 0) }
        guard let cluster else { return ("http://127.0.0.1:7001", 0) }
        let configuration = try ClusterConfiguration.load(path: cluster)
        let source = try from.map { try RegionID($0) }
        guard let destination = try to.map({ try RegionID($0) }) ?? source ?? configuration.regionIDs.first else {
            throw ValidationError("the cluster file names no region")
        }
        guard let api = configuration.endpoint(of: destination)?.api else { throw ValidationError("region '\(destination)' is not in \(cluster)") }
        let delay = source.map { Geography.oneWay(from: $0.name, to: destination.name, matrix: configuration.latencyMilliseconds) } ?? 0
        return ("http://\(api)", delay)
    }

    func client() throws -> APIClient {
        let (baseURL, delay) = try target()
        return APIClient(baseURL: baseURL, oneWayDelayMilliseconds: delay)
    }
}

/// A minimal HTTP client for the data commands: sends one request, prints the JSON answer.
struct APIClient {
    let baseURL: String
    /// The simulated one-way delay between the client and the region, paid before the
    /// request leaves and after the answer arrives.
    var oneWayDelayMilliseconds: Double = 0

    /// Sends a request; prints the body on success, the error object on failure (exit 1).
    func send(_ method: String, _ path: String, body: Data? = nil, headers: [String: String] = [:]) async throws -> Data {
        guard let url = URL(string: baseURL + path) else { throw ValidationError("invalid endpoint URL \(baseURL)") }
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.httpBody = body
        if body != nil { request.setValue("application/json", forHTTPHeaderField: "Content-Type") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        try await pay(oneWayDelayMilliseconds)
        let (data, response) = try await URLSession.shared.data(for: request)
        try await pay(oneWayDelayMilliseconds)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard (200..<300).contains(status) else {
            FileHandle.standardError.write(data.isEmpty ? Data("HTTP \(status)\n".utf8) : data)
            throw ExitCode(1)
        }
        return data
    }

    private func pay(_ milliseconds: Double) async throws {
        if milliseconds > 0 { try await Task.sleep(for: .microseconds(Int(milliseconds * 1000))) }
    }

    func print(_ data: Data) {
        FileHandle.standardOutput.write(data)
    }

    /// Percent-encodes a path component: everything but unreserved characters.
    static func pathComponent(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics.intersection(CharacterSet(charactersIn: Unicode.Scalar(0)..<Unicode.Scalar(128)))
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    static func itemPath(_ table: String, _ key: String) -> String {
        "/v1/tables/\(pathComponent(table))/items/\(pathComponent(key))"
    }
}

struct Tables: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create, list, show and delete tables.",
                                                    subcommands: [Create.self, List.self, Show.self, Remove.self, Regions.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a table (idempotent).")
        @OptionGroup var endpoint: EndpointOptions
        @Argument var name: String
        @Option(help: "multi-primary, primary or strong.") var mode: String = "multi-primary"
        @Option(help: "Multi-primary conflict policy: lww, merge or siblings.") var conflict: String?
        @Option(help: "Primary tables: the region that leads when healthy.") var primary: String?
        @Option(help: "Primary tables: local or quorum.") var commit: String?
        @Option(help: "Comma-separated regions that may store the table (default: all).") var regions: String?

        func run() async throws {
            var definition: [String: JSONValue] = ["mode": .string(mode)]
            if let conflict { definition["conflict"] = .string(conflict) }
            if let primary { definition["primary"] = .string(primary) }
            if let commit { definition["commit"] = .string(commit) }
            if let regions { definition["regions"] = .array(regions.split(separator: ",").map { .string(String($0)) }) }
            let client = try endpoint.client()
            client.print(try await client.send("PUT", "/v1/tables/\(APIClient.pathComponent(name))",
                                               body: Data(JSONValue.object(definition).canonicalBytes)))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the tables.")
        @OptionGroup var endpoint: EndpointOptions

        func run() async throws {
            let client = try endpoint.client()
            client.print(try await client.send("GET", "/v1/tables"))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a table's definition and its placement: what every region holds of it.")
        @OptionGroup var endpoint: EndpointOptions
        @Argument var name: String

        func run() async throws {
            let client = try endpoint.client()
            let path = "/v1/tables/\(APIClient.pathComponent(name))"
            let definition = try JSONValue.parse(Array(try await client.send("GET", path)), bytesMax: Int.max)
            let placement = try JSONValue.parse(Array(try await client.send("GET", path + "/placement")), bytesMax: Int.max)
            guard case .object(var shown) = definition, case .object(let where_) = placement else {
                throw ValidationError("the server answered with an unexpected body")
            }
            shown["placement"] = where_["regions"]
            client.print(Data(JSONValue.object(shown).canonicalBytes + [UInt8(ascii: "\n")]))
        }
    }

    struct Regions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change the regions that may store a table: added ones get a copy, removed ones delete every byte of it.")
        @OptionGroup var endpoint: EndpointOptions
        @Argument var name: String
        @Option(help: "Comma-separated regions.") var regions: String

        func run() async throws {
            let client = try endpoint.client()
            let body = JSONValue.object(["regions": .array(regions.split(separator: ",").map { .string(String($0)) })])
            client.print(try await client.send("PUT", "/v1/tables/\(APIClient.pathComponent(name))/regions", body: Data(body.canonicalBytes)))
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a table and all its items.")
        @OptionGroup var endpoint: EndpointOptions
        @Argument var name: String

        func run() async throws {
            let client = try endpoint.client()
            _ = try await client.send("DELETE", "/v1/tables/\(APIClient.pathComponent(name))")
            client.print(Data(JSONValue.object(["table": .string(name), "deleted": .bool(true)]).canonicalBytes + [UInt8(ascii: "\n")]))
        }
    }
}

struct Put: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write an item's JSON value.")
    @OptionGroup var endpoint: EndpointOptions
    @Argument var table: String
    @Argument var key: String
    @Argument(help: "The value, as JSON.") var json: String
    @Option(help: "Write only if the current version is exactly this one.") var ifMatch: String?
    @Flag(help: "Write only if the item does not exist.") var ifAbsent = false

    func run() async throws {
        var headers: [String: String] = [:]
        if let ifMatch { headers["If-Match"] = ifMatch }
        if ifAbsent { headers["If-None-Match"] = "*" }
        let client = try endpoint.client()
        client.print(try await client.send("PUT", APIClient.itemPath(table, key), body: Data(json.utf8), headers: headers))
    }
}

struct Get: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Read an item.")
    @OptionGroup var endpoint: EndpointOptions
    @Argument var table: String
    @Argument var key: String
    @Option(help: "strong, bounded, session or eventual.") var consistency: String?
    @Option(help: "With --consistency bounded: the staleness bound in milliseconds.") var maxStalenessMs: Int?

    func run() async throws {
        var query: [String] = []
        if let consistency { query.append("consistency=\(APIClient.pathComponent(consistency))") }
        if let maxStalenessMs { query.append("max_staleness_ms=\(maxStalenessMs)") }
        let client = try endpoint.client()
        client.print(try await client.send("GET", APIClient.itemPath(table, key) + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))))
    }
}

struct Delete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Delete an item (leaves a tombstone).")
    @OptionGroup var endpoint: EndpointOptions
    @Argument var table: String
    @Argument var key: String
    @Option(help: "Delete only if the current version is exactly this one.") var ifMatch: String?

    func run() async throws {
        let client = try endpoint.client()
        client.print(try await client.send("DELETE", APIClient.itemPath(table, key), headers: ifMatch.map { ["If-Match": $0] } ?? [:]))
    }
}

struct Scan: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List items in key order.")
    @OptionGroup var endpoint: EndpointOptions
    @Argument var table: String
    @Option(help: "Only keys that start with this.") var prefix: String?
    @Option(help: "Only keys after this one (a page's 'next').") var startAfter: String?
    @Option(help: "Items per page, 1 to \(Limits.scanItemsMax).") var limit: Int?
    @Flag(help: "Follow 'next' until the last page and print every item.") var all = false

    /// Pages followed at most with --all.
    static let pagesMax = 100_000

    func run() async throws {
        let client = try endpoint.client()
        var cursor = startAfter
        var items: [JSONValue] = []
        for _ in 0..<Self.pagesMax {
            var query: [String] = []
            if let prefix { query.append("prefix=\(APIClient.pathComponent(prefix))") }
            if let cursor { query.append("start_after=\(APIClient.pathComponent(cursor))") }
            if let limit { query.append("limit=\(limit)") }
            let path = "/v1/tables/\(APIClient.pathComponent(table))/items" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
            let data = try await client.send("GET", path)
            guard all else { return client.print(data) }
            guard case .object(let page) = try JSONValue.parse(Array(data), bytesMax: Int.max), case .array(let pageItems)? = page["items"] else {
                throw ValidationError("the server answered a scan with an unexpected body")
            }
            items += pageItems
            guard case .string(let next)? = page["next"] else { break }
            cursor = next
        }
        client.print(Data(JSONValue.object(["items": .array(items)]).canonicalBytes + [UInt8(ascii: "\n")]))
    }
}

struct Conflicts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Read a table's conflict ledger: values concurrent writes overwrote.")
    @OptionGroup var endpoint: EndpointOptions
    @Argument var table: String
    @Option(help: "Only rows after this id (a page's 'next').") var startAfter: Int64?
    @Option(help: "Rows per page, 1 to \(Limits.scanItemsMax).") var limit: Int?

    func run() async throws {
        var query: [String] = []
        if let startAfter { query.append("start_after=\(startAfter)") }
        if let limit { query.append("limit=\(limit)") }
        let client = try endpoint.client()
        client.print(try await client.send("GET", "/v1/tables/\(APIClient.pathComponent(table))/conflicts" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))))
    }
}
