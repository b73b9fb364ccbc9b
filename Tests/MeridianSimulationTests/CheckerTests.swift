import MeridianCore
import MeridianReplication
import MeridianSimulation
import MeridianStorage
import Testing

/// Each checker fed a deliberately broken history or state reports a violation, and stays
/// quiet on a sound one.
struct CheckerTests {
    static let east = try! RegionID("us-east")
    static let west = try! RegionID("eu-west")
    static let south = try! RegionID("ap-south")
    static let table = try! TableName("lww")
    static let key = try! Key("k0")

    static func version(_ milliseconds: UInt64, _ origin: RegionID) -> ItemVersion {
        ItemVersion(timestamp: HLCTimestamp(physicalMilliseconds: milliseconds, logical: 0), origin: origin)
    }

    static func item(_ value: String, _ version: ItemVersion, _ vector: VersionVector) -> StoredItem {
        StoredItem(key: key, record: ItemRecord(vector: vector, version: version, root: .string(value)))
    }

    static func image(_ region: RegionID, _ items: [StoredItem], conflicts: [ConflictEntry] = [], logs: [RegionID: [LogEntry]] = [:]) -> RegionImage {
        RegionImage(region: region, catalog: [], items: [table: items], conflicts: [table: conflicts], logs: logs)
    }

    static func write(_ version: ItemVersion, _ vector: VersionVector, replaced: ItemVersion? = nil, policy: ConflictPolicy = .lww) -> AcknowledgedWrite {
        AcknowledgedWrite(region: version.origin, table: table, policy: policy, key: key, value: .string("v"), version: version,
                          vector: vector, replaced: replaced)
    }

    // MARK: Change feed

    @Test func aChangeFeedThatSkipsAWriteOrASequenceIsCaught() {
        let first = Self.item("a", Self.version(10, Self.east), VersionVector([Self.east: 1]))
        let second = Self.item("b", Self.version(11, Self.east), VersionVector([Self.east: 2]))
        let writes = [SimulatedStorage.ItemWrite(table: Self.table, item: first), SimulatedStorage.ItemWrite(table: Self.table, item: second)]
        func change(_ sequence: UInt64, _ item: StoredItem) -> ChangeRecord {
            ChangeRecord(sequence: sequence, table: Self.table, change: .item(item), appliedAtMilliseconds: 10)
        }
        var checker = ChangeFeedChecker()
        #expect(checker.observe(region: Self.east, writes: writes, changes: [change(1, first), change(2, second)]) == nil)
        #expect(checker.observe(region: Self.east, writes: [writes[0]], changes: [change(4, first)])?.property == .changeFeedMatchesWrites, "a gap")
        var fresh = ChangeFeedChecker()
        #expect(fresh.observe(region: Self.east, writes: writes, changes: [change(1, first)])?.property == .changeFeedMatchesWrites, "a write not recorded")
        var reordered = ChangeFeedChecker()
        #expect(reordered.observe(region: Self.east, writes: writes, changes: [change(1, second), change(2, first)])?.property == .changeFeedMatchesWrites, "out of order")
        checker.forget(region: Self.east)
        #expect(checker.observe(region: Self.east, writes: [writes[0]], changes: [change(2, first)]) == nil, "after a power loss the count starts again")
    }

    // MARK: Convergence

    @Test func identicalRegionsConverge() {
        let item = Self.item("a", Self.version(10, Self.east), VersionVector([Self.east: 1]))
        let images = [Self.image(Self.east, [item]), Self.image(Self.west, [item])]
        #expect(ConvergenceChecker.check(images, holders: [Self.table: [Self.east, Self.west]]) == nil)
    }

    @Test func regionsWithDifferentVectorsForOneVersionDoNotConverge() {
        let version = Self.version(10, Self.east)
        let images = [Self.image(Self.east, [Self.item("a", version, VersionVector([Self.east: 1]))]),
                      Self.image(Self.west, [Self.item("a", version, VersionVector([Self.east: 1, Self.west: 1]))])]
        let violation = ConvergenceChecker.check(images, holders: [Self.table: [Self.east, Self.west]])
        #expect(violation?.property == .convergence)
        #expect(violation?.detail.contains("key k0") == true)
    }

