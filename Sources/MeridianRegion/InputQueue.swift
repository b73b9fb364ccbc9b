/// The queue in front of a region: inputs wait here while a step runs, and the next step
/// takes them as one batch (one storage transaction, one sync: group commit).
///
/// The node's executor and the simulator both use it, with the same limits, so that what
/// the simulator drives is what runs: the queue is bounded (`inputsMax`; past it an input is
/// refused, and the caller answers a request 503 or drops a peer message, which replication
/// sends again), a batch holds at most `batchInputsMax` inputs, and at most one tick waits
/// at a time (time passing needs no more than one turn to be noticed).
///
/// Invariant: `count <= inputsMax`; at most one tick is queued, and `tickQueued` says
/// whether one is.
public struct InputQueue<Element> {
    /// The most inputs waiting at once.
    public let inputsMax: Int
    /// The most inputs one step takes.
    public let batchInputsMax: Int
    /// Waiting inputs from `head` on, in arrival order.
    private var elements: [Element] = []
    private var head = 0
    /// Whether a tick waits in the queue.
    public private(set) var tickQueued = false

    /// The limits a node runs with.
    public static var inputsMaxDefault: Int { 16_384 }
    public static var batchInputsMaxDefault: Int { 512 }

    public init(inputsMax: Int = Self.inputsMaxDefault, batchInputsMax: Int = Self.batchInputsMaxDefault) {
        precondition(inputsMax > 0 && batchInputsMax > 0, "a queue holds and hands out at least one input")
        self.inputsMax = inputsMax
        self.batchInputsMax = batchInputsMax
    }

    /// What became of an input offered to the queue.
    public enum Admission: Sendable, Equatable {
        /// It waits for the next step.
        case queued
        /// A tick already waits: this one is not needed.
        case coalesced
        /// The queue is full: the input is refused.
        case refused
    }

    /// The inputs waiting.
    public var count: Int { elements.count - head }
    public var isEmpty: Bool { count == 0 }

    /// Offers an input; `isTick` marks the inputs of which at most one waits.
    public mutating func enqueue(_ element: Element, isTick: Bool = false) -> Admission {
        if isTick && tickQueued { return .coalesced }
        guard count < inputsMax else { return .refused }
        if isTick { tickQueued = true }
        elements.append(element)
        return .queued
    }

    /// The next batch, oldest first: up to `batchInputsMax` inputs (empty when none wait).
    /// `isTick` says which of them is the queued tick.
    public mutating func nextBatch(isTick: (Element) -> Bool) -> [Element] {
        let taken = min(count, batchInputsMax)
        let batch = Array(elements[head..<(head + taken)])
        head += taken
        if batch.contains(where: isTick) { tickQueued = false }
        compact()
        precondition(count <= inputsMax, "the queue never holds more than inputsMax inputs")
        return batch
    }

    /// Empties the queue (a process that dies loses its queue); returns what waited.
    public mutating func removeAll() -> [Element] {
        let dropped = Array(elements[head...])
        elements = []
        head = 0
        tickQueued = false
        return dropped
    }

    /// Drops consumed inputs once they are at least half the storage.
    private mutating func compact() {
        if head == elements.count {
            elements.removeAll(keepingCapacity: true)
            head = 0
        } else if head * 2 >= elements.count {
            elements.removeFirst(head)
            head = 0
        }
    }
}
