import Foundation
import MeridianCore

#if canImport(Glibc)
import Glibc
#endif

/// A region's data directory, held with an exclusive lock so that two processes never
/// open the same database.
public final class DataDirectory: Sendable {
    /// The directory's path.
    public let path: String
    private let lockDescriptor: Int32

    /// Creates the directory if needed and takes its lock.
    ///
    /// - Throws: when the directory cannot be created or another process holds the lock.
    public init(path: String) throws {
        self.path = path
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw MeridianError.invalid("data_directory_unusable", "cannot create data directory \(path): \(error.localizedDescription)")
        }
        let descriptor = open(path + "/LOCK", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw MeridianError.invalid("data_directory_unusable", "cannot open \(path)/LOCK (errno \(errno))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw MeridianError.invalid("data_directory_locked", "another process is using the data directory \(path)")
        }
        lockDescriptor = descriptor
    }

    /// The path of the SQLite database file.
    public var databasePath: String { path + "/meridian.sqlite" }

    /// The bytes an unprivileged writer may still use on the directory's file system;
    /// `nil` when the system does not say.
    public func availableBytes() -> UInt64? {
        var information = statvfs()
        guard statvfs(path, &information) == 0 else { return nil }
        return UInt64(information.f_bavail) * UInt64(information.f_frsize)
    }

    deinit {
        close(lockDescriptor)
    }
}