    @Test func aMissingItemIsADivergence() {
        let images = [Self.image(Self.east, [Self.item("a", Self.version(10, Self.east), VersionVector([Self.east: 1]))]),
                      Self.image(Self.west, [])]
        #expect(ConvergenceChecker.check(images, holders: [Self.table: [Self.east, Self.west]])?.property == .convergence)
    }

    @Test func differentCatalogsDoNotConverge() {
        let definition = TableDefinition(name: Self.table, mode: .multiPrimary, conflict: .lww, regions: [Self.east, Self.west])
        let record = CatalogRecord(name: Self.table, definition: definition, version: Self.version(1, Self.east), deletedBefore: .zero)
        var east = Self.image(Self.east, [])
        east.catalog = [record]
        #expect(ConvergenceChecker.check([east, Self.image(Self.west, [])], holders: [:])?.property == .convergence)
    }

    @Test func regionsOutsideATablesListAreNotCompared() {
        let item = Self.item("a", Self.version(10, Self.east), VersionVector([Self.east: 1]))
        let images = [Self.image(Self.east, [item]), Self.image(Self.west, [item]), Self.image(Self.south, [])]
        #expect(ConvergenceChecker.check(images, holders: [Self.table: [Self.east, Self.west]]) == nil)
    }

    // MARK: Acknowledged writes

    @Test func aWriteThatIsCurrentSurvives() {
        let version = Self.version(10, Self.east)
        let vector = VersionVector([Self.east: 1])
        #expect(AcknowledgedWriteChecker.check([Self.write(version, vector)], images: [Self.image(Self.east, [Self.item("a", version, vector)])]) == nil)
    }

    @Test func aConcurrentlyOverwrittenWriteWithoutALedgerRowIsLost() {
        let lost = Self.write(Self.version(10, Self.east), VersionVector([Self.east: 1]))
        let winner = Self.write(Self.version(20, Self.west), VersionVector([Self.west: 1]))
        let final = Self.item("w", winner.version, VersionVector([Self.east: 1, Self.west: 1]))
        let violation = AcknowledgedWriteChecker.check([lost, winner], images: [Self.image(Self.east, [final]), Self.image(Self.west, [final])])
        #expect(violation?.property == .acknowledgedWritesSurvive)
        #expect(violation?.detail.contains(lost.version.token) == true)
    }

    @Test func aConcurrentlyOverwrittenWriteInALedgerSurvives() {
        let lost = Self.write(Self.version(10, Self.east), VersionVector([Self.east: 1]))
        let winner = Self.write(Self.version(20, Self.west), VersionVector([Self.west: 1]))
        let final = Self.item("w", winner.version, VersionVector([Self.east: 1, Self.west: 1]))
        let row = ConflictEntry(id: 1, key: Self.key, overwritten: OverwrittenValue(value: .string("v"), version: lost.version, winner: winner.version),
                                detectedBy: Self.west)
        #expect(AcknowledgedWriteChecker.check([lost, winner], images: [Self.image(Self.west, [final], conflicts: [row])]) == nil)
    }

    @Test func aWriteKnowinglyReplacedSurvives() {
        let first = Self.write(Self.version(10, Self.east), VersionVector([Self.east: 1]))
        let second = Self.write(Self.version(20, Self.west), VersionVector([Self.east: 1, Self.west: 1]), replaced: first.version)
        let final = Self.item("w", second.version, second.vector)
        #expect(AcknowledgedWriteChecker.check([first, second], images: [Self.image(Self.west, [final])]) == nil)
    }

    @Test func aDominatingVectorAloneDoesNotExcuseALoss() {
        // The first write lost to a concurrent one (no ledger row); a later write saw both.
        let first = Self.write(Self.version(10, Self.east), VersionVector([Self.east: 1]))
        let concurrent = Self.write(Self.version(20, Self.west), VersionVector([Self.west: 1]))
        let later = Self.write(Self.version(30, Self.east), VersionVector([Self.east: 2, Self.west: 1]), replaced: concurrent.version)
        let final = Self.item("l", later.version, later.vector)
        #expect(AcknowledgedWriteChecker.check([first, concurrent, later], images: [Self.image(Self.east, [final])])?.property == .acknowledgedWritesSurvive)
    }

