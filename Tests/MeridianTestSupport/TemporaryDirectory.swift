import Foundation

/// A temporary directory that the test removes when it is done.
public struct TemporaryDirectory {
    /// The directory, already created.
    public let url: URL

    /// Creates a fresh directory under the system's temporary directory.
    public init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-test-\(getpid())-\(UInt64.random(in: 0...UInt64.max))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// Removes the directory and everything in it.
    public func remove() { try? FileManager.default.removeItem(at: url) }
}
