import MeridianCore
import Testing

@Suite("ConflictResolution")
struct ConflictResolutionTests {
    static let usEast = try! RegionID("us-east")
    static let euWest = try! RegionID("eu-west")

    static func version(_ milliseconds: UInt64, _ origin: RegionID) -> ItemVersion {
        ItemVersion(timestamp: HLCTimestamp(physicalMilliseconds: milliseconds, logical: 0), origin: origin)
    }

    static func object(_ fields: [String: JSONValue]) -> JSONValue { .object(fields) }

    /// A write at `origin` at `milliseconds` over `current`, with no context.
    static func write(_ current: ItemRecord?, _ value: JSONValue?, at milliseconds: UInt64, _ origin: RegionID, _ policy: ConflictPolicy, context: VersionVector? = nil) -> ItemRecord {
        let outcome = ConflictResolution.localWrite(current: current, value: value, version: version(milliseconds, origin), policy: policy, context: context)
        #expect(outcome.overwritten.isEmpty)
        return outcome.record
    }

    /// Merges both ways, checks both give the same record and the same reports, and returns them.
    static func mergeBothWays(_ left: ItemRecord, _ right: ItemRecord, _ policy: ConflictPolicy) -> ConflictResolution.Outcome {
        let leftFirst = ConflictResolution.merge(local: left, remote: right, policy: policy)
        let rightFirst = ConflictResolution.merge(local: right, remote: left, policy: policy)
        #expect(leftFirst.record == rightFirst.record)
        #expect(Set(leftFirst.overwritten) == Set(rightFirst.overwritten))
        return leftFirst
    }

    // MARK: merge policy

    @Test func concurrentEditsToDifferentFieldsBothSurvive() {
        let base = Self.write(nil, Self.object(["text": .string("hello"), "reactions": .array([])]), at: 1, Self.usEast, .merge)
        let euBase = ConflictResolution.merge(local: nil, remote: base, policy: .merge).record
        let edited = Self.write(base, Self.object(["text": .string("edited"), "reactions": .array([])]), at: 10, Self.usEast, .merge)
        let reacted = Self.write(euBase, Self.object(["text": .string("hello"), "reactions": .array([.string("+1")])]), at: 11, Self.euWest, .merge)

        let outcome = Self.mergeBothWays(edited, reacted, .merge)
        #expect(outcome.record.value == Self.object(["text": .string("edited"), "reactions": .array([.string("+1")])]))
        #expect(outcome.overwritten.isEmpty)
        #expect(outcome.record.vector == VersionVector([Self.usEast: 2, Self.euWest: 1]))
        #expect(outcome.record.version == Self.version(11, Self.euWest))
    }

    @Test func sameFieldConflictKeepsTheHigherVersionAndReportsTheLoserWithItsField() {
        let base = Self.write(nil, Self.object(["a": .integer(1), "b": .integer(1)]), at: 1, Self.usEast, .merge)
        let fromUS = Self.write(base, Self.object(["a": .integer(2), "b": .integer(1)]), at: 10, Self.usEast, .merge)
        let fromEU = Self.write(base, Self.object(["a": .integer(3), "b": .integer(1)]), at: 11, Self.euWest, .merge)

        let outcome = Self.mergeBothWays(fromUS, fromEU, .merge)
        #expect(outcome.record.value == Self.object(["a": .integer(3), "b": .integer(1)]))
        #expect(outcome.overwritten == [OverwrittenValue(value: .integer(2), version: Self.version(10, Self.usEast), field: "a", winner: Self.version(11, Self.euWest))])
    }

    @Test func writingAnObjectStampsOnlyTheFieldsItChanges() {
        let base = Self.write(nil, Self.object(["keep": .integer(1), "change": .integer(1), "drop": .integer(1)]), at: 1, Self.usEast, .merge)
        let next = Self.write(base, Self.object(["keep": .integer(1), "change": .integer(2), "add": .integer(3)]), at: 2, Self.usEast, .merge)
        #expect(next.fields["keep"] == FieldEntry(value: .integer(1), version: Self.version(1, Self.usEast)))
        #expect(next.fields["change"] == FieldEntry(value: .integer(2), version: Self.version(2, Self.usEast)))
        #expect(next.fields["add"] == FieldEntry(value: .integer(3), version: Self.version(2, Self.usEast)))
        #expect(next.fields["drop"] == FieldEntry(value: nil, version: Self.version(2, Self.usEast)))
        #expect(next.value == Self.object(["keep": .integer(1), "change": .integer(2), "add": .integer(3)]))
    }

    @Test func aScalarOrDeleteTombstonesEveryLiveField() {
        let base = Self.write(nil, Self.object(["a": .integer(1), "b": .integer(2)]), at: 1, Self.usEast, .merge)
        let scalar = Self.write(base, .integer(7), at: 2, Self.usEast, .merge)
        #expect(scalar.value == .integer(7))
        #expect(scalar.fields.values.allSatisfy { $0 == FieldEntry(value: nil, version: Self.version(2, Self.usEast)) })
        let deleted = Self.write(scalar, nil, at: 3, Self.usEast, .merge)
        #expect(deleted.isDeleted)
        #expect(deleted.fields == scalar.fields)
        let revived = Self.write(deleted, Self.object(["a": .integer(1)]), at: 4, Self.usEast, .merge)
        #expect(revived.value == Self.object(["a": .integer(1)]))
    }