    @Test func writesLostToPowerLossAndOtherPoliciesAreNotHeldToSurvive() {
        var lost = Self.write(Self.version(10, Self.east), VersionVector([Self.east: 1]))
        lost.lostToPowerLoss = true
        let merged = Self.write(Self.version(11, Self.east), VersionVector([Self.east: 1]), policy: .merge)
        #expect(AcknowledgedWriteChecker.check([lost, merged], images: [Self.image(Self.east, [])]) == nil)
    }

    // MARK: Version vectors

    @Test func growingVectorsPass() {
        var checker = VersionVectorChecker()
        #expect(checker.observe(region: Self.east, table: Self.table, key: Self.key, vector: VersionVector([Self.east: 1])) == nil)
        #expect(checker.observe(region: Self.east, table: Self.table, key: Self.key, vector: VersionVector([Self.east: 1])) == nil)
        #expect(checker.observe(region: Self.east, table: Self.table, key: Self.key, vector: VersionVector([Self.east: 1, Self.west: 2])) == nil)
    }

    @Test func aVectorThatGoesBackwardsIsAViolation() {
        var checker = VersionVectorChecker()
        _ = checker.observe(region: Self.east, table: Self.table, key: Self.key, vector: VersionVector([Self.east: 2]))
        let violation = checker.observe(region: Self.east, table: Self.table, key: Self.key, vector: VersionVector([Self.east: 1]))
        #expect(violation?.property == .versionVectorsGrow)
    }

    @Test func aConcurrentVectorIsAViolationAndForgettingARegionResetsIt() {
        var checker = VersionVectorChecker()
        _ = checker.observe(region: Self.east, table: Self.table, key: Self.key, vector: VersionVector([Self.east: 2]))
        #expect(checker.observe(region: Self.east, table: Self.table, key: Self.key, vector: VersionVector([Self.west: 1]))?.property == .versionVectorsGrow)
        checker.forget(region: Self.east)
        #expect(checker.observe(region: Self.east, table: Self.table, key: Self.key, vector: VersionVector([Self.east: 1])) == nil)
    }

    @Test func vectorsOfDifferentRegionsAreIndependent() {
        var checker = VersionVectorChecker()
        _ = checker.observe(region: Self.east, table: Self.table, key: Self.key, vector: VersionVector([Self.east: 2]))
        #expect(checker.observe(region: Self.west, table: Self.table, key: Self.key, vector: VersionVector([Self.east: 1])) == nil)
    }

    // MARK: Timestamps

    @Test func increasingTimestampsPass() {
        var checker = TimestampChecker()
        #expect(checker.observe(region: Self.east, version: Self.version(10, Self.east)) == nil)
        #expect(checker.observe(region: Self.east, version: ItemVersion(timestamp: HLCTimestamp(physicalMilliseconds: 10, logical: 1), origin: Self.east)) == nil)
        #expect(checker.observe(region: Self.west, version: Self.version(5, Self.west)) == nil)
    }

    @Test func aRepeatedOrEarlierTimestampIsAViolation() {
        var checker = TimestampChecker()
        _ = checker.observe(region: Self.east, version: Self.version(10, Self.east))
        #expect(checker.observe(region: Self.east, version: Self.version(10, Self.east))?.property == .timestampsIncrease)
        #expect(checker.observe(region: Self.east, version: Self.version(9, Self.east))?.property == .timestampsIncrease)
    }

    @Test func aVersionNamingAnotherRegionIsAViolation() {
        var checker = TimestampChecker()
        #expect(checker.observe(region: Self.east, version: Self.version(10, Self.west))?.property == .timestampsIncrease)
    }

    // MARK: Origin logs

    static func entry(_ sequence: UInt64, at milliseconds: UInt64) -> LogEntry {
        LogEntry(origin: east, sequence: sequence, timestamp: HLCTimestamp(physicalMilliseconds: milliseconds, logical: 0), payload: .withheld(table: table))
    }

