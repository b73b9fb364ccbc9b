import MeridianCore
import MeridianStorage

/// What a run counted.
public struct SimulationCounters: Sendable, Equatable {
    public var writesAcknowledged = 0
    /// Acknowledged writes a power loss took back before they were synced (`SyncPolicy.normal`).
    public var writesLostToPowerLoss = 0
    public var readsServed = 0
    /// Writes to the consensus tables acknowledged (puts, deletes, successful compare-and-set).
    public var consensusWritesAcknowledged = 0
    /// Strong reads of the consensus tables answered (final reads included).
    public var strongReadsServed = 0
    /// Session reads served (`consistency=session`, by the region the session asked or the one it was forwarded to).
    public var sessionReadsServed = 0
    /// Bounded-staleness reads served.
    public var boundedReadsServed = 0
    /// Calls on the consensus tables whose outcome the client never learned.
    public var consensusOutcomesUnknown = 0
    /// Calls a region refused with `not_leader` and forwarded to the leader it named.
    public var consensusRedirects = 0
    /// Requests a region answered with an error (failed preconditions, missing items...).
    public var requestsRefused = 0
    /// Requests that found their region down.
    public var requestsUnavailable = 0
    /// Conflict-ledger rows in every region at the end.
    public var conflictsRecorded = 0
    public var messagesSent = 0
    /// Messages dropped by lossy links or one-way cuts, on connections that stayed up.
    public var messagesLost = 0
    /// Messages lost because their connection went down while they were in flight.
    public var messagesReset = 0
    public var messagesDuplicated = 0
    public var messagesReordered = 0
    /// Entries regions refused for a timestamp too far ahead of their clock.
    public var clockSkewRejections = 0
    public var entriesApplied = 0
    public var snapshotsInstalled = 0
    /// Remote records regions refused as malformed: zero in an honest run.
    public var invalidRecords = 0
    /// Full entries regions refused for a table they may not hold.
    public var residencyRefusals = 0
}

/// The first violation of a run, where it happened, and what led to it.
public struct SimulationFailure: Sendable, Equatable {
    /// The event at which the violation was detected (1 is the first event).
    public var step: Int
    /// Virtual time since the start of the run, in milliseconds.
    public var simulatedMilliseconds: UInt64
    /// The phase of the run: writing, relay or final.
    public var phase: String
    public var violation: Violation
    /// The last trace lines, oldest first, ending with the violation.
    public var trace: [String]
}

/// The outcome of one run.
public struct SimulationReport: Sendable {
    public var configuration: SimulationConfiguration
    /// Events processed in all phases.
    public var steps: Int
    /// Virtual time the run covered, in milliseconds.
    public var simulatedMilliseconds: UInt64
    public var counters: SimulationCounters
    /// Faults started, per kind.
    public var faultsInjected: [FaultKind: Int]
    /// A hash of every region's final catalog, items and ledgers: equal seeds give equal hashes.
    public var stateHash: StableHash
    /// A hash of every trace line.
    public var traceHash: StableHash
    public var traceLineCount: Int
    /// Every trace line, when the configuration asked for them.
    public var trace: [String]
    /// `nil` when every property held.
    public var failure: SimulationFailure?

    public var faultsTotal: Int { faultsInjected.values.reduce(0, +) }

