import Foundation
import MeridianLocalCluster

/// A PostgreSQL 15 primary and a streaming-replication standby on loopback, the standby
/// connected to the primary through a `DelayProxy` (the one-way delay between their
/// regions, both ways). Run as the `postgres` user through `runuser` when the benchmark
/// runs as root (PostgreSQL refuses root). Data in a temporary folder, removed at `stop()`.
final class PostgresPair: @unchecked Sendable {
    /// Where Debian installs PostgreSQL 15's programs.
    static let binaries = "/usr/lib/postgresql/15/bin"
    /// The operating-system user the servers run as when the benchmark runs as root.
    static let serverUser = "postgres"
    /// How long a server may take to accept connections, in milliseconds.
    static let startupMillisecondsMax = 60_000
    /// How often a starting server is probed, in milliseconds.
    static let pollMilliseconds = 50
    /// How long `pg_ctl promote` may wait for the promotion, in seconds.
    static let promoteSecondsMax = 60

    let folder: URL
    let primaryPort: Int
    let standbyPort: Int
    let proxy: DelayProxy
    private var servers: [Process] = []

    var primaryData: URL { folder.appendingPathComponent("primary") }
    var standbyData: URL { folder.appendingPathComponent("standby") }

    /// Creates, starts and connects both servers; the standby streams through the proxy.
    init(oneWayMilliseconds: Double) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binaries + "/postgres") else {
            throw BenchError("\(Self.binaries)/postgres is missing: install PostgreSQL 15 with `apt-get install postgresql-15` (README, Benchmarks)")
        }
        folder = try BenchProcess.temporaryFolder("postgres")
        let ports = try LocalPorts.free(2)
        primaryPort = ports[0]
        standbyPort = ports[1]
        proxy = try DelayProxy(targetPort: primaryPort, delays: .init(forwardMilliseconds: oneWayMilliseconds, backwardMilliseconds: oneWayMilliseconds))
        do {
            if getuid() == 0 { try BenchProcess.runToEnd("/bin/chown", ["-R", Self.serverUser, folder.path]) }
            try asServer("initdb", ["-D", primaryData.path, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
            try startServer(primaryData, port: primaryPort)
            try waitReady(port: primaryPort)
            try BenchProcess.runToEnd(Self.binaries + "/psql", connection(primaryPort) + ["-c", "CREATE TABLE bench (k bigint PRIMARY KEY, v text)"])
            try BenchProcess.runToEnd(Self.binaries + "/psql", connection(primaryPort) + ["-c", "ALTER SYSTEM SET synchronous_standby_names = '*'", "-c", "SELECT pg_reload_conf()"])
            try asServer("pg_basebackup", ["-h", "127.0.0.1", "-p", "\(proxy.port)", "-U", "postgres", "-D", standbyData.path, "-R", "-X", "stream", "--no-sync"])
            try startServer(standbyData, port: standbyPort)
            try waitReady(port: standbyPort)
        } catch {
            stop()
            throw error
        }
    }

    /// psql's connection arguments for a port.
    func connection(_ port: Int) -> [String] { ["-h", "127.0.0.1", "-p", "\(port)", "-U", "postgres", "-d", "postgres", "-X", "-q", "-v", "ON_ERROR_STOP=1"] }

    /// Runs a PostgreSQL program as the server user to completion.
    @discardableResult
    func asServer(_ program: String, _ arguments: [String]) throws -> String {
        if getuid() == 0 {
            return try BenchProcess.runToEnd("/usr/sbin/runuser", ["-u", Self.serverUser, "--", Self.binaries + "/" + program] + arguments)
        }
        return try BenchProcess.runToEnd(Self.binaries + "/" + program, arguments)
    }

    private func startServer(_ data: URL, port: Int) throws {
        let arguments = ["-D", data.path, "-p", "\(port)", "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=\(folder.path)",
                         "-c", "max_wal_senders=5", "-c", "wal_level=replica", "-c", "hot_standby=on", "-c", "fsync=on"]
        let log = folder.appendingPathComponent("\(data.lastPathComponent).log")
        let process = getuid() == 0
            ? try BenchProcess.start("/usr/sbin/runuser", ["-u", Self.serverUser, "--", Self.binaries + "/postgres"] + arguments, log: log)
            : try BenchProcess.start(Self.binaries + "/postgres", arguments, log: log)
        servers.append(process)
    }

    private func waitReady(port: Int) throws {
        let deadline = Date().addingTimeInterval(Double(Self.startupMillisecondsMax) / 1000)
        while Date() < deadline {
            if (try? BenchProcess.runToEnd(Self.binaries + "/psql", connection(port) + ["-c", "SELECT 1"])) != nil { return }
            usleep(useconds_t(Self.pollMilliseconds * 1000))
        }
        throw BenchError("PostgreSQL on port \(port) did not accept connections within \(Self.startupMillisecondsMax) ms; logs in \(folder.path)")
    }

    /// The postmaster's process id, from its pid file.
    func postmasterPID(_ data: URL) -> pid_t? {
        guard let text = try? String(contentsOf: data.appendingPathComponent("postmaster.pid"), encoding: .utf8) else { return nil }
        return text.split(separator: "\n").first.flatMap { pid_t($0) }
    }

    /// Kills the primary's postmaster and every process it started (backends, WAL
    /// sender, writers) with SIGKILL at once: a crash of the machine, not only of the
    /// postmaster (whose children would otherwise go on sending WAL for a moment).
    func killPrimary() {
        guard let postmaster = postmasterPID(primaryData) else { return }
        for pid in Self.children(of: postmaster) { kill(pid, SIGKILL) }
        kill(postmaster, SIGKILL)
    }

    /// The processes whose parent is `parent`, from /proc.
    static func children(of parent: pid_t) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> pid_t? in
            guard let pid = pid_t(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return nil }
            // After "pid (name)": state, then the parent's pid.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && pid_t(fields[1]) == parent ? pid : nil
        }
    }

    /// Promotes the standby (`pg_ctl promote`, waiting until it is done).
    func promoteStandby() throws {
        try asServer("pg_ctl", ["promote", "-D", standbyData.path, "-w", "-t", "\(Self.promoteSecondsMax)"])
    }

    /// Stops both servers (immediate shutdown) and the proxy, and removes the data.
    func stop() {
        for data in [primaryData, standbyData] {
            if let pid = postmasterPID(data) { kill(pid, SIGQUIT) }
        }
        let deadline = Date().addingTimeInterval(Double(BenchChildren.terminateGraceMilliseconds) / 1000)
        while Date() < deadline, servers.contains(where: \.isRunning) { usleep(useconds_t(BenchChildren.exitPollMilliseconds * 1000)) }
        for data in [primaryData, standbyData] {
            if let pid = postmasterPID(data), kill(pid, 0) == 0 { kill(pid, SIGKILL) }
        }
        for server in servers {
            if server.isRunning { kill(server.processIdentifier, SIGKILL) }
            server.waitUntilExit()
            BenchChildren.shared.forget(server.processIdentifier)
        }
        proxy.stop()
        try? FileManager.default.removeItem(at: folder)
    }
}

