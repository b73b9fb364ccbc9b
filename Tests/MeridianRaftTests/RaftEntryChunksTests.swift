@testable import MeridianRaft
import Testing

/// The chunked entry store against a plain array, under random appends and drops at both
/// ends, including copies that must not see each other's changes.
struct RaftEntryChunksTests {
    static func entry(_ index: UInt64) -> RaftEntry {
        RaftEntry(term: 1, index: index, data: [UInt8(truncatingIfNeeded: index)])
    }

    static func expectSame(_ chunks: RaftEntryChunks, _ model: [RaftEntry], _ context: String) {
        #expect(chunks.count == model.count, "\(context): count")
        #expect(chunks.last == model.last, "\(context): last")
        #expect(chunks.slice(0..<chunks.count) == model, "\(context): contents")
    }

    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8] as [UInt64])
    func behavesLikeAnArray(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        var chunks = RaftEntryChunks()
        var model: [RaftEntry] = []
        var next: UInt64 = 1
        for round in 0..<400 {
            let before = chunks
            let modelBefore = model
            switch random.next() % 10 {
            case 0...5:
                let appended = (0..<Int(random.next() % 300)).map { _ -> RaftEntry in defer { next += 1 }; return Self.entry(next) }
                chunks.append(contentsOf: appended)
                model.append(contentsOf: appended)
            case 6, 7:
                let dropped = model.isEmpty ? 0 : Int(random.next() % UInt64(model.count + 1))
                chunks.removeFirst(dropped)
                model.removeFirst(dropped)
            default:
                let dropped = model.isEmpty ? 0 : Int(random.next() % UInt64(min(model.count, 600) + 1))
                chunks.removeLast(dropped)
                model.removeLast(dropped)
            }
            Self.expectSame(chunks, model, "seed \(seed) round \(round)")
            Self.expectSame(before, modelBefore, "seed \(seed) round \(round): the copy taken before")
            if !model.isEmpty {
                let position = Int(random.next() % UInt64(model.count))
                #expect(chunks[position] == model[position])
                let lower = Int(random.next() % UInt64(model.count))
                let upper = lower + Int(random.next() % UInt64(model.count - lower + 1))
                #expect(chunks.slice(lower..<upper) == Array(model[lower..<upper]))
            }
        }
    }
}
