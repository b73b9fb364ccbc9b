import MeridianCodec
import MeridianCore
import MeridianReplication
import Testing
@testable import MeridianWire

/// A seeded pseudo-random generator (SplitMix64): one seed replays a whole run exactly.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }

    /// A number in `0..<bound`, cheaply (the small bias of a modulo does not matter to a fuzzer).
    mutating func below(_ bound: Int) -> Int {
        precondition(bound > 0, "an empty range has no element")
        return Int(next() % UInt64(bound))
    }
}

/// Makes hostile inputs: random bytes and mutations of valid frames.
struct FrameMutator {
    var random: SplitMix64
    let seeds: [[UInt8]]

    static let interestingBytes: [UInt8] = [0x00, 0x01, 0x02, 0x7f, 0x80, 0x81, 0xfe, 0xff]

    mutating func nextInput() -> [UInt8] {
        switch random.below(16) {
        case 0: return randomBytes(count: random.below(48))
        case 1: return lengthPrefixed(randomBytes(count: random.below(40)))
        case 2: return seed() + seed()
        default:
            var bytes = seed()
            for _ in 0...random.below(3) { mutate(&bytes) }
            return bytes
        }
    }

    private mutating func seed() -> [UInt8] { seeds[random.below(seeds.count)] }

    private mutating func randomBytes(count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
    }

    /// A random body behind a correct length prefix and a known kind, so the payload decoders see it.
    private mutating func lengthPrefixed(_ body: [UInt8]) -> [UInt8] {
        let length = body.count + 1
        return [0, 0, UInt8(length >> 8), UInt8(length & 0xff), UInt8(1 + random.below(6))] + body
    }

    private mutating func mutate(_ bytes: inout [UInt8]) {
        guard !bytes.isEmpty else {
            bytes = randomBytes(count: 1 + random.below(8))
            return
        }
        let index = random.below(bytes.count)
        switch random.below(8) {
        case 0:
            bytes[index] ^= 1 << UInt8(random.below(8))
        case 1:
            bytes[index] = Self.interestingBytes[random.below(Self.interestingBytes.count)]
        case 2:
            bytes.removeSubrange(index...)
        case 3:
            bytes.insert(contentsOf: randomBytes(count: 1 + random.below(4)), at: index)
        case 4:
            bytes.removeSubrange(index..<min(bytes.count, index + 1 + random.below(8)))
        case 5:
            editLengthField(&bytes)
        case 6:
            let end = min(bytes.count, index + 1 + random.below(16))
            bytes.insert(contentsOf: bytes[index..<end], at: random.below(bytes.count))
        default:
            bytes[index] = UInt8(truncatingIfNeeded: random.next())
        }
    }

    /// Sets the length prefix to a nearby, extreme or random value.
    private mutating func editLengthField(_ bytes: inout [UInt8]) {
        guard bytes.count >= 4 else { return }
        let declared = Int(bytes[0]) << 24 | Int(bytes[1]) << 16 | Int(bytes[2]) << 8 | Int(bytes[3])
        let length: Int
        switch random.below(4) {
        case 0: length = max(0, declared + random.below(9) - 4)
        case 1: length = [0, 1, Wire.frameBytesMax - 4, Wire.frameBytesMax - 3, Int(UInt32.max)][random.below(5)]
        case 2: length = random.below(bytes.count + 1)
        default: length = Int(UInt32(truncatingIfNeeded: random.next()))
        }
        bytes[0] = UInt8(length >> 24 & 0xff)
        bytes[1] = UInt8(length >> 16 & 0xff)
        bytes[2] = UInt8(length >> 8 & 0xff)
        bytes[3] = UInt8(length & 0xff)
    }
}

struct FuzzTests {
    static let inputCount = 1_000_000
    static let seed: UInt64 = 0x4D45_5249_4449_414E

    struct Tally {
        var inputs = 0
        var framesAccepted = 0
        var inputsRefused = 0
        var inputsAwaitingBytes = 0
    }

    /// Feeds `count` hostile inputs to fresh decoders, in random chunks, and checks that
    /// nothing traps and that every accepted frame re-encodes to exactly the same frame.
    /// Yields every `batchInputs` inputs so that other tests' tasks are not starved.
    static func run(seed: UInt64, count: Int) async -> Tally {
        let batchInputs = 2_000
        var mutator = FrameMutator(random: SplitMix64(seed: seed), seeds: Samples.smallFrames.map(encode))
        var chunking = SplitMix64(seed: seed ^ 0xFFFF)
        var tally = Tally()
        for batchStart in stride(from: 0, to: count, by: batchInputs) {
            for _ in batchStart..<min(count, batchStart + batchInputs) {
                feed(mutator.nextInput(), chunking: &chunking, tally: &tally, seed: seed)
            }
            await Task.yield()
        }
        return tally
    }

    static func feed(_ input: [UInt8], chunking: inout SplitMix64, tally: inout Tally, seed: UInt64) {
        tally.inputs += 1
        var decoder = FrameDecoder()
        var accepted: [WireFrame] = []
        var refused = false
        var start = 0
        while start < input.count && !refused {
            let end = chunking.below(4) == 0 ? input.count : min(input.count, start + 1 + chunking.below(24))
            decoder.append(input[start..<end])
            start = end
            do {
                while let frame = try decoder.nextFrame() { accepted.append(frame) }
            } catch {
                refused = true
            }
        }
        tally.framesAccepted += accepted.count
        if refused { tally.inputsRefused += 1 } else if decoder.bufferedBytes > 0 { tally.inputsAwaitingBytes += 1 }
        for frame in accepted { checkReencodes(frame) }
        if !refused && decoder.bufferedBytes == 0 && accepted.count == 1 {
            #expect(encode(accepted[0]) == input, "an accepted frame has exactly one encoding (seed \(seed))")
        }
    }

    static func checkReencodes(_ frame: WireFrame) {
        let bytes = encode(frame)
        var decoder = FrameDecoder()
        decoder.append(bytes)
        do {
            #expect(try decoder.nextFrame() == frame, "an accepted frame re-encodes to itself")
            #expect(try decoder.nextFrame() == nil)
        } catch {
            Issue.record("an accepted frame re-encoded to bytes that do not decode: \(error)")
        }
    }

    @Test func aMillionHostileInputsNeverTrapAndWhatIsAcceptedReencodes() async {
        // Two shards, one per core of the smallest machine the suite runs on.
        let shards = 2
        let tallies = await withTaskGroup(of: Tally.self) { group in
            for shard in 0..<shards {
                group.addTask { await Self.run(seed: Self.seed &+ UInt64(shard), count: Self.inputCount / shards) }
            }
            return await group.reduce(into: [Tally]()) { $0.append($1) }
        }
        let inputs = tallies.map(\.inputs).reduce(0, +)
        #expect(inputs == Self.inputCount)
        #expect(tallies.map(\.framesAccepted).reduce(0, +) > inputs / 100, "mutations still reach the payload decoders")
        #expect(tallies.map(\.inputsRefused).reduce(0, +) > inputs / 2)
        #expect(tallies.map(\.inputsAwaitingBytes).reduce(0, +) > 0)
    }
}
