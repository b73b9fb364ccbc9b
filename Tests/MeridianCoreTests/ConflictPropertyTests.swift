import MeridianCore
import PropertyBased
import Testing

/// Properties of `ConflictResolution` over random replication histories: three regions
/// write one key and ship records to each other in random orders, with duplicates and
/// relays. Every draw comes from the property library's seeded generator, so a failure
/// prints a seed that replays it.
@Suite("ConflictResolution properties")
struct ConflictPropertyTests {
    /// Runs per test; each run is one history of up to `ReplicationHistory.stepsMax` steps.
    static let runs = 60
    /// Record triples checked per history for the algebraic laws.
    static let triplesPerRun = 12

    @Test(arguments: ConflictPolicy.allCases)
    func mergeIsCommutativeAssociativeAndIdempotent(policy: ConflictPolicy) async {
        await propertyCheck(count: Self.runs, input: ReplicationHistory.generator(policy: policy, triples: Self.triplesPerRun)) { history in
            let merge = { (local: ItemRecord, remote: ItemRecord) in ConflictResolution.merge(local: local, remote: remote, policy: policy) }
            for (a, b, c) in history.triples {
                let ab = merge(a, b)
                let ba = merge(b, a)
                #expect(ab.record == ba.record, "commutative")
                #expect(Set(ab.overwritten) == Set(ba.overwritten), "the same losses are reported either way")
                #expect(merge(ab.record, c).record == merge(a, merge(b, c).record).record, "associative")
                #expect(merge(a, a).record == a, "idempotent")
                #expect(merge(a, a).overwritten.isEmpty, "a duplicate reports nothing")
                #expect(merge(ab.record, b).record == ab.record, "merging again changes nothing")
            }
        }
    }

    @Test(arguments: ConflictPolicy.allCases)
    func regionsConvergeWhateverTheDeliveryOrder(policy: ConflictPolicy) async {
        await propertyCheck(count: Self.runs, input: ReplicationHistory.generator(policy: policy)) { history in
            let first = history.finals[0]
            #expect(history.finals.allSatisfy { $0 == first })
            #expect(first.version == history.writes.map(\.version).max())
            #expect(first.vector == history.writes.reduce(VersionVector()) { $0.merged(with: $1.vector) })
            #expect(first.satisfiesInvariants(of: policy))
        }
    }

    /// Under `lww` a write is lost silently only when a later write saw it: otherwise it is
    /// the final value or some region's merge reported it. And a merge never reports a write
    /// the winner had seen (the whole-item check is exact).
    @Test func lwwEveryWriteIsFinalOverwrittenCausallyOrReportedAndNoOtherIs() async {
        await propertyCheck(count: Self.runs, input: ReplicationHistory.generator(policy: .lww)) { history in
            for write in history.writes {
                let isFinal = history.finals[0].version == write.version
                let isReported = history.reports.contains { $0.version == write.version && $0.value == write.value && $0.field == nil }
                #expect(isFinal || history.causallyOverwritten(write) || isReported, "write \(write.version) was lost silently")
            }
            #expect(history.wholeItemReportsOfSeenWrites == 0, "a write the winner had seen was reported")
        }
    }

    /// Under `merge` the same holds for every field a write stamped (set or dropped). Field
    /// reports may include a write the winner had seen (entries carry no dot), so only the
    /// whole-item reports are checked for that.
    @Test func mergeEveryFieldStampIsFinalOverwrittenCausallyOrReported() async {
        await propertyCheck(count: Self.runs, input: ReplicationHistory.generator(policy: .merge)) { history in
            for write in history.writes {
                for (field, value) in write.stampedFields {
                    let isFinal = history.finals[0].fields[field]?.version == write.version
                    let isReported = history.reports.contains { $0.version == write.version && $0.value == value && $0.field == field }
                    let overwrittenCausally = history.writes.contains { $0.stampedFields[field] != nil && $0.vector.covers(write.dot) && $0.version != write.version }
                    #expect(isFinal || overwrittenCausally || isReported, "field \(field) of write \(write.version) was lost silently")
                }
            }
            #expect(history.wholeItemReportsOfSeenWrites == 0, "a write the winner had seen was reported")
        }
    }
}

