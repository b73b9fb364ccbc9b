import Foundation
import MeridianCore
import MeridianLocalCluster
import MeridianNode
import MeridianTestSupport
import Testing

/// A secured two-region cluster of real processes: tokens end to end (forwarding
/// included), peers authenticated with the peer secret, and `/metrics` after conflicts.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct OperationsTests {
    static let names = ["us-east", "eu-west"]
    static let adminToken = "integration-admin-token-0123456789"
    static let readToken = "integration-read-token-0123456789"

    /// A two-region cluster whose file names a secrets file (written next to it) and a
    /// peer secret, and TLS files when `certificates` is given.
    static func startSecuredCluster(oneWayMilliseconds: Double, tls certificates: URL? = nil) throws -> TestCluster {
        let latency = ["us-east": ["eu-west": oneWayMilliseconds], "eu-west": ["us-east": oneWayMilliseconds]]
        return try TestCluster(regions: names, latencyMilliseconds: latency) { configuration, directory in
            configuration.secretsFile = "secrets.json"
            configuration.peerSecret = String(repeating: "5", count: 64)
            if let certificates {
                configuration.tls = TLSFiles(ca: certificates.appendingPathComponent("cluster-ca.pem").path,
                                             certificate: certificates.appendingPathComponent("node.pem").path,
                                             key: certificates.appendingPathComponent("node.key").path, clientAPI: true, peers: true)
            }
            let secrets = """
                {"tokens": [{"name": "ops", "role": "admin", "sha256": "\(sha256Hex(adminToken))"},
                            {"name": "dashboard", "role": "read", "sha256": "\(sha256Hex(readToken))"}],
                 "open_paths": ["/v1/health", "/metrics"]}
                """
            try Data(secrets.utf8).write(to: directory.appendingPathComponent("secrets.json"))
        }
    }

    static func bearer(_ token: String) -> [String: String] { ["Authorization": "Bearer \(token)"] }

    @Test func tokensAreCheckedInEveryRegionAndForwardedRequestsCarryThem() async throws {
        let cluster = try Self.startSecuredCluster(oneWayMilliseconds: 5)
        defer { cluster.stop() }
        let east = cluster.url("us-east"), west = cluster.url("eu-west")
        let refused = try await send("PUT", "\(east)/v1/tables/notes", body: #"{"regions": ["us-east"]}"#)
        #expect(refused.status == 401)
        #expect(refused.headers["www-authenticate"]?.hasPrefix("Bearer") == true)
        let listed = try await send("GET", "\(east)/v1/tables", headers: Self.bearer(Self.readToken))
        #expect(try listed.json()["tables"] == .array([]), "the refused request created nothing")
        #expect(try await send("PUT", "\(east)/v1/tables/notes", body: #"{"regions": ["us-east"]}"#, headers: Self.bearer(Self.adminToken)).status == 201)
        // eu-west may not store 'notes': it forwards to us-east, with the caller's token.
        let forwarded = try await eventuallyAnswer { try await send("PUT", "\(west)/v1/tables/notes/items/a", body: "1", headers: Self.bearer(Self.adminToken)) }
        #expect(forwarded.status == 200)
        #expect(forwarded.headers["meridian-forwarded-by"] == "eu-west")
        let forbidden = try await send("PUT", "\(west)/v1/tables/notes/items/b", body: "1", headers: Self.bearer(Self.readToken))
        #expect(forbidden.status == 403)
        #expect(try await send("GET", "\(east)/v1/health").status == 200)
    }

    @Test func metricsShowReplicationLagAndConflictsAfterConcurrentWrites() async throws {
        // A long injected delay makes the two writes below concurrent for certain.
        let cluster = try Self.startSecuredCluster(oneWayMilliseconds: 400)
        defer { cluster.stop() }
        let east = cluster.url("us-east"), west = cluster.url("eu-west")
        #expect(try await send("PUT", "\(east)/v1/tables/notes", body: #"{"conflict": "lww"}"#, headers: Self.bearer(Self.adminToken)).status == 201)
        _ = try await eventuallyAnswer { try await send("GET", "\(west)/v1/tables/notes", headers: Self.bearer(Self.readToken)) }
        for round in 0..<3 {
            async let eastWrite = send("PUT", "\(east)/v1/tables/notes/items/k\(round)", body: #"{"from": "east"}"#, headers: Self.bearer(Self.adminToken))
            async let westWrite = send("PUT", "\(west)/v1/tables/notes/items/k\(round)", body: #"{"from": "west"}"#, headers: Self.bearer(Self.adminToken))
            #expect(try await eastWrite.status == 200)
            #expect(try await westWrite.status == 200)
        }
        var text = ""
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            text = String(decoding: try await send("GET", "\(east)/metrics").body, as: UTF8.self)
            if metric(text, "meridian_conflicts_total", labels: #"policy="lww""#) ?? 0 > 0,
               metric(text, "meridian_replication_lag_seconds", labels: #"origin="eu-west""#) ?? 0 > 0 { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect((metric(text, "meridian_conflicts_total", labels: #"table="notes""#) ?? 0) > 0, "\(text)")
        #expect((metric(text, "meridian_conflict_ledger_entries", labels: #"table="notes""#) ?? 0) > 0)
        // The injected one-way delay is 400 ms: an applied write was at least that old.
        #expect((metric(text, "meridian_replication_lag_seconds", labels: #"origin="eu-west""#) ?? 0) >= 0.4)
        #expect((metric(text, "meridian_http_requests_total", labels: #"route="/v1/tables/{table}/items/{key}""#) ?? 0) >= 3)
        #expect(text.contains("meridian_http_request_duration_seconds_bucket"))
        #expect(metric(text, "meridian_peer_send_queue_bytes", labels: #"peer="eu-west""#) != nil)
        #expect(metric(text, "meridian_peer_up", labels: #"peer="eu-west""#) == 1, "the peers authenticated each other with the peer secret")
    }
}

extension OperationsTests {
    @Test func tokensAddStoresOnlyTheHashAndRefusesADuplicateName() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let secrets = directory.url.appendingPathComponent("secrets.json").path
        let added = try runCLI(["tokens", "add", "ops", "--role", "admin", "--secrets", secrets])
        #expect(added.status == 0, "\(added.error)")
        let token = added.output.trimmingCharacters(in: .whitespacesAndNewlines)
        let stored = try String(contentsOfFile: secrets, encoding: .utf8)
        #expect(token.count == 64 && !stored.contains(token))
        #expect(stored.contains(sha256Hex(token)))
        #expect(try runCLI(["tokens", "add", "ops", "--secrets", secrets]).status != 0)
        #expect(try runCLI(["tokens", "list", "--secrets", secrets]).output.contains("ops\tadmin"))
    }

    @Test func aRegionWithAnotherPeerSecretIsRefusedAndReplicatesNothing() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let names = Self.names + ["ap-south"]
        let ports = try LocalPorts.free(2 * names.count)
        var servers: [String: ServerProcess] = [:]
        defer { for server in servers.values { _ = server.terminate() } }
        // Cluster files that differ only in the peer secret: us-east and ap-south share one
        // (together they are a majority of the catalog group, so tables can be created),
        // eu-west has another.
        for (name, secret) in [("us-east", "1"), ("ap-south", "1"), ("eu-west", "2")] {
            let file = directory.url.appendingPathComponent("cluster-\(name).json")
            var configuration = try ClusterConfiguration.loopback(regions: names, ports: ports, latencyMilliseconds: nil)
            configuration.peerSecret = String(repeating: secret, count: 64)
            try configuration.write(to: file)
            servers[name] = try ServerProcess(directory: directory.url, clusterFile: file, region: name)
        }
        let east = servers["us-east"]!.baseURL, west = servers["eu-west"]!.baseURL
        #expect(try await send("PUT", "\(east)/v1/tables/notes", body: "{}").status == 201)
        #expect(try await send("PUT", "\(east)/v1/tables/notes/items/a", body: "1").status == 200)
        // us-east dials eu-west: the refusal is logged on both sides; wait for it in eu-west's log.
        let deadline = Date().addingTimeInterval(15)
        var refused = false
        while !refused && Date() < deadline {
            let logs = try FileManager.default.contentsOfDirectory(atPath: directory.url.path).filter { $0.hasPrefix("serve-eu-west") }
            refused = try logs.contains { try String(contentsOf: directory.url.appendingPathComponent($0), encoding: .utf8).contains("authentication failed") }
            if !refused { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(refused, "eu-west logged the refused authentication")
        #expect(try await send("GET", "\(west)/v1/tables/notes").status == 404, "nothing from us-east was applied in eu-west")
        let view = try await send("GET", "\(west)/v1/cluster").json()
        guard case .array(let regions)? = view["regions"] else { Issue.record("no regions"); return }
        let eastRow = regions.first { if case .object(let row) = $0 { row["name"] == .string("us-east") } else { false } }
        if case .object(let row)? = eastRow { #expect(row["reachable"] == .bool(false)) }
    }

    static let isCI = ProcessInfo.processInfo.environment["CI"] == "true"
    static let hasOpenSSL = FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") && FileManager.default.isExecutableFile(atPath: "/usr/bin/curl")

    @Test(.enabled(if: hasOpenSSL || isCI, "openssl or curl is not installed: TLS cluster test skipped (.ci/run installs them)"))
    func aClusterServesHTTPSAndItsRegionsTalkOverMutualTLS() async throws {
        let certificates = try #require(makeTestCertificates(), "openssl could not make the test certificates")
        let cluster = try Self.startSecuredCluster(oneWayMilliseconds: 5, tls: certificates)
        defer { cluster.stop() }
        let east = cluster.url("us-east"), west = cluster.url("eu-west")
        #expect(east.hasPrefix("https://") && west.hasPrefix("https://"))
        let ca = certificates.appendingPathComponent("cluster-ca.pem").path
        let admin = "Authorization: Bearer \(Self.adminToken)"
        #expect(try curl(["--cacert", ca, "\(east)/v1/health"]).status == 200)
        // A client that trusts another CA refuses the node's certificate.
        #expect(try curl(["--cacert", certificates.appendingPathComponent("other-ca.pem").path, "\(east)/v1/health"]).exit != 0)
        #expect(try curl(["--cacert", ca, "-X", "PUT", "-H", admin, "-d", #"{"regions": ["us-east"]}"#, "\(east)/v1/tables/notes"]).status == 201)
        // eu-west forwards to us-east over HTTPS, trusting only the cluster's CA.
        var forwarded = (status: 0, exit: Int32(0), body: "")
        let deadline = Date().addingTimeInterval(10)
        repeat {
            forwarded = try curl(["--cacert", ca, "-X", "PUT", "-H", admin, "-d", "1", "\(west)/v1/tables/notes/items/a"])
            if forwarded.status != 404 { break }
            try await Task.sleep(for: .milliseconds(50))
        } while Date() < deadline
        #expect(forwarded.status == 200, "\(forwarded.body)")
        // The command line reaches an HTTPS cluster through its cluster file (scheme and CA from there).
        let listed = try runCLI(["tables", "list", "--cluster", cluster.processes.clusterFile.path,
                                 "--from", "eu-west", "--token", Self.readToken])
        #expect(listed.status == 0, "\(listed.error)")
        #expect(listed.output.contains(#""name":"notes""#))
        // The peers connected over mutual TLS (and proved the peer secret).
        var peerUp: Double? = nil
        for _ in 0..<50 where peerUp != 1 {
            peerUp = metric(try curl(["--cacert", ca, "\(east)/metrics"]).body, "meridian_peer_up", labels: #"peer="eu-west""#)
            if peerUp != 1 { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(peerUp == 1)
    }
}

/// Runs curl; returns the HTTP status, curl's exit code and the body.
func curl(_ arguments: [String]) throws -> (status: Int, exit: Int32, body: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
    process.arguments = ["-s", "-o", "-", "-w", "\n%{http_code}", "--max-time", "10"] + arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    var lines = String(decoding: data, as: UTF8.self).components(separatedBy: "\n")
    let status = Int(lines.popLast() ?? "") ?? 0
    return (status, process.terminationStatus, lines.joined(separator: "\n"))
}

/// The test certificates: `MERIDIAN_TEST_CERTIFICATES`, else made now by `.ci/make-test-certificates.sh`.
func makeTestCertificates() -> URL? {
    if let folder = ProcessInfo.processInfo.environment["MERIDIAN_TEST_CERTIFICATES"] { return URL(fileURLWithPath: folder) }
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(".ci/make-test-certificates.sh")
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-certificates-\(getpid())")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/bash")
    process.arguments = [script.path, folder.path]
    process.standardOutput = FileHandle.nullDevice
    guard (try? process.run()) != nil else { return nil }
    process.waitUntilExit()
    return process.terminationStatus == 0 ? folder : nil
}

/// The first sample of `name` whose labels contain `labels`, from Prometheus text.
func metric(_ text: String, _ name: String, labels: String) -> Double? {
    for line in text.split(separator: "\n") where line.hasPrefix(name + "{") && line.contains(labels) {
        if let value = line.split(separator: " ").last.flatMap({ Double($0) }) { return value }
    }
    return nil
}

/// Retries `request` until it answers something other than 404 (a table definition still
/// on its way), for up to ten seconds.
func eventuallyAnswer(_ request: () async throws -> HTTPExchange) async throws -> HTTPExchange {
    let deadline = Date().addingTimeInterval(10)
    var answer = try await request()
    while answer.status == 404 && Date() < deadline {
        try await Task.sleep(for: .milliseconds(50))
        answer = try await request()
    }
    return answer
}

/// Lower-case hex SHA-256, computed with the system's sha256sum (the test target links no crypto).
func sha256Hex(_ text: String) -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
    let input = Pipe(), output = Pipe()
    process.standardInput = input
    process.standardOutput = output
    try? process.run()
    input.fileHandleForWriting.write(Data(text.utf8))
    try? input.fileHandleForWriting.close()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(String(decoding: data, as: UTF8.self).prefix(64))
}