/// One long-lived psql session: statements go to its standard input, and each batch ends
/// with an `\echo` marker so that the answer's end is known. Used for the sequential
/// write/visibility probes, where a new process per statement would dominate.
final class PsqlSession: @unchecked Sendable {
    /// The line psql prints after each batch.
    static let marker = "__meridian_bench_end__"
    /// The most bytes one batch's answer may hold.
    static let answerBytesMax = 1 << 20

    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private var buffer = Data()

    /// Opens a session to `port`, with `synchronous_commit` set for its transactions.
    init(pair: PostgresPair, port: Int, synchronousCommit: String, log: URL) throws {
        process.executableURL = URL(fileURLWithPath: PostgresPair.binaries + "/psql")
        process.arguments = ["-h", "127.0.0.1", "-p", "\(port)", "-U", "postgres", "-d", "postgres", "-X", "-q", "-A", "-t"]
        process.environment = ProcessInfo.processInfo.environment.merging(["PGOPTIONS": "-c synchronous_commit=\(synchronousCommit)"]) { $1 }
        process.standardInput = input
        process.standardOutput = output
        if !FileManager.default.fileExists(atPath: log.path) { FileManager.default.createFile(atPath: log.path, contents: nil) }
        process.standardError = try FileHandle(forWritingTo: log)
        try process.run()
        BenchChildren.shared.register(process.processIdentifier)
    }