    @Test func aConcurrentDeleteThatLosesIsReportedAsTheWholeItem() {
        let base = Self.write(nil, Self.object(["a": .integer(1)]), at: 1, Self.usEast, .merge)
        let deleted = Self.write(base, nil, at: 10, Self.usEast, .merge)
        let edited = Self.write(base, Self.object(["a": .integer(1), "b": .integer(2)]), at: 11, Self.euWest, .merge)

        let outcome = Self.mergeBothWays(deleted, edited, .merge)
        // The field tombstone of `a` (at 10) beats the unchanged entry (at 1) that the editor kept.
        #expect(outcome.record.value == Self.object(["b": .integer(2)]))
        #expect(outcome.overwritten == [OverwrittenValue(value: nil, version: Self.version(10, Self.usEast), winner: Self.version(11, Self.euWest))])
    }

    // MARK: lww

    @Test func lwwConcurrentWritesKeepTheHigherTimestampAndReportTheLoser() {
        let base = Self.write(nil, .string("base"), at: 1, Self.usEast, .lww)
        let fromUS = Self.write(base, .string("us"), at: 10, Self.usEast, .lww)
        let fromEU = Self.write(base, .string("eu"), at: 11, Self.euWest, .lww)

        let outcome = Self.mergeBothWays(fromUS, fromEU, .lww)
        #expect(outcome.record.value == .string("eu"))
        #expect(outcome.record.version == Self.version(11, Self.euWest))
        #expect(outcome.overwritten == [OverwrittenValue(value: .string("us"), version: Self.version(10, Self.usEast), winner: Self.version(11, Self.euWest))])
    }

    @Test func lwwRegionIdBreaksAnExactTimestampTie() {
        let fromUS = Self.write(nil, .string("us"), at: 10, Self.usEast, .lww)
        let fromEU = Self.write(nil, .string("eu"), at: 10, Self.euWest, .lww)

        let outcome = Self.mergeBothWays(fromUS, fromEU, .lww)
        // "us-east" sorts after "eu-west", so it wins the tie.
        #expect(outcome.record.value == .string("us"))
        #expect(outcome.overwritten == [OverwrittenValue(value: .string("eu"), version: Self.version(10, Self.euWest), winner: Self.version(10, Self.usEast))])
    }

