import ArgumentParser
import Foundation
import MeridianAPIModel
import MeridianClient
import MeridianCore
import MeridianNode

/// Where the data commands send their requests, and from where.
struct EndpointOptions: ParsableArguments {
    @Option(help: "The node's API, such as http://127.0.0.1:7001.")
    var endpoint: String?

    @Option(help: "A cluster file (meridian dev writes one into its data folder).")
    var cluster: String?

    @Option(help: "With --cluster: the region the client sits in; requests pay the simulated delay from there and go to the nearest healthy region.")
    var from: String?

    @Option(help: "With --cluster: send every request to this region (default: the nearest healthy one).")
    var to: String?

    @Option(help: "A session token (the Meridian-Session of an earlier answer) to read your own writes.")
    var session: String?

    @Option(help: "A PEM file with the only CA trusted for an https --endpoint (with --cluster, the cluster file's tls.ca is used).")
    var ca: String?

    @Option(help: "The bearer token (default: $MERIDIAN_TOKEN, else the file 'token' next to --cluster, which meridian dev writes).")
    var token: String?

    /// A `MeridianClient` for the chosen regions: with `--cluster` it ranks the regions
    /// by the latency matrix from `--from` and fails over to the next on failure.
    func client() throws -> APIClient {
        var options = MeridianClient.Options()
        options.token = resolvedToken()
        options.trustedCAFile = ca
        let regions: [RegionAddress]
        if let endpoint {
            regions = [RegionAddress(name: "endpoint", url: endpoint)]
        } else if let cluster {
            let configuration = try ClusterConfiguration.load(path: cluster).resolvingPaths(clusterFilePath: cluster)
            options.trustedCAFile = configuration.tls?.clientAPI == true ? configuration.tls?.ca : nil
            options.simulatedLocation = from
            options.latencyMatrix = configuration.latencyMilliseconds.map(LatencyMatrix.init)
            let chosen = try to.map { name in
                guard let region = configuration.regions.first(where: { $0.name.name == name }) else { throw ValidationError("region '\(name)' is not in \(cluster)") }
                return [region]
            } ?? configuration.regions
            let scheme = configuration.tls?.clientAPI == true ? "https://" : "http://"
            regions = chosen.map { RegionAddress(name: $0.name.name, url: scheme + $0.api) }
        } else {
            regions = [RegionAddress(name: "local", url: "http://127.0.0.1:7001")]
        }
        let client = try MeridianClient(regions: regions, options: options)
        if let session { client.session = session }
        return APIClient(client: client)
    }
}

/// The data commands' view of `MeridianClient`: one request, the JSON answer printed.
struct APIClient {
    let client: MeridianClient

    /// Sends a request; returns the body on success, prints the error object to standard
    /// error (and the session token, if any) and exits 1 on failure.
    func send(_ method: String, _ path: String, body: Data? = nil, headers: [String: String] = [:]) async throws -> Data {
        let response: MeridianResponse
        do {
            response = try await client.send(method: method, path: path, body: body.map(Array.init), headers: headers)
        } catch let error as MeridianClientError {
            FileHandle.standardError.write(Data("meridian: \(error.code): \(error.message)\n".utf8))
            throw ExitCode(1)
        }
        if let session = response.header(APIHeader.session) {
            FileHandle.standardError.write(Data("session: \(session)\n".utf8))
        }
        guard (200..<300).contains(response.status) else {
            FileHandle.standardError.write(response.body.isEmpty ? Data("HTTP \(response.status)\n".utf8) : Data(response.body))
            throw ExitCode(1)
        }
        return Data(response.body)
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
                                                    subcommands: [Create.self, List.self, Show.self, Remove.self, Regions.self, Failover.self, Repair.self])

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

    struct Failover: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move a primary or strong table's leadership.",
            discussion: """
                --planned (switchover): the leader hands over once the target has its whole log; nothing is lost. \
                --forced: the target campaigns at once without waiting for the leader; under commit "local", writes \
                the old leader acknowledged and never shipped go to the divergence ledger (meridian divergence TABLE). \
                For a primary table the target becomes the table's primary region.
                """)
        @OptionGroup var endpoint: EndpointOptions
        @Argument var name: String
        @Flag(help: "Switchover: the target catches up first.") var planned = false
        @Flag(help: "The target takes over at once.") var forced = false
        @Option(help: "The region to lead (planned: default the most caught-up region).") var target: String?

        func validate() throws {
            guard planned != forced else { throw ValidationError("give exactly one of --planned and --forced") }
        }

        func run() async throws {
            let client = try endpoint.client()
            var body: [String: JSONValue] = ["mode": .string(planned ? "planned" : "forced")]
            if let target { body["target"] = .string(target) }
            client.print(try await client.send("POST", "/v1/tables/\(APIClient.pathComponent(name))/failover", body: Data(JSONValue.object(body).canonicalBytes)))
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

extension Tables {
    struct Repair: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Repair a multi-primary table in a region whose stored rows are damaged (its /v1/health names them): the region removes them and copies the table back from a healthy region.",
            discussion: "Send it to the damaged region: --endpoint of that region, or --cluster FILE --to REGION.")
        @OptionGroup var endpoint: EndpointOptions
        @Argument var table: String

        func run() async throws {
            let client = try endpoint.client()
            client.print(try await client.send("POST", "/v1/tables/\(APIClient.pathComponent(table))/repair"))
        }
    }
}

struct Divergence: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read a primary table's divergence ledger: acknowledged commit-\"local\" writes a new leader's log replaced.")
    @OptionGroup var endpoint: EndpointOptions
    @Argument var table: String

    func run() async throws {
        let client = try endpoint.client()
        client.print(try await client.send("GET", "/v1/tables/\(APIClient.pathComponent(table))/divergence"))
    }
}