    /// Sends statements and returns the lines they printed (errors go to the log, not here).
    func run(_ statements: String) throws -> [String] {
        input.fileHandleForWriting.write(Data((statements + "\n\\echo \(Self.marker)\n").utf8))
        let markerLine = Data((Self.marker + "\n").utf8)
        while buffer.range(of: markerLine) == nil {
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else { throw BenchError("psql ended before answering") }
            buffer.append(chunk)
            guard buffer.count <= Self.answerBytesMax else { throw BenchError("psql answered more than \(Self.answerBytesMax) bytes") }
        }
        let range = buffer.range(of: markerLine)!
        let answer = String(decoding: buffer[..<range.lowerBound], as: UTF8.self)
        buffer.removeSubrange(..<range.upperBound)
        return answer.split(separator: "\n").map(String.init)
    }

    func close() {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
        BenchChildren.shared.forget(process.processIdentifier)
    }
}

extension BenchSession {
    /// The region of PostgreSQL's primary and of Meridian's primary tables in the comparison.
    static let postgresPrimaryRegion = "us-east"
    /// The region of PostgreSQL's standby and of the Meridian follower that is read.
    static let postgresStandbyRegion = "eu-west"
    /// The most visibility polls per write before the sample is given up.
    static let visibilityPollsMax = 100_000
    /// Keys of the synchronous-commit phase start here, after the asynchronous phase's.
    static let synchronousKeysFirst = 1_000_000_000
    /// Keys written at the promoted standby start here, after the primary's.
    static let promotedKeysFirst = 1_000_000