    @Test(arguments: [(10, 11), (11, 10)] as [(UInt64, UInt64)])
    func lwwConcurrentUpdateAndDeleteConflict(updateMilliseconds: UInt64, deleteMilliseconds: UInt64) {
        let base = Self.write(nil, .string("base"), at: 1, Self.usEast, .lww)
        let updated = Self.write(base, .string("updated"), at: updateMilliseconds, Self.usEast, .lww)
        let deleted = Self.write(base, nil, at: deleteMilliseconds, Self.euWest, .lww)

        let outcome = Self.mergeBothWays(updated, deleted, .lww)
        let updateWins = updateMilliseconds > deleteMilliseconds
        #expect(outcome.record.isDeleted == !updateWins)
        #expect(outcome.overwritten == [updateWins
            ? OverwrittenValue(value: nil, version: deleted.version, winner: updated.version)
            : OverwrittenValue(value: .string("updated"), version: updated.version, winner: deleted.version)])
    }

    // MARK: causal order

    @Test(arguments: ConflictPolicy.allCases)
    func aDominatingRemoteReplacesWithoutReportAndAStaleOneIsDropped(policy: ConflictPolicy) {
        let base = Self.write(nil, Self.object(["a": .integer(1)]), at: 1, Self.usEast, policy)
        let euBase = ConflictResolution.merge(local: nil, remote: base, policy: policy).record
        let newer = Self.write(euBase, Self.object(["a": .integer(2)]), at: 5, Self.euWest, policy)

        let replaced = ConflictResolution.merge(local: base, remote: newer, policy: policy)
        #expect(replaced.record == newer)
        #expect(replaced.overwritten.isEmpty)
        let stale = ConflictResolution.merge(local: newer, remote: base, policy: policy)
        #expect(stale.record == newer)
        #expect(stale.overwritten.isEmpty)
    }

    @Test(arguments: ConflictPolicy.allCases)
    func aDuplicateIsANoOp(policy: ConflictPolicy) {
        let base = Self.write(nil, Self.object(["a": .integer(1)]), at: 1, Self.usEast, policy)
        let fromUS = Self.write(base, Self.object(["a": .integer(2)]), at: 10, Self.usEast, policy)
        let fromEU = Self.write(base, Self.object(["a": .integer(3)]), at: 11, Self.euWest, policy)
        let merged = ConflictResolution.merge(local: fromUS, remote: fromEU, policy: policy).record

        for record in [base, fromUS, merged] {
            let duplicate = ConflictResolution.merge(local: record, remote: record, policy: policy)
            #expect(duplicate.record == record)
            #expect(duplicate.overwritten.isEmpty)
        }
        #expect(ConflictResolution.merge(local: nil, remote: merged, policy: policy).record == merged)
    }

    // MARK: siblings

    @Test func siblingsKeepsConcurrentWritesAndShowsTheGreatest() {
        let base = Self.write(nil, .string("base"), at: 1, Self.usEast, .siblings)
        let fromUS = Self.write(base, .string("us"), at: 10, Self.usEast, .siblings)
        let fromEU = Self.write(base, .string("eu"), at: 11, Self.euWest, .siblings)

        let outcome = Self.mergeBothWays(fromUS, fromEU, .siblings)
        #expect(outcome.record.siblings.map(\.value) == [.string("us"), .string("eu")])
        #expect(outcome.record.value == .string("eu"))
        #expect(outcome.overwritten.isEmpty)
    }

    @Test func siblingsAWriteThatSawBothResolvesThem() {
        let base = Self.write(nil, .string("base"), at: 1, Self.usEast, .siblings)
        let fromUS = Self.write(base, .string("us"), at: 10, Self.usEast, .siblings)
        let fromEU = Self.write(base, .string("eu"), at: 11, Self.euWest, .siblings)
        let merged = ConflictResolution.merge(local: fromUS, remote: fromEU, policy: .siblings).record

        let withRegionContext = Self.write(merged, .string("resolved"), at: 12, Self.usEast, .siblings)
        let withClientContext = Self.write(merged, .string("resolved"), at: 12, Self.usEast, .siblings, context: merged.vector)
        #expect(withRegionContext == withClientContext)
        #expect(withRegionContext.siblings.map(\.value) == [.string("resolved")])
        #expect(withRegionContext.siblings.map(\.dot) == [Dot(region: Self.usEast, counter: 3)])

        // The resolution reaches eu-west, which still holds both siblings, and replaces them.
        let atEU = ConflictResolution.merge(local: fromEU, remote: withRegionContext, policy: .siblings)
        #expect(atEU.record == withRegionContext)
        #expect(atEU.overwritten.isEmpty)
    }

    @Test func siblingsAWriteThatSawOnlyOneKeepsTheOther() {
        let base = Self.write(nil, .string("base"), at: 1, Self.usEast, .siblings)
        let fromUS = Self.write(base, .string("us"), at: 10, Self.usEast, .siblings)
        let fromEU = Self.write(base, .string("eu"), at: 11, Self.euWest, .siblings)
        let merged = ConflictResolution.merge(local: fromUS, remote: fromEU, policy: .siblings).record

        // The client read us-east before eu-west's write arrived.
        let partial = Self.write(merged, .string("us again"), at: 12, Self.usEast, .siblings, context: fromUS.vector)
        #expect(partial.siblings.map(\.value) == [.string("eu"), .string("us again")])
        #expect(partial.value == .string("us again"))

        // eu-west, which knows both, agrees once it merges.
        let atEU = ConflictResolution.merge(local: fromEU, remote: partial, policy: .siblings).record
        #expect(atEU == partial)
    }

    @Test func siblingsADeleteIsASibling() {
        let base = Self.write(nil, .string("base"), at: 1, Self.usEast, .siblings)
        let deleted = Self.write(base, nil, at: 10, Self.usEast, .siblings)
        let fromEU = Self.write(base, .string("eu"), at: 9, Self.euWest, .siblings)

        let outcome = Self.mergeBothWays(deleted, fromEU, .siblings)
        #expect(outcome.record.siblings.map(\.value) == [.string("eu"), nil])
        #expect(outcome.record.isDeleted)
    }

    // MARK: invariants

    @Test func recordsThatBreakThePolicyInvariantsAreRecognized() {
        let lww = Self.write(nil, .string("x"), at: 1, Self.usEast, .lww)
        let merge = Self.write(nil, Self.object(["a": .integer(1)]), at: 1, Self.usEast, .merge)
        let siblings = Self.write(nil, .string("x"), at: 1, Self.usEast, .siblings)
        #expect(lww.satisfiesInvariants(of: .lww))
        #expect(merge.satisfiesInvariants(of: .merge))
        #expect(siblings.satisfiesInvariants(of: .siblings))
        #expect(!merge.satisfiesInvariants(of: .lww))
        #expect(!lww.satisfiesInvariants(of: .siblings))

        var unseenVersion = lww
        unseenVersion.vector = VersionVector()
        #expect(!unseenVersion.satisfiesInvariants(of: .lww))
        var objectRoot = merge
        objectRoot.root = Self.object(["a": .integer(1)])
        #expect(!objectRoot.satisfiesInvariants(of: .merge))
        var wrongRoot = siblings
        wrongRoot.root = .string("y")
        #expect(!wrongRoot.satisfiesInvariants(of: .siblings))
    }
}
