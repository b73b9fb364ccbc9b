import MeridianCore
import Testing

@Suite("TableDefinition.resolve")
struct TableDefinitionTests {
    static let cluster = try! ["us-east", "eu-west", "ap-south"].map { try RegionID($0) }
    static let table = try! TableName("orders")

    static func region(_ name: String) -> RegionID { try! RegionID(name) }

    static func resolve(_ fields: [String: JSONValue], clusterRegions: [RegionID] = cluster) throws(MeridianError) -> TableDefinition {
        try TableDefinition.resolve(name: table, body: .object(fields), clusterRegions: clusterRegions)
    }

    static func regions(_ names: String...) -> JSONValue { .array(names.map { .string($0) }) }

    static func expectInvalid(_ fields: [String: JSONValue], code: String = "invalid_definition", clusterRegions: [RegionID] = cluster, sourceLocation: SourceLocation = #_sourceLocation) {
        let error = #expect(throws: MeridianError.self, sourceLocation: sourceLocation) {
            try resolve(fields, clusterRegions: clusterRegions)
        }
        #expect(error?.code == code, sourceLocation: sourceLocation)
        #expect(error?.kind == .invalidArgument, sourceLocation: sourceLocation)
    }

    @Test func emptyBodyDefaultsToMultiPrimaryLWWOverEveryClusterRegionSorted() throws {
        let definition = try Self.resolve([:])
        #expect(definition == TableDefinition(name: Self.table, mode: .multiPrimary, conflict: .lww,
                                              regions: [Self.region("ap-south"), Self.region("eu-west"), Self.region("us-east")]))
    }

    @Test func listedRegionsAreSorted() throws {
        let definition = try Self.resolve(["regions": Self.regions("us-east", "eu-west")])
        #expect(definition.regions == [Self.region("eu-west"), Self.region("us-east")])
    }

    @Test func multiPrimaryKeepsTheNamedConflictPolicy() throws {
        #expect(try Self.resolve(["mode": .string("multi-primary"), "conflict": .string("merge")]).conflict == .merge)
        #expect(try Self.resolve(["conflict": .string("siblings")]).conflict == .siblings)
    }

    @Test func unknownFieldIsRejected() {
        Self.expectInvalid(["mode": .string("primary"), "replicas": .integer(3)])
    }

    @Test(arguments: [JSONValue.null, .string("multi-primary"), .array([]), .integer(1)])
    func bodyThatIsNotAnObjectIsRejected(_ body: JSONValue) {
        let error = #expect(throws: MeridianError.self) {
            try TableDefinition.resolve(name: Self.table, body: body, clusterRegions: Self.cluster)
        }
        #expect(error?.code == "invalid_definition")
    }

    @Test(arguments: [
        ["mode": JSONValue.string("active-active")],
        ["mode": .string("Primary")],
        ["mode": .integer(1)],
        ["conflict": .string("newest")],
        ["mode": .string("primary"), "commit": .string("sync")],
    ])
    func unknownModePolicyOrCommitRuleIsRejected(_ fields: [String: JSONValue]) {
        Self.expectInvalid(fields)
    }

    @Test func regionOutsideTheClusterIsAnUnknownRegion() {
        Self.expectInvalid(["regions": Self.regions("us-east", "mars-north")], code: "unknown_region")
    }

    @Test func regionListedTwiceIsRejected() {
        Self.expectInvalid(["regions": Self.regions("us-east", "eu-west", "us-east")])
    }

    @Test(arguments: [JSONValue.array([]), .string("us-east"), .array([.integer(1)])])
    func regionsThatAreNotANonEmptyListOfNamesAreRejected(_ regions: JSONValue) {
        Self.expectInvalid(["regions": regions])
    }

    @Test func primaryTableDefaultsToQuorumCommitAndTheFirstClusterRegionAsPrimary() throws {
        let definition = try Self.resolve(["mode": .string("primary")])
        #expect(definition.mode == .primary)
        #expect(definition.commit == .quorum)
        // The first region as the cluster file lists them, not the first in sorted order.
        #expect(definition.primary == Self.region("us-east"))
        #expect(definition.conflict == nil)
        #expect(definition.regions == Self.cluster.sorted())
    }

    @Test func primaryTableDefaultsToTheFirstRegionTheClientListed() throws {
        let definition = try Self.resolve(["mode": .string("primary"), "regions": .array([.string("eu-west"), .string("us-east"), .string("ap-south")])])
        #expect(definition.primary == Self.region("eu-west"))
        #expect(definition.regions == Self.cluster.sorted())
    }

    @Test func primaryTableKeepsTheNamedPrimaryAndCommitRule() throws {
        let definition = try Self.resolve(["mode": .string("primary"), "primary": .string("us-east"), "commit": .string("local")])
        #expect(definition.primary == Self.region("us-east"))
        #expect(definition.commit == .local)
    }

    @Test func singleRegionPrimaryTableIsAllowed() throws {
        let definition = try Self.resolve(["mode": .string("primary"), "regions": Self.regions("eu-west")])
        #expect(definition.primary == Self.region("eu-west"))
        #expect(definition.regions == [Self.region("eu-west")])
    }

    @Test func primaryThatIsNotAmongTheTablesRegionsIsRejected() {
        Self.expectInvalid(["mode": .string("primary"), "primary": .string("us-east"), "regions": Self.regions("eu-west")])
    }

    @Test func conflictPolicyOnAPrimaryTableIsRejected() {
        Self.expectInvalid(["mode": .string("primary"), "conflict": .string("lww")])
    }

    @Test func primaryOrCommitOnAMultiPrimaryTableIsRejected() {
        Self.expectInvalid(["primary": .string("us-east")])
        Self.expectInvalid(["commit": .string("local")])
    }

    @Test(arguments: ["primary", "strong"])
    func tableThatElectsALeaderOverExactlyTwoRegionsNeedsAThirdRegion(_ mode: String) {
        Self.expectInvalid(["mode": .string(mode), "regions": Self.regions("us-east", "eu-west")], code: "needs_third_region")
        Self.expectInvalid(["mode": .string(mode)], code: "needs_third_region", clusterRegions: [Self.region("us-east"), Self.region("eu-west")])
    }

    @Test func multiPrimaryTableOverTwoRegionsIsAllowed() throws {
        #expect(try Self.resolve(["regions": Self.regions("us-east", "eu-west")]).regions.count == 2)
    }

    @Test func strongTableHasNoConflictPrimaryOrCommit() throws {
        let definition = try Self.resolve(["mode": .string("strong")])
        #expect(definition == TableDefinition(name: Self.table, mode: .strong, regions: Self.cluster.sorted()))
    }

    @Test func strongTableWithACommitRuleIsRejected() {
        Self.expectInvalid(["mode": .string("strong"), "commit": .string("quorum")])
        Self.expectInvalid(["mode": .string("strong"), "primary": .string("us-east")])
    }

    @Test func aDynamoDBSchemaIsKeptWithTheDefinitionAndReadsBackFromJSON() throws {
        let schema = DynamoSchema(tableName: "Music.Albums", hashKey: .init(name: "artist", type: .string), rangeKey: .init(name: "year", type: .number),
                                  billingMode: "PAY_PER_REQUEST", createdMilliseconds: 42)
        let definition = try Self.resolve(["mode": .string("strong"), "dynamodb": schema.json])
        #expect(definition.dynamo == schema)
        #expect(try DynamoSchema(json: schema.json) == schema)
    }

    @Test func anInvalidDynamoDBSchemaIsRejected() {
        Self.expectInvalid(["dynamodb": .object(["table_name": .string("x"), "hash_key": .object(["name": .string("a"), "type": .string("S")])])])
        Self.expectInvalid(["dynamodb": .object(["table_name": .string("Music"), "hash_key": .object(["name": .string("a"), "type": .string("BOOL")])])])
        Self.expectInvalid(["dynamodb": .object(["table_name": .string("Music"), "hash_key": .object(["name": .string("a"), "type": .string("S")]),
                                                 "range_key": .object(["name": .string("a"), "type": .string("N")])])])
    }
}