    @Test func resendingAnEntryOrRelayingItIsNotAReuse() {
        var checker = OriginLogChecker()
        #expect(checker.observe(Self.entry(1, at: 10), sentBy: Self.east) == nil)
        #expect(checker.observe(Self.entry(1, at: 10), sentBy: Self.west) == nil)
        #expect(checker.observe(Self.entry(2, at: 11), sentBy: Self.east) == nil)
        #expect(checker.restarted(origin: Self.east, ownSequence: 2) == nil)
    }

    @Test func twoEntriesUnderOneSequenceAreAViolation() {
        var checker = OriginLogChecker()
        _ = checker.observe(Self.entry(1, at: 10), sentBy: Self.east)
        #expect(checker.observe(Self.entry(1, at: 12), sentBy: Self.east)?.property == .originLogsImmutable)
    }

    @Test func restartingBehindWhatWasShippedIsAViolation() {
        var checker = OriginLogChecker()
        _ = checker.observe(Self.entry(1, at: 10), sentBy: Self.east)
        _ = checker.observe(Self.entry(2, at: 11), sentBy: Self.west)
        let violation = checker.restarted(origin: Self.east, ownSequence: 1)
        #expect(violation?.property == .originLogsImmutable)
        #expect(violation?.detail.contains("us-east#2 had left it") == true)
    }

    // MARK: Residency

    static let residency = ResidencyChecker(regionsByTable: [table: [east, west]])

    @Test func itemsInListedRegionsPass() {
        #expect(Self.residency.observe(region: Self.west, table: Self.table, key: Self.key) == nil)
        let item = Self.item("a", Self.version(10, Self.east), VersionVector([Self.east: 1]))
        #expect(Self.residency.check([Self.image(Self.east, [item]), Self.image(Self.south, [])]) == nil)
    }

    @Test func anItemStoredOutsideItsRegionsIsAViolation() {
        #expect(Self.residency.observe(region: Self.south, table: Self.table, key: Self.key)?.property == .residency)
        let item = Self.item("a", Self.version(10, Self.east), VersionVector([Self.east: 1]))
        #expect(Self.residency.check([Self.image(Self.south, [item])])?.property == .residency)
    }

    @Test func aFullLogEntryOutsideItsRegionsIsAViolationAndAWithheldOneIsNot() {
        let definition = TableDefinition(name: Self.table, mode: .multiPrimary, conflict: .lww, regions: [Self.east, Self.west])
        let catalog = CatalogRecord(name: Self.table, definition: definition, version: Self.version(1, Self.east), deletedBefore: .zero)
        let record = ItemRecord(vector: VersionVector([Self.east: 1]), version: Self.version(10, Self.east), root: .string("secret"))
        let full = LogEntry(origin: Self.east, sequence: 2, timestamp: record.version.timestamp, payload: .item(table: catalog, key: Self.key, record: record))
        var withheld = full
        withheld.payload = .withheld(table: Self.table)
        #expect(Self.residency.check([Self.image(Self.south, [], logs: [Self.east: [full]])])?.property == .residency)
        #expect(Self.residency.check([Self.image(Self.south, [], logs: [Self.east: [withheld]])]) == nil)
    }
}

/// The session checkers: read-your-writes and monotonic reads across regions, and bounded
/// staleness, each fed a broken history and a sound one.
struct SessionCheckerTests {
    static let east = CheckerTests.east
    static let west = CheckerTests.west
    static let table = CheckerTests.table
    static let key = CheckerTests.key
    static let address = SessionChecker.Address(session: 1, table: table, key: key)

    static func record(_ vector: VersionVector, _ version: ItemVersion) -> ItemRecord {
        ItemRecord(vector: vector, version: version, root: .string("v"))
    }

    @Test func aReadThatSawTheSessionsWritePasses() {
        var checker = SessionChecker()
        let written = CheckerTests.version(100, Self.east)
        checker.wrote(Self.address, vector: VersionVector([Self.east: 2]), version: written)
        let later = CheckerTests.version(200, Self.west)
        #expect(checker.read(Self.address, record: Self.record(VersionVector([Self.east: 2, Self.west: 1]), later), servedBy: Self.west) == nil)
    }