    /// One line: the seed, its outcome and what the run did.
    public var summary: String {
        let outcome = failure.map { "FAILED (\($0.violation.property))" } ?? "ok"
        let faults = FaultKind.allCases.compactMap { kind in faultsInjected[kind].map { "\(kind) \($0)" } }
        return "seed \(configuration.seed): \(outcome); \(steps) steps, \(Self.seconds(simulatedMilliseconds)) s simulated; "
            + "writes acknowledged \(counters.writesAcknowledged)"
            + (counters.writesLostToPowerLoss > 0 ? " (\(counters.writesLostToPowerLoss) lost to power loss)" : "")
            + ", conflicts recorded \(counters.conflictsRecorded)"
            + "; consensus writes \(counters.consensusWritesAcknowledged), strong reads \(counters.strongReadsServed), unknown \(counters.consensusOutcomesUnknown), redirects \(counters.consensusRedirects)"
            + "; session reads \(counters.sessionReadsServed), bounded reads \(counters.boundedReadsServed)"
            + "; faults \(faultsTotal)"
            + (faults.isEmpty ? "" : " (\(faults.joined(separator: ", ")))")
            + "; messages \(counters.messagesSent), lost \(counters.messagesLost), reset \(counters.messagesReset), duplicated \(counters.messagesDuplicated)"
            + "; snapshots \(counters.snapshotsInstalled), skew rejections \(counters.clockSkewRejections), invalid \(counters.invalidRecords), refused \(counters.residencyRefusals)"
            + "; state \(stateHash.hex)"
    }

    /// The failure's seed, step, property and trace, for a person to read; empty when the run passed.
    public var failureDescription: String {
        guard let failure else { return "" }
        var lines = ["seed \(configuration.seed) FAILED at step \(failure.step) (\(failure.phase) phase, \(Self.seconds(failure.simulatedMilliseconds)) s simulated)",
                     "property: \(failure.violation.property)",
                     "violation: \(failure.violation.detail)",
                     "last \(failure.trace.count) events:"]
        lines += failure.trace.map { "  " + $0 }
        return lines.joined(separator: "\n")
    }

    static func seconds(_ milliseconds: UInt64) -> String {
        let fraction = String(milliseconds % 1000)
        return "\(milliseconds / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)"
    }
}

extension Simulator {
    func makeReport() -> SimulationReport {
        var images: [RegionImage] = []
        do {
            images = try nodes.map { node in
                try RegionImage.read(region: node.id, from: node.storage, tables: workload.tables.map(\.name), origins: configuration.regions)
            }
        } catch {
            preconditionFailure("simulated storage failed a read: \(error)")
        }
        var report = counters
        report.conflictsRecorded = images.reduce(0) { total, image in total + image.conflicts.values.reduce(0) { $0 + $1.count } }
        report.messagesSent = network.counters.sent
        report.messagesLost = network.counters.lost + network.counters.cut
        report.messagesReset = network.counters.reset
        report.messagesDuplicated = network.counters.duplicated
        report.messagesReordered = network.counters.reordered
        for node in nodes {
            let regionCounters = node.totalCounters
            report.clockSkewRejections += regionCounters.clockSkewRejections
            report.entriesApplied += regionCounters.entriesApplied
            report.snapshotsInstalled += regionCounters.snapshotsInstalled
            report.invalidRecords += regionCounters.invalidRecords
            report.residencyRefusals += regionCounters.residencyRefusals
        }
        return SimulationReport(configuration: configuration, steps: stepsRun, simulatedMilliseconds: now - Self.startMilliseconds,
                                counters: report, faultsInjected: faultsInjected, stateHash: Self.hash(images),
                                traceHash: trace.hash, traceLineCount: trace.lineCount, trace: trace.all, failure: failure)
    }

    /// A stable hash of the images' catalogs, items and ledgers.
    static func hash(_ images: [RegionImage]) -> StableHash {
        var hash = StableHash()
        for image in images {
            hash.combine("region \(image.region)\n")
            for record in image.catalog {
                hash.combine("table \(record.name) \(record.version.token) \(record.deletedBefore.hex) \(record.definition?.regions.map(\.name) ?? [])\n")
            }
            for table in image.items.keys.sorted() {
                for item in image.items[table] ?? [] {
                    hash.combine("item \(table)/\(item.key) \(item.version.token) \(item.value.map(text) ?? "-") \(item.record?.vector.token ?? "-")\n")
                }
                for row in image.conflicts[table] ?? [] {
                    hash.combine("conflict \(table)/\(row.key) \(row.overwritten.version.token) \(row.overwritten.field ?? "-") \(row.overwritten.winner.token)\n")
                }
            }
        }
        return hash
    }
}
