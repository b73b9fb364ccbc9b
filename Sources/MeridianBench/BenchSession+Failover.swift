import Foundation
import MeridianAPIModel

extension BenchSession {
    /// Clients writing to the primary while it is killed.
    static let failoverWriters = 4
    /// How long the writers run before the kill, in milliseconds.
    static let failoverWritesBeforeKillMilliseconds = 1000
    /// The longest wait for a standby to accept a write after the kill, in milliseconds.
    static let rtoMillisecondsMax = 30_000
    /// The pause between write attempts at the standby, in milliseconds.
    static let rtoPollMilliseconds = 5
    /// The primary region of the failover tables.
    static let failoverPrimary = "us-east"
    /// The standby that takes the writes after the kill (nearest to the primary).
    static let failoverStandby = "eu-west"
    /// The shortest election timeout of a Raft group, in milliseconds: `RaftSettings`'
    /// 6 ticks of 50 ms (docs/consensus.md, Timing); a failover cannot be faster.
    static let electionTimeoutMinimumMilliseconds = 300.0

    /// One trial's measurements for one table.
    struct FailoverTrial {
        var rtoMilliseconds: Double
        var acknowledged: Int
        var divergenceRows: Int
    }

    /// Kills the leader region's process under writes, `trials` times, for a `primary`
    /// table with commit quorum and one with commit local (both in each trial): time to
    /// the first write the new leader accepts (RTO), and acknowledged writes that went to
    /// the divergence ledger once the old leader rejoined (RPO).
    func failover(againstPostgres: Bool) async throws {
        let cluster = try await withLatency()
        print("scenario failover: primary tables (primary \(Self.failoverPrimary)), \(Self.failoverWriters) clients per table writing at the primary; SIGKILL of its process while they write;")
        print("RTO = from the kill to the first write accepted through \(Self.failoverStandby) (detection and election included); RPO = acknowledged writes in the divergence ledger")
        var trials: [String: [FailoverTrial]] = ["quorum": [], "local": []]
        for trial in 0..<settings.trials {
            let tables = ["quorum": "bench_fo_quorum_\(trial)", "local": "bench_fo_local_\(trial)"]
            for (commit, table) in tables {
                try await cluster.createTable(table, #"{"mode": "primary", "primary": "\#(Self.failoverPrimary)", "commit": "\#(commit)"}"#, in: Self.failoverPrimary)
            }
            for table in tables.values { _ = try await cluster.waitForLeader(of: table, regions: cluster.regions, expected: Self.failoverPrimary) }
            let (acknowledged, killed) = try await writeAndKill(cluster, tables: Array(tables.values))
            let rtos = try await withThrowingTaskGroup(of: (String, Double).self) { group in
                for (commit, table) in tables {
                    group.addTask { [self] in (commit, try await firstAcceptedWrite(cluster, table: table, since: killed)) }
                }
                return try await group.reduce(into: [String: Double]()) { $0[$1.0] = $1.1 }
            }
            try await cluster.restart(Self.failoverPrimary)
            for (commit, table) in tables {
                _ = try await cluster.waitForLeader(of: table, regions: cluster.regions, expected: Self.failoverPrimary)
                let ledger = try await http.expect(DivergencePageBody.self, .GET, cluster.url(Self.failoverStandby) + "/v1/tables/\(table)/divergence")
                // Count keys, not rows: more than one region may record the same replaced write.
                let rows = Set(ledger.rows.map(\.key)).count
                trials[commit]?.append(FailoverTrial(rtoMilliseconds: rtos[commit] ?? -1, acknowledged: acknowledged[table] ?? 0, divergenceRows: rows))
                print("  trial \(trial + 1), commit \(commit): RTO \(ms(rtos[commit])) ms, \(acknowledged[table] ?? 0) writes acknowledged by the primary before the kill, \(rows) in the divergence ledger")
            }
        }
        print("commit   trials   RTO min ms   RTO median ms   RTO max ms   acknowledged   in divergence ledger (RPO)")
        var medians: [String: Double] = [:]
        for commit in ["quorum", "local"] {
            let list = trials[commit] ?? []
            let rtos = list.map(\.rtoMilliseconds).sorted()
            let median = rtos.isEmpty ? nil : rtos[rtos.count / 2]
            medians[commit] = median
            print(column(commit, 8) + " " + column("\(list.count)", 8) + " " + column(ms(rtos.first), 12) + " " + column(ms(median), 15) + " "
                  + column(ms(rtos.last), 12) + " " + column("\(list.map(\.acknowledged).reduce(0, +))", 14) + " " + "\(list.map(\.divergenceRows).reduce(0, +))")
        }
        var parts = [
            "RTO median quorum / local \(BenchMath.format(BenchMath.ratio(medians["quorum"], medians["local"])))",
            "RTO median quorum / minimum election timeout (\(Int(Self.electionTimeoutMinimumMilliseconds)) ms) \(BenchMath.format(BenchMath.ratio(medians["quorum"], Self.electionTimeoutMinimumMilliseconds)))",
            "divergence keys / acknowledged (RPO), local \(BenchMath.format(BenchMath.ratio(Double(trials["local"]?.map(\.divergenceRows).reduce(0, +) ?? 0), Double(trials["local"]?.map(\.acknowledged).reduce(0, +) ?? 0))))",
        ]
        if againstPostgres { parts += try await postgresFailover(meridianMedianRTO: medians) }
        ratios("failover", parts)
    }

    /// Writers at the primary (`failoverWriters` per table) for
    /// `failoverWritesBeforeKillMilliseconds`, then SIGKILL of the primary while they are
    /// still writing; returns how many writes each table acknowledged (answered 200).
    private func writeAndKill(_ cluster: BenchCluster, tables: [String]) async throws -> (acknowledged: [String: Int], killed: ContinuousClock.Instant) {
        let stop = StopFlag()
        let writers = Task {
            await withTaskGroup(of: (String, Int).self) { group in
                for table in tables {
                    for writer in 0..<Self.failoverWriters {
                        group.addTask { [self] in
                            var acknowledged = 0
                            // A writer stops at its first failure: the primary is gone.
                            while !stop.isRaised, (try? await put(cluster, Self.failoverPrimary, table: table, key: "w\(writer)-\(acknowledged)")) != nil {
                                acknowledged += 1
                            }
                            return (table, acknowledged)
                        }
                    }
                }
                return await group.reduce(into: [String: Int]()) { $0[$1.0, default: 0] += $1.1 }
            }
        }
        try await Task.sleep(for: .milliseconds(Self.failoverWritesBeforeKillMilliseconds))
        let killed = ContinuousClock.now
        cluster.kill9(Self.failoverPrimary)
        stop.raise()
        return (await writers.value, killed)
    }

    /// Tries writes through the standby until one is accepted; the milliseconds since `since`.
    private func firstAcceptedWrite(_ cluster: BenchCluster, table: String, since: ContinuousClock.Instant) async throws -> Double {
        var attempt = 0
        while (ContinuousClock.now - since).milliseconds < Double(Self.rtoMillisecondsMax) {
            if let answer = try? await http.send(.PUT, cluster.url(Self.failoverStandby) + "/v1/tables/\(table)/items/after-\(attempt)", body: Array(settings.payload.utf8)),
               answer.status == 200 {
                return (ContinuousClock.now - since).milliseconds
            }
            attempt += 1
            try await Task.sleep(for: .milliseconds(Self.rtoPollMilliseconds))
        }
        throw BenchError("no write to \(table) was accepted through \(Self.failoverStandby) within \(Self.rtoMillisecondsMax) ms of the kill")
    }
}