    @Test func aReadMissingTheSessionsOwnWriteIsAReadYourWritesViolation() {
        var checker = SessionChecker()
        checker.wrote(Self.address, vector: VersionVector([Self.east: 2]), version: CheckerTests.version(100, Self.east))
        let stale = checker.read(Self.address, record: Self.record(VersionVector([Self.east: 1]), CheckerTests.version(50, Self.east)), servedBy: Self.west)
        #expect(stale?.property == .readYourWrites)
    }

    @Test func aReadOlderThanAnEarlierReadIsAMonotonicReadsViolation() {
        var checker = SessionChecker()
        let newer = Self.record(VersionVector([Self.east: 1, Self.west: 1]), CheckerTests.version(200, Self.west))
        #expect(checker.read(Self.address, record: newer, servedBy: Self.west) == nil)
        let older = Self.record(VersionVector([Self.east: 1]), CheckerTests.version(100, Self.east))
        #expect(checker.read(Self.address, record: older, servedBy: Self.east)?.property == .monotonicReads)
    }

    @Test func otherSessionsAndKeysAreIndependent() {
        var checker = SessionChecker()
        checker.wrote(Self.address, vector: VersionVector([Self.east: 2]), version: CheckerTests.version(100, Self.east))
        let other = SessionChecker.Address(session: 2, table: Self.table, key: Self.key)
        #expect(checker.read(other, record: Self.record(VersionVector([Self.east: 1]), CheckerTests.version(50, Self.east)), servedBy: Self.west) == nil)
    }

    @Test func consensusReadsAreOrderedByTheirPlaceInTheLog() {
        var checker = SessionChecker()
        let first = CheckerTests.version(100, Self.east)
        let second = CheckerTests.version(90, Self.east)  // a later entry may carry an earlier timestamp
        checker.committed(table: Self.table, version: first, index: 4)
        checker.committed(table: Self.table, version: second, index: 7)
        checker.wrote(Self.address, version: second)
        #expect(checker.read(Self.address, version: first, servedBy: Self.west)?.property == .readYourWrites)
        var sound = SessionChecker()
        sound.committed(table: Self.table, version: first, index: 4)
        sound.committed(table: Self.table, version: second, index: 7)
        sound.wrote(Self.address, version: first)
        #expect(sound.read(Self.address, version: second, servedBy: Self.west) == nil)
        #expect(sound.read(Self.address, version: first, servedBy: Self.east)?.property == .monotonicReads)
    }

    @Test func aBoundedReadMissingAnOldEnoughWriteIsAViolationAndARecentOneIsNot() {
        var checker = BoundedStalenessChecker(clockOffsetMillisecondsMax: 200)
        let slack = checker.slackMilliseconds
        let version = CheckerTests.version(1_000, Self.east)
        checker.acknowledged(table: Self.table, key: Self.key, origin: Self.east, vector: VersionVector([Self.east: 3]), version: version, at: 10_000)
        let stale = Self.record(VersionVector([Self.east: 2]), CheckerTests.version(900, Self.east))
        // Served long enough after the write: it had to be reflected.
        let late = checker.check(table: Self.table, key: Self.key, record: stale, bound: 500, servedAt: 10_000 + 500 + slack,
                                 servedBy: Self.west, origins: [Self.east, Self.west])
        #expect(late?.property == .boundedStaleness)
        // Within the bound (and slack), a copy that misses the write is allowed.
        #expect(checker.check(table: Self.table, key: Self.key, record: stale, bound: 500, servedAt: 10_000 + 500 + slack - 1,
                              servedBy: Self.west, origins: [Self.east, Self.west]) == nil)
        let current = Self.record(VersionVector([Self.east: 3]), version)
        #expect(checker.check(table: Self.table, key: Self.key, record: current, bound: 500, servedAt: 20_000,
                              servedBy: Self.west, origins: [Self.east, Self.west]) == nil)
    }
}
