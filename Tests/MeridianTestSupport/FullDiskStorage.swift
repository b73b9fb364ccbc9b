import Foundation
import MeridianStorage

/// In-memory storage whose write transactions can be made to fail (a full disk), the first
/// failing one held until released.
public final class FullDiskStorage: RegionStorage, @unchecked Sendable {
    private let inner = InMemoryStorage()
    private let condition = NSCondition()
    private var failing = false
    private var holdNext = false
    private var held = false
    private var failed = 0

    /// What a write transaction throws while writes fail.
    public struct DiskFull: Error {}

    /// Empty storage that takes writes.
    public init() {}

    /// Write transactions refused so far.
    public var failedWrites: Int { condition.withLock { failed } }

    /// Refuses every write transaction from now on; with `holdingTheFirst`, the first one
    /// waits inside the transaction until `releaseTheHeldWrite`.
    public func failWrites(holdingTheFirst hold: Bool) {
        condition.withLock {
            failing = true
            holdNext = hold
        }
    }

    /// Whether a refused write is waiting to be released.
    public var isHoldingAWrite: Bool { condition.withLock { held } }

    /// Lets the held write fail.
    public func releaseTheHeldWrite() {
        condition.withLock {
            held = false
            condition.broadcast()
        }
    }

    /// Takes write transactions again.
    public func takeWritesAgain() {
        condition.withLock { failing = false }
    }

    /// Reads always work, as they do on a full disk.
    public func read<T>(_ body: (any StorageReader) throws -> T) throws -> T {
        try inner.read(body)
    }

    /// Writes through, unless writes fail (then `DiskFull`, after the hold if one is armed).
    public func write<T>(_ body: (any StorageWriter) throws -> T) throws -> T {
        let fails = condition.withLock { () -> Bool in
            guard failing else { return false }
            if holdNext {
                holdNext = false
                held = true
                condition.broadcast()
                while held { condition.wait() }
            }
            failed += 1
            return true
        }
        if fails { throw DiskFull() }
        return try inner.write(body)
    }

    /// Reclaims space in the storage underneath.
    public func reclaimSpace() throws {
        try inner.reclaimSpace()
    }
}
