import MeridianCore

/// The local geography `meridian dev` simulates: the default regions and the one-way
/// delays between them (half of measured cloud round trips; DESIGN.md §6).
public enum Geography {
    /// The regions `meridian dev` starts when none are named.
    public static let defaultRegions = ["us-east", "eu-west", "ap-south"]

    /// One-way delay between two distinct regions, in milliseconds.
    public static let oneWayMilliseconds: [String: [String: Double]] = [
        "us-east": ["us-west": 32, "eu-west": 35, "ap-south": 93, "ap-northeast": 73],
        "us-west": ["us-east": 32, "eu-west": 60, "ap-south": 109, "ap-northeast": 49],
        "eu-west": ["us-east": 35, "us-west": 60, "ap-south": 60, "ap-northeast": 100],
        "ap-south": ["us-east": 93, "us-west": 109, "eu-west": 60, "ap-northeast": 62],
        "ap-northeast": ["us-east": 73, "us-west": 49, "eu-west": 100, "ap-south": 62],
    ]

    /// One-way delay inside one region, in milliseconds.
    public static let sameRegionMilliseconds: Double = 0.5

    /// The delay from one region to another: the matrix, or the same-region delay.
    public static func oneWay(from source: String, to destination: String, matrix: [String: [String: Double]]? = nil) -> Double {
        if source == destination { return sameRegionMilliseconds }
        let table = matrix ?? oneWayMilliseconds
        return table[source]?[destination] ?? table[destination]?[source] ?? 0
    }

    /// A cluster on loopback: API ports from `basePort`, peer ports from `basePort + 100`.
    public static func localCluster(regions: [RegionID], basePort: Int) -> ClusterConfiguration {
        let endpoints = regions.enumerated().map { index, region in
            RegionEndpoint(name: region, api: "127.0.0.1:\(basePort + index)", peer: "127.0.0.1:\(basePort + 100 + index)")
        }
        var latency: [String: [String: Double]] = [:]
        for source in regions {
            for destination in regions where destination != source {
                latency[source.name, default: [:]][destination.name] = oneWay(from: source.name, to: destination.name)
            }
        }
        return ClusterConfiguration(regions: endpoints, latencyMilliseconds: latency)
    }
}
