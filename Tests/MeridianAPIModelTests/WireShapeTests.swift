import Foundation
import MeridianAPIModel
import MeridianCore
import Testing

/// The bodies' bytes are the API (README.md and docs/ quote them): each is pinned here
/// as the server encodes it, and each decodes back to itself as the client reads it.
struct WireShapeTests {
    /// Encodes `body` as the server does, checks the exact text, then decodes it as the client does.
    func expectWire<Body: Codable & Equatable>(_ body: Body, _ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let bytes = try APIJSON.encode(body)
        #expect(String(decoding: bytes, as: UTF8.self) == text + "\n", sourceLocation: sourceLocation)
        #expect(try APIJSON.decode(Body.self, from: bytes) == body, sourceLocation: sourceLocation)
    }

    @Test func headerNames() {
        #expect([APIHeader.session, APIHeader.region, APIHeader.context, APIHeader.forwardedBy]
                == ["Meridian-Session", "Meridian-Region", "Meridian-Context", "Meridian-Forwarded-By"])
    }

    @Test func anItemAsReadmeShowsIt() throws {
        try expectWire(ItemBody(key: "alex", value: .object(["name": .string("Alex"), "city": .string("Mumbai")]), version: "01a21e2795550000-ap-south",
                                origin: "ap-south", timestamp: "1795802240341.0", consistency: "eventual", region: "us-east", context: "ap-south.1"),
                       #"{"consistency":"eventual","context":"ap-south.1","key":"alex","origin":"ap-south","region":"us-east","timestamp":"1795802240341.0","value":{"city":"Mumbai","name":"Alex"},"version":"01a21e2795550000-ap-south"}"#)
    }

    @Test func siblingsAndADeletedVersion() throws {
        let body = ItemBody(key: "k", value: .integer(2), version: "v2", origin: "eu-west", timestamp: "2.0",
                            siblings: [SiblingBody(value: .integer(2), deleted: false, version: "v2", origin: "eu-west"),
                                       SiblingBody(value: nil, deleted: true, version: "v1", origin: "us-east")],
                            context: "eu-west.1~us-east.1")
        try expectWire(body, #"{"context":"eu-west.1~us-east.1","key":"k","origin":"eu-west","siblings":[{"deleted":false,"origin":"eu-west","value":2,"version":"v2"},{"deleted":true,"origin":"us-east","version":"v1"}],"timestamp":"2.0","value":2,"version":"v2"}"#)
    }

    @Test func writesAndDeletes() throws {
        try expectWire(WriteBody(key: "alex", version: "01a21e2795550000-ap-south", region: "ap-south", context: "ap-south.1"),
                       #"{"context":"ap-south.1","key":"alex","region":"ap-south","version":"01a21e2795550000-ap-south"}"#)
        try expectWire(WriteBody(key: "a/b", version: "v", region: "us-east", deleted: true),
                       #"{"deleted":true,"key":"a/b","region":"us-east","version":"v"}"#)
    }

    @Test func aTableWithItsStatus() throws {
        try expectWire(TableBody(try TableDefinition(name: TableName("users"), mode: .multiPrimary, conflict: .lww, regions: [
            RegionID("ap-south"), RegionID("eu-west"), RegionID("us-east"),
        ])), #"{"conflict":"lww","mode":"multi-primary","name":"users","regions":["ap-south","eu-west","us-east"]}"#)
        var strong = TableBody(try TableDefinition(name: TableName("accounts"), mode: .strong, regions: [RegionID("us-east")]))
        strong.status = TableStatusBody(region: "us-east", items: 1, bytes: 12, leader: "us-east", role: "leader", term: 2, commitIndex: 7, appliedIndex: 7)
        try expectWire(TableListBody(tables: [strong]),
                       #"{"tables":[{"mode":"strong","name":"accounts","regions":["us-east"],"status":{"applied_index":7,"bytes":12,"commit_index":7,"items":1,"leader":"us-east","region":"us-east","role":"leader","term":2}}]}"#)
    }

    @Test func theClusterAnswer() throws {
        let body = ClusterBody(
            region: "us-east",
            regions: [ClusterRegionBody(name: "us-east", api: "127.0.0.1:7001", reachable: true, isServing: true, applied: 3),
                      ClusterRegionBody(name: "eu-west", api: "127.0.0.1:7002", reachable: true, isServing: false, applied: 2, originLatest: 2,
                                        lagMilliseconds: 36, heartbeatAgeMilliseconds: 40,
                                        applyDelayMilliseconds: DelayBody(samples: 5, p50: 35, p99: 40, max: 41), acknowledgedOurs: 3)],
            latencyMilliseconds: ["us-east": ["eu-west": 35]],
            counters: CountersBody(entriesApplied: 2, conflictsRecorded: 0, clockSkewRejections: 0, residencyRefusals: 1, snapshotsInstalled: 0))
        try expectWire(body, #"{"counters":{"clock_skew_rejections":0,"conflicts_recorded":0,"entries_applied":2,"residency_refusals":1,"snapshots_installed":0},"latency_ms":{"us-east":{"eu-west":35}},"region":"us-east","regions":[{"api":"127.0.0.1:7001","applied":3,"name":"us-east","reachable":true,"self":true},{"acknowledged_ours":3,"api":"127.0.0.1:7002","applied":2,"apply_delay_ms":{"max":41,"p50":35,"p99":40,"samples":5},"heartbeat_age_ms":40,"lag_ms":36,"name":"eu-west","origin_latest":2,"reachable":true,"self":false}]}"#)
    }

    @Test func ledgersAndPages() throws {
        let lost = try OverwrittenValue(value: nil, version: ItemVersion(timestamp: HLCTimestamp(rawValue: 1 << 16), origin: RegionID("eu-west")), field: "text",
                                        winner: ItemVersion(timestamp: HLCTimestamp(rawValue: 2 << 16), origin: RegionID("us-east")))
        try expectWire(ConflictPageBody(conflicts: [ConflictBody(try ConflictEntry(id: 4, key: Key("k"), overwritten: lost, detectedBy: RegionID("us-east")))], next: "4"),
                       #"{"conflicts":[{"detected_by":"us-east","field":"text","id":4,"key":"k","origin":"eu-west","version":"0000000000010000-eu-west","winner":"0000000000020000-us-east"}],"next":"4"}"#)
        try expectWire(PageBody(items: [], next: nil), #"{"items":[]}"#)
        let row = try DivergenceRowBody(DivergenceEntry(id: 1, key: Key("k"), value: .bool(true), version: ItemVersion(token: "0000000000010000-us-east")!,
                                                        index: 5, term: 2, replacedInTerm: 3, detectedBy: RegionID("eu-west")))
        try expectWire(DivergencePageBody(table: "t", rows: [row], unreachable: ["ap-south"]),
                       #"{"rows":[{"detected_by":"eu-west","id":1,"index":5,"key":"k","replaced_in_term":3,"term":2,"value":true,"version":"0000000000010000-us-east"}],"table":"t","unreachable":["ap-south"]}"#)
    }

    @Test func placement() throws {
        try expectWire(PlacementPageBody(table: "t", regions: [
            PlacementBody(region: "us-east", listed: true, holdsData: false, items: 0, bytes: 0, logEntries: 0, conflicts: 0, verified: true, statement: "none"),
            PlacementBody(region: "eu-west", listed: nil, holdsData: nil, items: nil, bytes: nil, logEntries: nil, conflicts: nil, verified: false, statement: "silent"),
        ]), #"{"regions":[{"bytes":0,"conflicts":0,"holds_data":false,"items":0,"listed":true,"log_entries":0,"region":"us-east","statement":"none","verified":true},{"region":"eu-west","statement":"silent","verified":false}],"table":"t"}"#)
    }

    @Test func healthFailoverAndErrors() throws {
        try expectWire(HealthBody(region: "us-east"), #"{"region":"us-east","status":"ok"}"#)
        try expectWire(HealthBody(region: "us-east", status: "degraded", problems: ["disk full"]), #"{"problems":["disk full"],"region":"us-east","status":"degraded"}"#)
        try expectWire(FailoverBody(table: "t", mode: "planned", target: "eu-west"), #"{"mode":"planned","table":"t","target":"eu-west"}"#)
        try expectWire(ErrorBody(code: "item_not_found", message: "no item with that key"), #"{"error":{"code":"item_not_found","message":"no item with that key"}}"#)
    }

    /// A page sent item by item (issue 15, item 3) is byte for byte the page encoded whole.
    @Test func aStreamedPageHasTheBytesOfTheWholePage() throws {
        let items = [
            ItemBody(key: "a/b", value: .object(["n": .unsignedInteger(.max), "s": .string("é \"q\" </x>")]), version: "v1", origin: "us-east", timestamp: "1.0"),
            ItemBody(key: "c", value: .array([.null, .double(0.5)]), version: "v2", origin: "eu-west", timestamp: "2.0"),
        ]
        for (page, next) in [([], nil), (Array(items.prefix(1)), "a/b"), (items, nil), (items, "c \"😀\"/")] as [([ItemBody], String?)] {
            var streamed = PageBody.opening
            for (index, item) in page.enumerated() { streamed.append(try PageBody.encodedItem(item, first: index == 0)) }
            streamed.append(try PageBody.closing(next: next))
            #expect(streamed == (try APIJSON.encode(PageBody(items: page, next: next))), "\(String(decoding: streamed, as: UTF8.self))")
        }
    }
}