    /// PostgreSQL next to Meridian's primary tables: write latency with asynchronous and
    /// synchronous commit, and the delay from acknowledgement at the primary to visibility
    /// at the standby. Returns the ratio parts.
    func postgresReplication(_ cluster: BenchCluster) async throws -> [String] {
        let oneWay = cluster.oneWay(Self.postgresPrimaryRegion, Self.postgresStandbyRegion)
        let payload = String(repeating: "x", count: settings.valueBytes)
        var meridian: [String: (writes: LoadResult, lag: LatencyHistogram, failed: Int)] = [:]
        for commit in ["local", "quorum"] {
            let table = "bench_pg_\(commit)"
            try await cluster.createTable(table, #"{"mode": "primary", "primary": "\#(Self.postgresPrimaryRegion)", "commit": "\#(commit)"}"#, in: Self.postgresPrimaryRegion)
            _ = try await cluster.waitForLeader(of: table, regions: cluster.regions, expected: Self.postgresPrimaryRegion)
            let writes = try await load("meridian primary table commit \(commit)", clients: 1) { [self] _, sequence in
                try await put(cluster, Self.postgresPrimaryRegion, table: table, key: "w-\(sequence)")
            }
            var lag = LatencyHistogram()
            let deadline = ContinuousClock.now + .milliseconds(Int64(settings.measureSeconds * 1000))
            var sequence = 0, failed = 0
            while ContinuousClock.now < deadline {
                // A write Meridian refuses (such as 503 commit_timeout) is counted and reported, not fatal.
                do {
                    try await put(cluster, Self.postgresPrimaryRegion, table: table, key: "lag-\(sequence)")
                } catch {
                    failed += 1
                    FileHandle.standardError.write(Data("  meridian commit \(commit): lag write \(sequence) failed: \(error)\n".utf8))
                    sequence += 1
                    continue
                }
                let acknowledged = ContinuousClock.now
                for _ in 0..<Self.visibilityPollsMax {
                    if try await http.send(.GET, cluster.url(Self.postgresStandbyRegion) + "/v1/tables/\(table)/items/lag-\(sequence)").status == 200 {
                        lag.record(ContinuousClock.now - acknowledged)
                        break
                    }
                }
                sequence += 1
            }
            meridian[commit] = (writes, lag, failed)
        }

        let pair = try PostgresPair(oneWayMilliseconds: oneWay)
        var postgres: [String: (writes: LatencyHistogram, count: Int, lag: LatencyHistogram)] = [:]
        do {
            for commit in ["local", "on"] {
                let writer = try PsqlSession(pair: pair, port: pair.primaryPort, synchronousCommit: commit, log: pair.folder.appendingPathComponent("psql-\(commit).log"))
                let reader = try PsqlSession(pair: pair, port: pair.standbyPort, synchronousCommit: "local", log: pair.folder.appendingPathComponent("psql-standby.log"))
                defer { writer.close(); reader.close() }
                let base = commit == "on" ? Self.synchronousKeysFirst : 0
                var writes = LatencyHistogram(), lag = LatencyHistogram()
                let warmUpEnd = ContinuousClock.now + .milliseconds(Int64(settings.warmUpSeconds * 1000))
                let deadline = warmUpEnd + .milliseconds(Int64(settings.measureSeconds * 1000))
                var key = base
                while ContinuousClock.now < deadline {
                    let before = ContinuousClock.now
                    let inserted = try writer.run("INSERT INTO bench VALUES (\(key), '\(payload)') RETURNING k;")
                    guard inserted == ["\(key)"] else { throw BenchError("PostgreSQL insert of \(key) answered \(inserted)") }
                    let acknowledged = ContinuousClock.now
                    if before >= warmUpEnd { writes.record(acknowledged - before) }
                    for _ in 0..<Self.visibilityPollsMax {
                        guard try reader.run("SELECT count(*) FROM bench WHERE k = \(key);") == ["1"] else { continue }
                        if before >= warmUpEnd { lag.record(ContinuousClock.now - acknowledged) }
                        break
                    }
                    key += 1
                }
                postgres[commit] = (writes, key - base, lag)
            }
        } catch {
            pair.stop()
            throw error
        }
        pair.stop()

        print("PostgreSQL 15 next to Meridian primary tables: primary in \(Self.postgresPrimaryRegion), standby / follower read in \(Self.postgresStandbyRegion), \(String(format: "%.1f", oneWay)) ms one-way each way (delay proxy for PostgreSQL);")
        print("one sequential client at the primary; lag = from the write's acknowledgement to the first read at the standby that sees it (polled back to back)")
        print("system                                   write p50 ms  write p99 ms  lag p50 ms  lag p99 ms")
        let rows: [(String, LatencyHistogram?, LatencyHistogram?)] = [
            ("meridian primary, commit local", meridian["local"]?.writes.latencies, meridian["local"]?.lag),
            ("postgres async (synchronous_commit=local)", postgres["local"]?.writes, postgres["local"]?.lag),
            ("meridian primary, commit quorum", meridian["quorum"]?.writes.latencies, meridian["quorum"]?.lag),
            ("postgres sync (synchronous_commit=on)", postgres["on"]?.writes, postgres["on"]?.lag),
        ]
        for (label, writes, lag) in rows {
            print(column(label, 41) + " " + column(ms(writes?.p50), 13) + " " + column(ms(writes?.p99), 13) + " " + column(ms(lag?.p50), 11) + " " + ms(lag?.p99))
        }
        for commit in ["local", "quorum"] {
            let errors = (meridian[commit]?.writes.errors ?? 0) + (meridian[commit]?.failed ?? 0)
            if errors > 0 { print("meridian primary, commit \(commit): \(errors) writes failed (see standard error); they are not in the latencies above") }
        }
        return [
            "write p50 meridian local / postgres async \(BenchMath.format(BenchMath.ratio(meridian["local"]?.writes.latencies.p50, postgres["local"]?.writes.p50)))",
            "write p50 meridian quorum / postgres sync \(BenchMath.format(BenchMath.ratio(meridian["quorum"]?.writes.latencies.p50, postgres["on"]?.writes.p50)))",
            "write p99 meridian quorum / postgres sync \(BenchMath.format(BenchMath.ratio(meridian["quorum"]?.writes.latencies.p99, postgres["on"]?.writes.p99)))",
            "lag p50 meridian local / postgres async \(BenchMath.format(BenchMath.ratio(meridian["local"]?.lag.p50, postgres["local"]?.lag.p50)))",
            "lag p99 meridian local / postgres async \(BenchMath.format(BenchMath.ratio(meridian["local"]?.lag.p99, postgres["local"]?.lag.p99)))",
            "lag p50 postgres async / injected one-way \(BenchMath.format(BenchMath.ratio(postgres["local"]?.lag.p50, oneWay)))",
        ]
    }

    /// PostgreSQL's failover next to Meridian's: a writer at the primary (asynchronous
    /// commit), SIGKILL of the primary's postmaster, `pg_ctl promote` at once (no failure
    /// detection: PostgreSQL has none built in), then writes at the standby until one is
    /// accepted. Returns the ratio parts.
    func postgresFailover(meridianMedianRTO: [String: Double]) async throws -> [String] {
        let oneWay = Geography.oneWay(from: Self.postgresPrimaryRegion, to: Self.postgresStandbyRegion)
        var rtos: [Double] = [], promotes: [Double] = []
        var acknowledgedTotal = 0, lostTotal = 0
        for trial in 0..<settings.trials {
            let pair = try PostgresPair(oneWayMilliseconds: oneWay)
            do {
                let writer = try PsqlSession(pair: pair, port: pair.primaryPort, synchronousCommit: "local", log: pair.folder.appendingPathComponent("psql-writer.log"))
                let deadline = ContinuousClock.now + .milliseconds(Int64(Self.failoverWritesBeforeKillMilliseconds))
                var key = 0
                while ContinuousClock.now < deadline {
                    guard try writer.run("INSERT INTO bench VALUES (\(key), 'x') RETURNING k;") == ["\(key)"] else { throw BenchError("PostgreSQL insert \(key) failed") }
                    key += 1
                }
                let killed = ContinuousClock.now
                pair.killPrimary()
                writer.close()
                try pair.promoteStandby()
                let promoted = (ContinuousClock.now - killed).milliseconds
                let standby = try PsqlSession(pair: pair, port: pair.standbyPort, synchronousCommit: "local", log: pair.folder.appendingPathComponent("psql-standby.log"))
                defer { standby.close() }
                var rto: Double?
                var attempt = 0
                while rto == nil && (ContinuousClock.now - killed).milliseconds < Double(Self.rtoMillisecondsMax) {
                    if try standby.run("INSERT INTO bench VALUES (\(Self.promotedKeysFirst + attempt), 'after') RETURNING k;") == ["\(Self.promotedKeysFirst + attempt)"] {
                        rto = (ContinuousClock.now - killed).milliseconds
                    }
                    attempt += 1
                }
                let present = Int(try standby.run("SELECT count(*) FROM bench WHERE k < \(key);").first ?? "") ?? 0
                guard let rto else { throw BenchError("the promoted standby accepted no write within \(Self.rtoMillisecondsMax) ms") }
                rtos.append(rto)
                promotes.append(promoted)
                acknowledgedTotal += key
                lostTotal += key - present
                print("  postgres trial \(trial + 1): pg_ctl promote returned \(ms(promoted)) ms after the kill, first write accepted \(ms(rto)) ms after it; \(key) acknowledged, \(key - present) missing on the promoted standby")
            } catch {
                pair.stop()
                throw error
            }
            pair.stop()
        }
        rtos.sort()
        promotes.sort()
        let median = rtos.isEmpty ? nil : rtos[rtos.count / 2]
        let promoteMedian = promotes.isEmpty ? nil : promotes[promotes.count / 2]
        print("postgres (asynchronous commit, promotion issued at once, no failure detection): RTO median \(ms(median)) ms (min \(ms(rtos.first)), max \(ms(rtos.last))); pg_ctl promote median \(ms(promoteMedian)) ms; \(lostTotal) of \(acknowledgedTotal) acknowledged writes missing after promotion (RPO)")
        return [
            "RTO median meridian quorum (detection included) / postgres promote (no detection) \(BenchMath.format(BenchMath.ratio(meridianMedianRTO["quorum"], median)))",
            "RTO median meridian local / postgres promote \(BenchMath.format(BenchMath.ratio(meridianMedianRTO["local"], median)))",
            "postgres lost / acknowledged \(BenchMath.format(BenchMath.ratio(Double(lostTotal), Double(acknowledgedTotal))))",
        ]
    }
}
