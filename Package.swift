// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Meridian",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "meridian", targets: ["meridian"]),
        .library(name: "MeridianCore", targets: ["MeridianCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1"),
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", exact: "2.101.3"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", exact: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-types", exact: "1.8.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based", exact: "2.0.1"),
        .package(url: "https://github.com/swift-server/async-http-client", exact: "1.37.0"),
        .package(url: "https://github.com/apple/swift-crypto", exact: "4.5.2"),
        .package(url: "https://github.com/apple/swift-metrics", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl", exact: "2.37.6"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", exact: "0.2.0"),
        // Already in the graph through Hummingbird; named for NIOHTTPTypes, the HTTP parts
        // MeridianHTTP's connection guard sees.
        .package(url: "https://github.com/apple/swift-nio-extras", exact: "1.35.2"),
    ],
    targets: [
        // Pure value types and rules: no I/O, no clock, no randomness.
        .target(name: "MeridianCore"),
        // Raft as a pure state machine (etcd raft's shape): no I/O, time as ticks, seeded randomness.
        .target(name: "MeridianRaft"),
        // The one binary encoding of values on the wire and on disk, and the stored-record envelope.
        .target(name: "MeridianCodec", dependencies: ["MeridianCore", "MeridianRaft"]),
        // Multi-primary shipping as a pure state machine.
        .target(name: "MeridianReplication", dependencies: ["MeridianCore"]),
        // Versioned, length-prefixed binary frames for every peer message.
        .target(name: "MeridianWire", dependencies: ["MeridianCodec", "MeridianCore", "MeridianReplication", "MeridianRaft", "MeridianRegion"]),
        // Storage protocols, the in-memory implementation and the conformance suite.
        .target(name: "MeridianStorage", dependencies: ["MeridianCore"]),
        // The SQLite implementation: the only target that links SQLite.
        .target(name: "MeridianSQLite", dependencies: [
            "MeridianCodec", "MeridianCore", "MeridianStorage",
            .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        // One region's synchronous heart: catalog and request execution over the storage protocol.
        .target(name: "MeridianRegion", dependencies: ["MeridianCodec", "MeridianCore", "MeridianRaft", "MeridianReplication", "MeridianStorage"]),
        // A whole cluster in one thread: virtual clock, simulated network and storage, faults, checkers.
        .target(name: "MeridianSimulation", dependencies: ["MeridianCore", "MeridianRaft", "MeridianReplication", "MeridianRegion", "MeridianStorage"]),
        // The runtime around a region: executor thread, configuration, lifecycle.
        .target(name: "MeridianNode", dependencies: [
            "MeridianCore", "MeridianStorage", "MeridianSQLite", "MeridianRegion", "MeridianReplication", "MeridianWire",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]),
        // Local clusters of `meridian serve` processes (dev, bench, tests): cluster file, ports, processes.
        .target(name: "MeridianLocalCluster", dependencies: ["MeridianCore", "MeridianNode"]),
        // The native API's header names and JSON bodies, shared by the server and the client.
        .target(name: "MeridianAPIModel", dependencies: ["MeridianCore"]),
        // The DynamoDB data model, expressions and request validation: pure, like MeridianCore.
        .target(name: "MeridianDynamo", dependencies: ["MeridianCore"]),
        // The HTTP/JSON API (Hummingbird), and the DynamoDB endpoint over the same node.
        .target(name: "MeridianHTTP", dependencies: [
            "MeridianAPIModel", "MeridianCore", "MeridianDynamo", "MeridianNode", "MeridianRegion", "MeridianReplication", "MeridianStorage",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "CoreMetrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // The async/await Swift client: nearest healthy region, failover, session tokens.
        .target(name: "MeridianClient", dependencies: [
            "MeridianAPIModel", "MeridianCore",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]),
        // `meridian bench`: its own clusters, etcd and PostgreSQL next to them, load, histograms, ratios.
        .target(name: "MeridianBench", dependencies: [
            "MeridianAPIModel", "MeridianClient", "MeridianCore", "MeridianLocalCluster", "MeridianNode",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Histogram", package: "hdrhistogram-swift"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
        .executableTarget(name: "meridian", dependencies: [
            "MeridianAPIModel", "MeridianBench", "MeridianClient", "MeridianCore", "MeridianHTTP", "MeridianLocalCluster", "MeridianNode",
            "MeridianSimulation", "MeridianSQLite", "MeridianStorage",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]),
        // The chat app of issue 17 (examples/chat): one instance per region, a page that follows a room through the change feed.
        .executableTarget(name: "chat", dependencies: [
            "MeridianClient", "MeridianCore",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "NIOCore", package: "swift-nio"),
        ], path: "examples/chat"),

        // Shared helpers for the test targets: server processes, ports, cluster files, a seeded generator.
        .target(name: "MeridianTestSupport", dependencies: ["MeridianLocalCluster", "MeridianNode", "MeridianStorage"], path: "Tests/MeridianTestSupport"),
        .testTarget(name: "MeridianCoreTests", dependencies: [
            "MeridianCore",
            .product(name: "PropertyBased", package: "swift-property-based"),
        ]),
        .testTarget(name: "MeridianAPIModelTests", dependencies: ["MeridianAPIModel", "MeridianCore"]),
        .testTarget(name: "MeridianLocalClusterTests", dependencies: ["MeridianLocalCluster", "MeridianNode"]),
        .testTarget(name: "MeridianBenchTests", dependencies: ["MeridianBench", "MeridianLocalCluster"]),
        .testTarget(name: "MeridianRaftTests", dependencies: ["MeridianRaft"]),
        .testTarget(name: "MeridianReplicationTests", dependencies: ["MeridianCore", "MeridianReplication"]),
        .testTarget(name: "MeridianWireTests", dependencies: ["MeridianCodec", "MeridianCore", "MeridianRaft", "MeridianReplication", "MeridianRegion", "MeridianWire"]),
        .testTarget(name: "MeridianStorageTests", dependencies: ["MeridianCore", "MeridianStorage"]),
        .testTarget(name: "MeridianSQLiteTests", dependencies: ["MeridianCodec", "MeridianCore", "MeridianStorage", "MeridianSQLite", "MeridianWire", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "MeridianRegionTests", dependencies: ["MeridianCore", "MeridianStorage", "MeridianRegion", "MeridianRaft", "MeridianReplication", "MeridianTestSupport"]),
        .testTarget(name: "MeridianSimulationTests", dependencies: ["MeridianCore", "MeridianSimulation", "MeridianRegion", "MeridianStorage", "MeridianReplication"]),
        .testTarget(name: "MeridianNodeTests", dependencies: [
            "MeridianCore", "MeridianStorage", "MeridianNode", "MeridianRegion", "MeridianReplication", "MeridianWire", "MeridianTestSupport",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]),
        .testTarget(name: "MeridianDynamoTests", dependencies: [
            "MeridianCore", "MeridianDynamo",
            .product(name: "PropertyBased", package: "swift-property-based"),
        ]),
        .testTarget(name: "MeridianHTTPTests", dependencies: [
            "MeridianCore", "MeridianDynamo", "MeridianNode", "MeridianHTTP", "MeridianRegion", "MeridianStorage", "MeridianTestSupport",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
        ]),
        // The two targets that start real processes depend on `meridian` (and the chat app) so that the executables are built before they run.
        .testTarget(name: "IntegrationTests", dependencies: ["MeridianCore", "MeridianLocalCluster", "MeridianNode", "meridian", "chat", "MeridianSimulation", "MeridianTestSupport"]),
        .testTarget(name: "MeridianClientTests", dependencies: ["MeridianClient", "MeridianCore", "MeridianLocalCluster", "meridian", "MeridianTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
