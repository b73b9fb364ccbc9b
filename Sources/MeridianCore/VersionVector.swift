// The operations on a version vector, and its opaque token.

extension VersionVector {
    /// The token of the empty vector: a write context that has seen nothing.
    ///
    /// It is a visible marker rather than the empty string, because an empty header can be
    /// dropped on its way and an absent context means the opposite ("everything the region
    /// holds"). It cannot be mistaken for an entry: region names start with a letter.
    public static let emptyToken = "0"

    /// The separator between a region and its count in a token.
    static let countSeparator = UInt8(ascii: ".")
    /// The separator between two entries of a token.
    static let entrySeparator = UInt8(ascii: "~")
    /// The most decimal digits of a count (`UInt64.max` has twenty).
    static let countDigitsMax = 20

    /// The longest token `init(token:)` accepts, in bytes: one entry of the longest region
    /// name and count, plus a separator, for each of the most regions a cluster may name.
    public static let tokenBytesMax = Limits.regionsMax * (Limits.regionNameBytesMax + countDigitsMax + 2)

    /// The number of writes `region` made that this vector has seen; 0 when it has seen none.
    public subscript(region: RegionID) -> UInt64 {
        counts[region] ?? 0
    }

    /// This vector after one more write at `region`.
    public func incremented(for region: RegionID) -> VersionVector {
        let count = self[region]
        precondition(count < UInt64.max, "the write count of \(region) for one item overflowed")
        var next = counts
        next[region] = count + 1
        return VersionVector(next)
    }

    /// The pointwise maximum: every write either vector has seen.
    public func merged(with other: VersionVector) -> VersionVector {
        VersionVector(counts.merging(other.counts, uniquingKeysWith: max))
    }

    /// How this vector relates to `other`, e.g. `.dominates` when it has seen every write
    /// `other` has seen and at least one more.
    public func compare(_ other: VersionVector) -> CausalOrder {
        let selfAhead = counts.contains { region, count in count > other[region] }
        let otherAhead = other.counts.contains { region, count in count > self[region] }
        switch (selfAhead, otherAhead) {
        case (false, false): return .equal
        case (true, false): return .dominates
        case (false, true): return .dominatedBy
        case (true, true): return .concurrent
        }
    }

    /// Whether this vector has seen the write `dot`.
    public func covers(_ dot: Dot) -> Bool {
        self[dot.region] >= dot.counter
    }

    /// The opaque string clients see, e.g. `eu-west.1~us-east.3`.
    ///
    /// Entries are `region.count`, sorted by region and joined by `~`; counts are decimal
    /// without leading zeros. The empty vector is `emptyToken` ("0"). Every character is
    /// in `[a-z0-9.~-]`, so the token travels unquoted in an HTTP header, and each vector
    /// has exactly one token, so tokens compare as the vectors do for equality.
    public var token: String {
        guard !counts.isEmpty else { return Self.emptyToken }
        return counts.sorted { $0.key < $1.key }
            .map { region, count in "\(region.name).\(count)" }
            .joined(separator: "~")
    }

    /// Parses a token; `nil` for anything `token` would not produce (unsorted or repeated
    /// regions, zero or zero-padded counts, invalid region names, overflow, stray bytes, or
    /// more than `tokenBytesMax` bytes), so hostile input never traps.
    public init?(token: String) {
        if token == Self.emptyToken {
            self.init()
            return
        }
        let bytes = Array(token.utf8)
        guard !bytes.isEmpty, bytes.count <= Self.tokenBytesMax else { return nil }
        var counts: [RegionID: UInt64] = [:]
        var previous: RegionID? = nil
        for entry in bytes.split(separator: Self.entrySeparator, omittingEmptySubsequences: false) {
            guard let (region, count) = Self.parseEntry(entry),
                  previous.map({ $0 < region }) ?? true
            else { return nil }
            counts[region] = count
            previous = region
        }
        guard counts.count <= Limits.regionsMax else { return nil }
        self.init(counts)
    }

    /// Parses one `region.count` entry of a token.
    private static func parseEntry(_ entry: ArraySlice<UInt8>) -> (RegionID, UInt64)? {
        let parts = entry.split(separator: countSeparator, omittingEmptySubsequences: false)
        guard parts.count == 2,
              let region = try? RegionID(String(decoding: parts[0], as: UTF8.self)),
              let count = parseCount(parts[1])
        else { return nil }
        return (region, count)
    }

    /// Parses a positive decimal count without sign or leading zeros.
    private static func parseCount(_ digits: ArraySlice<UInt8>) -> UInt64? {
        guard (1...countDigitsMax).contains(digits.count),
              digits.first != UInt8(ascii: "0"),
              digits.allSatisfy(isDigit)
        else { return nil }
        // `UInt64(_:)` returns nil when the digits overflow 64 bits.
        return UInt64(String(decoding: digits, as: UTF8.self))
    }
}