/// One local write of a simulated history.
struct SimulatedWrite: Sendable {
    var version: ItemVersion
    var value: JSONValue?
    var dot: Dot
    /// The record's vector right after the write: everything the write saw, and itself.
    var vector: VersionVector
    /// Under `merge`, the fields the write set or dropped, with their new values.
    var stampedFields: [String: JSONValue?]
}

/// A simulated replication history of one key over three regions.
struct ReplicationHistory: Sendable, CustomStringConvertible {
    static let regions = ["ap-south", "eu-west", "us-east"].map { try! RegionID($0) }
    static let fieldNames = ["a", "b", "c"]
    /// The most steps (a write or a delivery batch) before the final exchange.
    static let stepsMax = 24

    let policy: ConflictPolicy
    private(set) var records: [ItemRecord?] = [nil, nil, nil]
    private(set) var clocks: [UInt64] = [0, 0, 0]
    /// Every local write, in the order they happened.
    private(set) var writes: [SimulatedWrite] = []
    /// Every record a region held after a step: what regions ship to each other.
    private(set) var shipped: [ItemRecord] = []
    /// Every value a merge reported as overwritten, in any region.
    private(set) var reports: [OverwrittenValue] = []
    /// Whole-item reports of a write that the winning record had in fact seen (should be none).
    private(set) var wholeItemReportsOfSeenWrites = 0
    /// Each region's record once it has received every shipped record.
    private(set) var finals: [ItemRecord] = []
    /// Triples of shipped records for the algebraic laws.
    private(set) var triples: [(ItemRecord, ItemRecord, ItemRecord)] = []

    var description: String {
        "\(policy) history: \(writes.count) writes, \(shipped.count) shipped records, \(reports.count) reports"
    }

    /// Whether a later write saw `write` before it wrote.
    func causallyOverwritten(_ write: SimulatedWrite) -> Bool {
        writes.contains { $0.version != write.version && $0.vector.covers(write.dot) }
    }

    static func generator(policy: ConflictPolicy, triples: Int = 0) -> Generator<ReplicationHistory, Shrink.None<ReplicationHistory>> {
        Generator { rng in
            var history = ReplicationHistory(policy: policy)
            history.run(steps: Int.random(in: 1...stepsMax, using: &rng), using: &rng)
            history.exchangeEverything(using: &rng)
            history.pickTriples(triples, using: &rng)
            return history
        }
    }

    private init(policy: ConflictPolicy) {
        self.policy = policy
    }

    private mutating func run(steps: Int, using rng: inout some RandomNumberGenerator) {
        for _ in 0..<steps {
            let region = Int.random(in: 0..<Self.regions.count, using: &rng)
            if shipped.isEmpty || Bool.random(using: &rng) {
                write(at: region, using: &rng)
            } else {
                var batch = (0..<Int.random(in: 1...4, using: &rng)).map { _ in shipped.randomElement(using: &rng)! }
                if Bool.random(using: &rng) { batch.append(batch[0]) }
                for record in batch { receive(record, at: region) }
            }
            // Ship the region's record, so others may receive it directly or relayed.
            shipped.append(records[region]!)
        }
    }

    /// Every region receives every shipped record, each in its own random order, with duplicates.
    private mutating func exchangeEverything(using rng: inout some RandomNumberGenerator) {
        let all = shipped
        for region in Self.regions.indices {
            var delivery = all.shuffled(using: &rng)
            delivery += (0..<3).map { _ in all.randomElement(using: &rng)! }
            for record in delivery.shuffled(using: &rng) { receive(record, at: region) }
        }
        finals = records.map { $0! }
    }

