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

    /// The cluster file's `latency_ms` for `regions`: every ordered pair of distinct regions
    /// with its one-way delay (zero for a region the matrix does not know).
    public static func latencyMilliseconds(between regions: [String]) -> [String: [String: Double]] {
        var latency: [String: [String: Double]] = [:]
        for source in regions {
            for destination in regions where destination != source {
                latency[source, default: [:]][destination] = oneWay(from: source, to: destination)
            }
        }
        return latency
    }
}
