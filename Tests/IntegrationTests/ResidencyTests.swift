import Foundation
import MeridianCore
import MeridianTestSupport
import Testing

/// Data residency with real processes: a confined table's bytes never reach another
/// region's files, and a region removed from the list keeps none of them.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct ResidencyTests {
    typealias Cluster = MultiRegionTests.Cluster

    /// Every file of a region: its data directory (database, WAL) and its process log.
    static func files(of region: String, in cluster: Cluster) throws -> [URL] {
        var files: [URL] = []
        if let walker = FileManager.default.enumerator(at: cluster.processes.command(of: region).dataDirectory, includingPropertiesForKeys: nil) {
            for case let url as URL in walker where !url.hasDirectoryPath { files.append(url) }
        }
        if let log = cluster.processes.log(of: region) { files.append(log) }
        return files
    }

    /// The markers found in a region's files.
    static func markers(_ markers: [String], in region: String, of cluster: Cluster) throws -> Set<String> {
        var found: Set<String> = []
        for file in try files(of: region, in: cluster) {
            let bytes = try Data(contentsOf: file)
            for marker in markers where bytes.range(of: Data(marker.utf8)) != nil { found.insert(marker) }
        }
        return found
    }

    @Test func aConfinedTableLeavesNoByteInOtherRegions() async throws {
        let cluster = try Cluster()
        defer { cluster.stop() }
        #expect(try await send("PUT", "\(cluster.url("us-east"))/v1/tables/medical", body: #"{"regions": ["us-east"]}"#).status == 201)
        #expect(try await cluster.eventually {
            try await send("GET", "\(cluster.url("ap-south"))/v1/tables/medical/placement?scope=local").status == 200
        })
        // Written through all three regions: the other two forward to us-east.
        var markers: [String] = []
        for (index, region) in MultiRegionTests.names.enumerated() {
            for item in 0..<20 {
                let keyMarker = "KEYMARK\(index)x\(item)Z"
                let valueMarker = "VALMARK\(index)x\(item)Z"
                markers += [keyMarker, valueMarker]
                let exchange = try await send("PUT", "\(cluster.url(region))/v1/tables/medical/items/\(keyMarker)", body: #"{"note": "\#(valueMarker)"}"#)
                #expect(exchange.status == 200, "\(String(decoding: exchange.body, as: UTF8.self))")
                #expect(exchange.headers["meridian-region"] == "us-east")
            }
        }
        // Reads through another region are forwarded too.
        let read = try await send("GET", "\(cluster.url("ap-south"))/v1/tables/medical/items/KEYMARK0x0Z")
        #expect(read.status == 200)
        #expect(read.headers["meridian-forwarded-by"] == "ap-south")
        try await Task.sleep(for: .milliseconds(500))

        for region in ["eu-west", "ap-south"] {
            let found = try Self.markers(markers, in: region, of: cluster)
            #expect(found.isEmpty, "\(region) stored markers: \(found.sorted().prefix(5))")
        }
        let home = try Self.markers(markers, in: "us-east", of: cluster)
        #expect(home.count == markers.count, "us-east holds every marker (found \(home.count) of \(markers.count))")

        let placement = try await send("GET", "\(cluster.url("eu-west"))/v1/tables/medical/placement").json()
        guard case .array(let regions)? = placement["regions"] else { Issue.record("no placement"); return }
        for case .object(let row) in regions {
            let holds = row["holds_data"] == .bool(true)
            #expect(row["verified"] == .bool(true))
            #expect(holds == (row["region"] == .string("us-east")), "\(row)")
        }
    }

    @Test func aRegionRemovedFromATableKeepsNoMarkerInItsFiles() async throws {
        let cluster = try Cluster()
        defer { cluster.stop() }
        #expect(try await send("PUT", "\(cluster.url("us-east"))/v1/tables/orders", body: #"{"regions": ["us-east", "eu-west"]}"#).status == 201)
        #expect(try await cluster.eventually {
            try await send("GET", "\(cluster.url("eu-west"))/v1/tables/orders").status == 200
        })
        var markers: [String] = []
        for item in 0..<30 {
            let marker = "RMMARK\(item)Q"
            markers.append(marker)
            #expect(try await send("PUT", "\(cluster.url(item % 2 == 0 ? "us-east" : "eu-west"))/v1/tables/orders/items/\(marker)", body: #"{"v": "\#(marker)"}"#).status == 200)
        }
        #expect(try await cluster.eventually { try Self.markers(markers, in: "eu-west", of: cluster).count == markers.count }, "eu-west held the table")

        let change = try await send("PUT", "\(cluster.url("us-east"))/v1/tables/orders/regions", body: #"{"regions": ["us-east", "ap-south"]}"#)
        #expect(change.status == 200, "\(String(decoding: change.body, as: UTF8.self))")
        #expect(try await cluster.eventually {
            let placement = try await send("GET", "\(cluster.url("us-east"))/v1/tables/orders/placement").json()
            guard case .array(let regions)? = placement["regions"] else { return false }
            var gone = false, copied = false
            for case .object(let row) in regions {
                if row["region"] == .string("eu-west") { gone = row["holds_data"] == .bool(false) && row["verified"] == .bool(true) }
                if row["region"] == .string("ap-south") { copied = row["items"] == .integer(30) }
            }
            return gone && copied
        }, "placement shows eu-west empty and ap-south holding a copy")
        let left = try Self.markers(markers, in: "eu-west", of: cluster)
        #expect(left.isEmpty, "eu-west files still hold \(left.count) markers")
    }
}