    private mutating func pickTriples(_ count: Int, using rng: inout some RandomNumberGenerator) {
        triples = (0..<count).map { _ in
            (shipped.randomElement(using: &rng)!, shipped.randomElement(using: &rng)!, shipped.randomElement(using: &rng)!)
        }
    }

    private mutating func write(at region: Int, using rng: inout some RandomNumberGenerator) {
        let current = records[region]
        let origin = Self.regions[region]
        // A hybrid logical clock: above everything the region issued or observed. Steps of
        // one or two make equal timestamps across regions common, so the region id must
        // break ties.
        let timestamp = max(clocks[region], current?.version.timestamp.rawValue ?? 0) + UInt64.random(in: 1...2, using: &rng)
        clocks[region] = timestamp
        let version = ItemVersion(timestamp: HLCTimestamp(rawValue: timestamp), origin: origin)
        let value = policy == .merge ? Self.randomEdit(of: current?.value, using: &rng) : Self.randomValue(using: &rng)
        let context = policy == .siblings ? Self.randomContext(within: current?.vector, using: &rng) : nil
        let outcome = ConflictResolution.localWrite(current: current, value: value, version: version, policy: policy, context: context)
        records[region] = outcome.record
        reports += outcome.overwritten
        let stamped = outcome.record.fields.filter { $0.value.version == version }.mapValues(\.value)
        writes.append(SimulatedWrite(version: version, value: value, dot: Dot(region: origin, counter: outcome.record.vector[origin]), vector: outcome.record.vector, stampedFields: stamped))
    }

    private mutating func receive(_ record: ItemRecord, at region: Int) {
        clocks[region] = max(clocks[region], record.version.timestamp.rawValue)
        let local = records[region]
        let outcome = ConflictResolution.merge(local: local, remote: record, policy: policy)
        records[region] = outcome.record
        reports += outcome.overwritten
        if let local {
            let winner = local.version >= record.version ? local : record
            wholeItemReportsOfSeenWrites += outcome.overwritten.filter { report in
                report.field == nil && winner.vector.covers(writes.first { $0.version == report.version }!.dot)
            }.count
        }
    }

    /// A delete, a small scalar, or an object over a few fields with small values, so that
    /// equal values and repeated fields are common.
    static func randomValue(using rng: inout some RandomNumberGenerator) -> JSONValue? {
        switch Int.random(in: 0..<10, using: &rng) {
        case 0...1: return nil
        case 2...3: return .integer(Int64.random(in: 0...2, using: &rng))
        default: return randomObject(using: &rng)
        }
    }

    static func randomObject(using rng: inout some RandomNumberGenerator) -> JSONValue {
        var fields: [String: JSONValue] = [:]
        for name in fieldNames where Int.random(in: 0..<5, using: &rng) < 3 {
            fields[name] = .integer(Int64.random(in: 0...2, using: &rng))
        }
        return .object(fields)
    }

    /// Under `merge`, mostly what a client does: read the object and change or drop one field.
    static func randomEdit(of current: JSONValue?, using rng: inout some RandomNumberGenerator) -> JSONValue? {
        guard case .object(var fields) = current, Int.random(in: 0..<2, using: &rng) == 0 else {
            return randomValue(using: &rng)
        }
        let name = fieldNames.randomElement(using: &rng)!
        fields[name] = Bool.random(using: &rng) ? .integer(Int64.random(in: 0...2, using: &rng)) : nil
        return .object(fields)
    }

    /// Under `siblings`, what a client read: nothing, everything, or part of the region's vector.
    static func randomContext(within vector: VersionVector?, using rng: inout some RandomNumberGenerator) -> VersionVector? {
        let vector = vector ?? VersionVector()
        switch Int.random(in: 0..<10, using: &rng) {
        case 0...3: return nil
        case 4...5: return vector
        case 6: return VersionVector()
        default: return VersionVector(vector.counts.mapValues { UInt64.random(in: 0...$0, using: &rng) })
        }
    }
}
