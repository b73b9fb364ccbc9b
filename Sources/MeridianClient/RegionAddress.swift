/// Where one region's API listens.
///
/// ```swift
/// let address = RegionAddress(name: "us-east", url: "127.0.0.1:7001")  // becomes http://127.0.0.1:7001
/// ```
public struct RegionAddress: Sendable, Hashable {
    /// The region's name, as the cluster file spells it (`us-east`).
    public var name: String
    /// The API's base URL, such as `http://127.0.0.1:7001`, without a trailing slash.
    public var url: String

    /// An address; a `url` without a scheme gets `http://`, a trailing `/` is dropped.
    public init(name: String, url: String) {
        self.name = name
        self.url = Self.baseURL(url)
    }

    /// `host:port` or a URL, as a base URL with a scheme and no trailing slash.
    static func baseURL(_ text: String) -> String {
        var url = text.contains("://") ? text : "http://" + text
        while url.hasSuffix("/") { url.removeLast() }
        return url
    }
}

/// What the client knows of one region, in rank order: see `MeridianClient.regions`.
public struct RegionStatus: Sendable, Hashable {
    /// The region's name.
    public var name: String
    /// The API's base URL.
    public var url: String
    /// False after a connection failure, a timeout or a 503, until the region answers again.
    public var healthy: Bool
    /// The median round trip of the last measurement that reached the region (simulated
    /// delays included), in milliseconds; nil while no measurement has reached it.
    public var roundTripMilliseconds: Double?
}

/// One-way delays between regions, in milliseconds: source region, destination region.
///
/// It is the cluster file's `latency_ms` (also served by `GET /v1/cluster`). A pair
/// missing in one direction is looked up in the other; a pair missing in both is 0.
public struct LatencyMatrix: Sendable, Hashable {
    /// Source region, then destination region, then one-way milliseconds.
    public var oneWayMilliseconds: [String: [String: Double]]

    /// A matrix from source region to destination region to one-way milliseconds.
    public init(_ oneWayMilliseconds: [String: [String: Double]]) {
        self.oneWayMilliseconds = oneWayMilliseconds
    }

    /// The one-way delay from `source` to `destination`, in milliseconds.
    public func milliseconds(from source: String, to destination: String) -> Double {
        oneWayMilliseconds[source]?[destination] ?? oneWayMilliseconds[destination]?[source] ?? 0
    }

    /// The largest one-way delay a matrix may hold, in milliseconds (the cluster file's limit).
    public static let oneWayMillisecondsMax: Double = 10_000

    /// The first entry that is not a number from 0 to `oneWayMillisecondsMax`, if any.
    var invalidEntry: (source: String, destination: String, milliseconds: Double)? {
        for (source, row) in oneWayMilliseconds {
            for (destination, delay) in row where !(delay.isFinite && (0...Self.oneWayMillisecondsMax).contains(delay)) {
                return (source, destination, delay)
            }
        }
        return nil
    }
}
