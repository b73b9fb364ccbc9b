import Foundation
import MeridianLocalCluster

/// Three etcd 3.4 members on loopback (`etcd` from Debian's etcd-server), one per region,
/// each client writing through its own region's member over etcd's v3 JSON gateway
/// (`POST /v3/kv/put`, base64 key and value), so no gRPC client is needed. With latency
/// on, every member's peer port sits behind a `DelayProxy` that delays each connection by
/// the one-way delays between the connecting member's region and its own (peers are
/// told apart by the `X-Server-From` header of their first request).
final class EtcdCluster: @unchecked Sendable {
    /// Where Debian installs etcd.
    static let executable = "/usr/bin/etcd"
    /// How long the members may take to elect a leader and accept a write, in milliseconds.
    static let startupMillisecondsMax = 30_000
    /// How often a starting cluster is probed, in milliseconds.
    static let pollMilliseconds = 100

    struct Member {
        var region: String
        var clientPort: Int
        var peerPort: Int
        var proxy: DelayProxy?
        var process: Process?
        /// The member id etcd gave it (decimal, as the gateway prints it).
        var id: String?
    }

    let folder: URL
    let http: BenchHTTP
    private(set) var members: [Member]

    /// Starts the members (with delay proxies when `oneWay` gives any delay) and waits
    /// until a write is accepted.
    static func start(regions: [String], oneWay: @escaping @Sendable (String, String) -> Double, http: BenchHTTP) async throws -> EtcdCluster {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw BenchError("\(executable) is missing: install etcd 3.4 with `apt-get install etcd-server` (README, Benchmarks)")
        }
        let latency = regions.contains { source in regions.contains { oneWay(source, $0) > 0 } }
        let folder = try BenchProcess.temporaryFolder(latency ? "etcd-latency" : "etcd")
        let ports = try LocalPorts.free(2 * regions.count)
        var members = regions.enumerated().map { index, region in Member(region: region, clientPort: ports[index], peerPort: ports[regions.count + index]) }
        if latency {
            for index in members.indices {
                members[index].proxy = try DelayProxy(targetPort: members[index].peerPort, delays: .init(forwardMilliseconds: 0, backwardMilliseconds: 0))
            }
        }
        let cluster = EtcdCluster(folder: folder, http: http, members: members)
        do {
            try cluster.launch()
            try await cluster.waitForWrite()
            if latency { try await cluster.injectDelays(oneWay) }
        } catch {
            cluster.stop()
            throw error
        }
        return cluster
    }

    private init(folder: URL, http: BenchHTTP, members: [Member]) {
        self.folder = folder
        self.http = http
        self.members = members
    }

    /// The peer URL other members use: the proxy's port when there is one.
    private func advertisedPeerURL(_ member: Member) -> String {
        "http://127.0.0.1:\(member.proxy?.port ?? member.peerPort)"
    }

    private func launch() throws {
        let initialCluster = members.map { "\($0.region)=\(advertisedPeerURL($0))" }.joined(separator: ",")
        let token = "meridian-bench-\(UInt32.random(in: 0...UInt32.max))"
        for index in members.indices {
            let member = members[index]
            let arguments = [
                "--name", member.region,
                "--data-dir", folder.appendingPathComponent(member.region).path,
                "--listen-client-urls", "http://127.0.0.1:\(member.clientPort)",
                "--advertise-client-urls", "http://127.0.0.1:\(member.clientPort)",
                "--listen-peer-urls", "http://127.0.0.1:\(member.peerPort)",
                "--initial-advertise-peer-urls", advertisedPeerURL(member),
                "--initial-cluster", initialCluster,
                "--initial-cluster-token", token,
                "--initial-cluster-state", "new",
                "--logger", "zap", "--log-outputs", "stderr",
            ]
            members[index].process = try BenchProcess.start(Self.executable, arguments, log: folder.appendingPathComponent("\(member.region).log"))
        }
    }

    /// The client URL of a region's member.
    func url(_ region: String) -> String {
        "http://127.0.0.1:\(members.first { $0.region == region }?.clientPort ?? 0)"
    }

    /// Puts a key through a region's member.
    func put(_ region: String, key: String, value: [UInt8]) async throws {
        let body = #"{"key": "\#(Data(key.utf8).base64EncodedString())", "value": "\#(Data(value).base64EncodedString())"}"#
        let answer = try await http.send(.POST, url(region) + "/v3/kv/put", body: Array(body.utf8))
        guard answer.status == 200 else { throw BenchError("etcd put through \(region) answered \(answer.status): \(String(decoding: answer.body.prefix(200), as: UTF8.self))") }
    }

    private func waitForWrite() async throws {
        let deadline = ContinuousClock.now + .milliseconds(Self.startupMillisecondsMax)
        while ContinuousClock.now < deadline {
            var accepted = true
            for member in members where (try? await put(member.region, key: "bench-startup", value: Array("1".utf8))) == nil { accepted = false }
            if accepted { return }
            try await Task.sleep(for: .milliseconds(Self.pollMilliseconds))
        }
        throw BenchError("etcd did not accept a write through every member within \(Self.startupMillisecondsMax) ms; logs in \(folder.path)")
    }

    /// Learns the member ids, gives every proxy its per-peer delays and makes the peers reconnect.
    private func injectDelays(_ oneWay: @escaping @Sendable (String, String) -> Double) async throws {
        let list = try await http.expectObject(.POST, url(members[0].region) + "/v3/cluster/member/list", body: "{}")
        var regionByHexID: [String: String] = [:]
        for entry in list["members"] as? [[String: Any]] ?? [] {
            guard let name = entry["name"] as? String, let decimal = entry["ID"] as? String, let id = UInt64(decimal) else { continue }
            regionByHexID[String(id, radix: 16)] = name
            if let index = members.firstIndex(where: { $0.region == name }) { members[index].id = decimal }
        }
        guard regionByHexID.count == members.count else { throw BenchError("etcd member list names \(regionByHexID.count) of \(members.count) members") }
        for member in members {
            let own = member.region
            let table = regionByHexID
            member.proxy?.configure(defaultDelays: .init(forwardMilliseconds: 0, backwardMilliseconds: 0)) { firstBytes in
                guard let source = Self.serverFrom(firstBytes).flatMap({ table[$0] }) else { return nil }
                return .init(forwardMilliseconds: oneWay(source, own), backwardMilliseconds: oneWay(own, source))
            }
        }
        for member in members { member.proxy?.resetConnections() }
        try await waitForWrite()
    }

    /// The `X-Server-From` header (a member id in hexadecimal) of an HTTP request's first bytes.
    static func serverFrom(_ bytes: [UInt8]) -> String? {
        let text = String(decoding: bytes.prefix(DelayProxy.chunkBytesMax), as: UTF8.self)
        for line in text.split(separator: "\r\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "x-server-from" { return parts[1].trimmingCharacters(in: .whitespaces).lowercased() }
        }
        return nil
    }

    /// The region of the current leader, as the members report it.
    func leader() async throws -> String? {
        for member in members {
            guard let status = try? await http.expectObject(.POST, url(member.region) + "/v3/maintenance/status", body: "{}"),
                  let leaderID = status["leader"] as? String else { continue }
            if let leader = members.first(where: { $0.id == leaderID }) { return leader.region }
        }
        return nil
    }

    /// Asks the leader to hand leadership to `region`'s member; returns the leader afterwards.
    func transferLeadership(to region: String) async throws -> String? {
        guard let current = try await leader(), current != region, let target = members.first(where: { $0.region == region })?.id else {
            return try await leader()
        }
        let answer = try await http.send(.POST, url(current) + "/v3/maintenance/transfer-leadership", body: Array(#"{"targetID": "\#(target)"}"#.utf8))
        guard answer.status == 200 else { return current }
        let deadline = ContinuousClock.now + .milliseconds(Self.startupMillisecondsMax)
        while ContinuousClock.now < deadline {
            if try await leader() == region { return region }
            try await Task.sleep(for: .milliseconds(Self.pollMilliseconds))
        }
        return try await leader()
    }

    /// Stops every member and proxy and removes the data.
    func stop() {
        for member in members {
            if let process = member.process, process.isRunning { kill(process.processIdentifier, SIGTERM) }
        }
        let deadline = Date().addingTimeInterval(Double(BenchChildren.terminateGraceMilliseconds) / 1000)
        while Date() < deadline, members.contains(where: { $0.process?.isRunning == true }) { usleep(useconds_t(BenchChildren.exitPollMilliseconds * 1000)) }
        for member in members {
            guard let process = member.process else { continue }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            BenchChildren.shared.forget(process.processIdentifier)
        }
        for member in members { member.proxy?.stop() }
        try? FileManager.default.removeItem(at: folder)
    }
}

extension BenchSession {
    /// etcd next to Meridian in strong-writes: 64 clients at the leader with latency off,
    /// then one sequential client per region with the latency matrix between members.
    /// Returns the Meridian/etcd ratio parts.
    func etcdStrongWrites(meridianPerRegion: [String: LoadResult], meridianThroughput: LoadResult, meridianLeader: String, regions: [String]) async throws -> [String] {
        let payload = Array(settings.payload.utf8)
        let fast = try await EtcdCluster.start(regions: regions, oneWay: { _, _ in 0 }, http: http)
        let throughput: LoadResult
        let fastLeader: String
        do {
            fastLeader = try await fast.leader() ?? regions[0]
            throughput = try await load("etcd \(Self.strongThroughputClients) clients, latency off", clients: Self.strongThroughputClients) { client, sequence in
                try await fast.put(fastLeader, key: "t-\(client)-\(sequence)", value: payload)
            }
        } catch {
            fast.stop()
            throw error
        }
        fast.stop()
        print("etcd 3.4, latency off, \(Self.strongThroughputClients) clients writing at the leader \(fastLeader): \(String(format: "%.0f", throughput.throughput)) puts/s, p50 \(ms(throughput.latencies.p50)) ms, p99 \(ms(throughput.latencies.p99)) ms, \(throughput.errors) errors")

        let cluster = try await withLatency()
        let slow = try await EtcdCluster.start(regions: regions, oneWay: { cluster.oneWay($0, $1) }, http: http)
        let perRegion: [String: LoadResult]
        let leader: String
        do {
            leader = try await slow.transferLeadership(to: meridianLeader) ?? meridianLeader
            perRegion = try await strongWritesPerRegion(regions: regions, leader: leader) { region, client, sequence in
                try await slow.put(region, key: "\(region)-\(client)-\(sequence)", value: payload)
            }
        } catch {
            slow.stop()
            throw error
        }
        slow.stop()
        print("etcd 3.4 with the latency matrix injected between members by the delay proxy, leader \(leader); one sequential client per region through its own member")
        let floors = Dictionary(uniqueKeysWithValues: regions.map { ($0, BenchMath.strongWriteFloorMilliseconds(client: $0, leader: leader, regions: regions, oneWay: cluster.oneWay)) })
        printStrongTable("etcd", perRegion, floors: floors, regions: regions)
        var parts = [
            "throughput meridian/etcd (latency off, \(Self.strongThroughputClients) clients) \(BenchMath.format(BenchMath.ratio(meridianThroughput.throughput, throughput.throughput)))",
            "p50 meridian/etcd (latency off) \(BenchMath.format(BenchMath.ratio(meridianThroughput.latencies.p50, throughput.latencies.p50)))",
            "p99 meridian/etcd (latency off) \(BenchMath.format(BenchMath.ratio(meridianThroughput.latencies.p99, throughput.latencies.p99)))",
        ]
        if leader != meridianLeader { parts.append("etcd leader \(leader) differs from meridian's \(meridianLeader): compare each to its floor") }
        for region in regions {
            parts.append("\(region) p50 meridian/etcd \(BenchMath.format(BenchMath.ratio(meridianPerRegion[region]?.latencies.p50, perRegion[region]?.latencies.p50))) p99 meridian/etcd \(BenchMath.format(BenchMath.ratio(meridianPerRegion[region]?.latencies.p99, perRegion[region]?.latencies.p99))) etcd p50/floor \(BenchMath.format(BenchMath.ratio(perRegion[region]?.latencies.p50, floors[region])))")
        }
        return parts
    }
}
