import MeridianCore
import MeridianRegion
import MeridianReplication
import MeridianStorage
import MeridianTestSupport

/// Several regions over in-memory storage, with messages moved by hand: a small,
/// deterministic stand-in for the network, for testing replication end to end.
final class LocalCluster {
    struct Link: Hashable { let from: RegionID; let to: RegionID }

    let ids: [RegionID]
    var regions: [RegionID: Region] = [:]
    var storages: [RegionID: InMemoryStorage] = [:]
    var wallMilliseconds: UInt64 = 1_700_000_000_000
    /// Per region, how far its wall clock is ahead of the shared one, in milliseconds.
    var clockAheadMilliseconds: [RegionID: UInt64] = [:]
    /// Messages sent and not yet delivered, in send order.
    var inFlight: [(from: RegionID, to: RegionID, message: PeerMessage)] = []
    /// Links on which messages are dropped.
    var cutLinks: Set<Link> = []
    var random: SplitMix64
    /// Chances, in percent, that a delivered message is lost, duplicated, or overtaken.
    var lossPercent = 0, duplicatePercent = 0, reorderPercent = 0
    /// Results of requests that waited for a Raft commit or read index, by region and ticket.
    var completions: [RegionID: [UInt64: Result<RegionReply, MeridianError>]] = [:]

    init(_ names: [String], seed: UInt64 = 1, configure: (inout RegionConfiguration) -> Void = { _ in }) throws {
        ids = try names.map { try RegionID($0) }
        random = SplitMix64(seed: seed)
        for id in ids {
            let storage = InMemoryStorage()
            var configuration = RegionConfiguration(id: id, clusterRegions: ids)
            configure(&configuration)
            storages[id] = storage
            regions[id] = try Region(configuration: configuration, storage: storage)
        }
    }

    func id(_ name: String) -> RegionID { ids.first { $0.name == name }! }

    /// Runs one step of one region and queues what it sends.
    @discardableResult
    func step(_ region: RegionID, _ inputs: [RegionInput]) -> [Result<RegionReply, MeridianError>] {
        let output = regions[region]!.step(inputs, wallMilliseconds: wallMilliseconds + (clockAheadMilliseconds[region] ?? 0))
        for (ticket, result) in output.completions { completions[region, default: [:]][ticket] = result }
        for (peer, message) in output.messages {
            if cutLinks.contains(Link(from: region, to: peer)) { continue }
            inFlight.append((region, peer, message))
        }
        return output.replies
    }

    func request(_ region: String, _ request: RegionRequest) -> Result<RegionReply, MeridianError> {
        step(id(region), [.request(request)])[0]
    }

    /// Sends a request and waits for its answer: a `.pending` reply is followed by its
    /// completion, time advancing meanwhile; a catalog without a leader yet (the cluster just
    /// started) is waited for.
    func call(_ region: String, _ request: RegionRequest, roundsMax: Int = 400) -> Result<RegionReply, MeridianError> {
        for _ in 0..<roundsMax {
            let reply = self.request(region, request)
            if case .failure(let error) = reply, error.code == "no_leader" {
                settle(roundsMax: 1, roundsMin: 1)
                continue
            }
            guard case .success(.pending(let ticket)) = reply else { return reply }
            for _ in 0..<roundsMax {
                if let result = completions[id(region)]?.removeValue(forKey: ticket) { return result }
                settle(roundsMax: 1, roundsMin: 1)
            }
            return .failure(MeridianError(.unavailable, code: "test_timeout", "no completion for ticket \(ticket)"))
        }
        return .failure(MeridianError(.unavailable, code: "test_timeout", "no catalog leader"))
    }

    /// Brings up every connection (both ends learn of it).
    func connectAll() {
        for region in ids { step(region, ids.filter { $0 != region }.map(RegionInput.peerConnected)) }
    }

    /// Restarts a region over the storage it had: in-flight messages to it are lost and
    /// its connections come back up.
    func restart(_ name: String) throws {
        let region = id(name)
        inFlight.removeAll { $0.to == region || $0.from == region }
        regions[region] = try Region(configuration: regions[region]!.configuration, storage: storages[region]!)
        for peer in ids where peer != region {
            step(peer, [.peerDisconnected(region), .peerConnected(region)])
            step(region, [.peerConnected(peer)])
        }
    }

    /// Delivers in-flight messages (with the configured faults) until none are left or
    /// `roundsMax` rounds passed; time advances and every region ticks each round.
    /// `roundsMin` rounds always run (for work driven by timers, such as a table copy
    /// asked again after a refusal).
    func settle(roundsMax: Int = 2000, roundsMin: Int = 0, millisecondsPerRound: UInt64 = 20) {
        for round in 0..<roundsMax {
            wallMilliseconds += millisecondsPerRound
            for region in ids { step(region, [.tick]) }
            var delivering = inFlight
            inFlight = []
            if reorderPercent > 0 && delivering.count > 1 {
                for index in delivering.indices where Int.random(in: 0..<100, using: &random) < reorderPercent {
                    delivering.swapAt(index, Int.random(in: 0..<delivering.count, using: &random))
                }
            }
            for (from, to, message) in delivering {
                if cutLinks.contains(Link(from: from, to: to)) { continue }
                if Int.random(in: 0..<100, using: &random) < lossPercent { continue }
                step(to, [.message(from: from, message)])
                if Int.random(in: 0..<100, using: &random) < duplicatePercent { step(to, [.message(from: from, message)]) }
            }
            if round >= roundsMin && inFlight.isEmpty && isQuiet { return }
        }
    }

    /// Whether every region has applied everything every origin has.
    var isQuiet: Bool {
        let heads = ids.map { regions[$0]!.appliedPositions[$0] }
        return ids.allSatisfy { region in
            zip(ids, heads).allSatisfy { origin, head in regions[region]!.appliedPositions[origin] >= head }
        }
    }

    func cut(_ a: String, _ b: String) {
        cutLinks.insert(Link(from: id(a), to: id(b)))
        cutLinks.insert(Link(from: id(b), to: id(a)))
    }

    func healAll() { cutLinks = [] }

    /// Every item of a table in a region, tombstones included, in key order.
    func items(_ region: String, _ table: TableName) throws -> [StoredItem] {
        try storages[id(region)]!.read { try $0.scan(table: table, range: ScanRange(limit: 100_000, includeTombstones: true)) }
    }

    func conflicts(_ region: String, _ table: TableName) throws -> [ConflictEntry] {
        try storages[id(region)]!.read { try $0.conflicts(table: table, afterID: 0, limit: 100_000) }
    }
}
