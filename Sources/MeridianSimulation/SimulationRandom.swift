/// The one source of randomness in a simulated run: xoshiro256**, seeded through SplitMix64.
///
/// Every random choice of a run (latencies, faults, client requests, clock drift) is a
/// draw from the run's single generator, in the order the single-threaded scheduler makes
/// them, so one seed replays a run exactly. Bounded draws use this type's own methods
/// rather than the standard library's `random(in:using:)`, whose algorithm may change
/// between Swift releases and would silently change every trace.
public struct SimulationRandom: RandomNumberGenerator, Sendable {
    private var state0: UInt64
    private var state1: UInt64
    private var state2: UInt64
    private var state3: UInt64

    /// Makes the generator of one seed. Any seed is valid, zero included.
    public init(seed: UInt64) {
        var splitMix = seed
        func nextSplitMix() -> UInt64 {
            splitMix &+= 0x9E37_79B9_7F4A_7C15
            var z = splitMix
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state0 = nextSplitMix()
        state1 = nextSplitMix()
        state2 = nextSplitMix()
        state3 = nextSplitMix()
    }

    public mutating func next() -> UInt64 {
        let result = rotateLeft(state1 &* 5, 7) &* 9
        let shifted = state1 << 17
        state2 ^= state0
        state3 ^= state1
        state1 ^= state2
        state0 ^= state3
        state2 ^= shifted
        state3 = rotateLeft(state3, 45)
        return result
    }

    /// A uniform draw in `0..<bound` (Lemire's multiply-and-reject, without bias).
    public mutating func below(_ bound: UInt64) -> UInt64 {
        precondition(bound > 0, "a bounded draw needs a positive bound")
        var product = next().multipliedFullWidth(by: bound)
        if product.low < bound {
            let threshold = (0 &- bound) % bound
            while product.low < threshold { product = next().multipliedFullWidth(by: bound) }
        }
        return product.high
    }

    /// A uniform draw in a closed range of integers.
    public mutating func integer(in range: ClosedRange<Int>) -> Int {
        let width = UInt64(range.upperBound - range.lowerBound) + 1
        return range.lowerBound + Int(below(width))
    }

    /// A uniform draw in a closed range of unsigned integers (milliseconds, counts).
    public mutating func uniform(in range: ClosedRange<UInt64>) -> UInt64 {
        precondition(range.upperBound - range.lowerBound < UInt64.max, "the range leaves room for its width")
        return range.lowerBound + below(range.upperBound - range.lowerBound + 1)
    }

    /// True with the given chance, in percent (0 never, 100 always).
    public mutating func chance(percent: Int) -> Bool {
        precondition((0...100).contains(percent), "a chance is a percentage")
        return Int(below(100)) < percent
    }

    /// One element of a non-empty array.
    public mutating func element<T>(of elements: [T]) -> T {
        precondition(!elements.isEmpty, "a draw from an empty array")
        return elements[Int(below(UInt64(elements.count)))]
    }

    /// An index drawn with the given weights (at least one positive).
    public mutating func weightedIndex(_ weights: [Int]) -> Int {
        let total = weights.reduce(0) { $0 + max(0, $1) }
        precondition(total > 0, "a weighted draw needs a positive weight")
        var remaining = Int(below(UInt64(total)))
        for (index, weight) in weights.enumerated() where weight > 0 {
            if remaining < weight { return index }
            remaining -= weight
        }
        preconditionFailure("a weighted draw fell outside its total")
    }

    private func rotateLeft(_ value: UInt64, _ count: UInt64) -> UInt64 {
        (value << count) | (value >> (64 - count))
    }
}
