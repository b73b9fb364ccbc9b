/// The lines a run writes about its events: the last few kept for a failure report, all of
/// them hashed (and kept, when asked) so that two runs of one seed can be compared byte for byte.
///
/// Lines are built only from values whose text is deterministic (sorted tokens, never a
/// dictionary's description), so a seed's trace is the same in every process.
struct TraceRecorder {
    let tailLinesMax: Int
    let recordsAll: Bool
    /// A ring of the latest lines.
    private var tail: [String] = []
    private var tailStart = 0
    private(set) var all: [String] = []
    /// FNV-1a over every line and its newline.
    private(set) var hash = StableHash()
    private(set) var lineCount = 0

    init(tailLinesMax: Int, recordsAll: Bool) {
        precondition(tailLinesMax >= 0, "a trace tail is not negative")
        self.tailLinesMax = tailLinesMax
        self.recordsAll = recordsAll
    }

    mutating func record(_ line: String) {
        hash.combine(line)
        hash.combine("\n")
        lineCount += 1
        if recordsAll { all.append(line) }
        guard tailLinesMax > 0 else { return }
        if tail.count < tailLinesMax {
            tail.append(line)
        } else {
            tail[tailStart] = line
            tailStart = (tailStart + 1) % tailLinesMax
        }
    }

    /// The latest lines, oldest first.
    var tailLines: [String] { Array(tail[tailStart...] + tail[..<tailStart]) }
}

/// A 64-bit FNV-1a hash: the same in every process, unlike Swift's seeded `Hasher`.
public struct StableHash: Sendable, Equatable {
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    public init() {}

    public mutating func combine(_ text: String) {
        for byte in text.utf8 {
            value ^= UInt64(byte)
            value = value &* 0x0000_0100_0000_01b3
        }
    }

    /// Sixteen hexadecimal digits.
    public var hex: String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
