import Foundation
import MeridianAPIModel
import MeridianCore

/// One admin action: who (the token's name), when, and what (method, path, outcome).
public struct AuditRecord: Sendable, Codable, Equatable {
    /// Milliseconds since the Unix epoch when the action finished.
    public var timeMilliseconds: UInt64
    /// The token's name (`anonymous` when the cluster asks for no token; `(no token)` or
    /// `(unknown token)` for a request refused with 401).
    public var who: String
    /// The token's role; `nil` for a request refused with 401.
    public var role: Role?
    public var method: String
    public var path: String
    /// The HTTP status of the answer (403: refused for lack of role).
    public var status: Int
    /// The region that served the request.
    public var region: String

    enum CodingKeys: String, CodingKey {
        case timeMilliseconds = "time_ms"
        case who, role, method, path, status, region
    }

    /// `who` of a request refused because it carried no token.
    static let noToken = "(no token)"
    /// `who` of a request refused because its token is not one the cluster knows.
    static let unknownToken = "(unknown token)"

    init(who: String, role: Role?, method: String, path: String, status: Int, region: String,
         timeMilliseconds: UInt64 = UInt64(max(0, Date().timeIntervalSince1970 * 1000))) {
        self.timeMilliseconds = timeMilliseconds
        self.who = who
        self.role = role
        self.method = method
        self.path = String(path.prefix(AuditLog.pathBytesMax))
        self.status = status
        self.region = region
    }
}

/// The append-only audit log of admin actions: one JSON object per line in
/// `<data>/audit.log`, each line written and synced before the next.
///
/// Lines are never rewritten or removed by the node; rotating the file is the operator's
/// business (a new file starts empty).
public final class AuditLog: Sendable {
    /// The longest path recorded, in bytes.
    static let pathBytesMax = 512
    /// The most records one `GET /v1/audit` returns.
    public static let pageRecordsMax = 1000
    /// The most bytes read from the end of the file to answer a page.
    static let tailBytesMax = 4 << 20

    public let path: String
    private let lock = NSLock()

    /// Opens (creating when missing) the audit log at `path`.
    public init(path: String) throws {
        self.path = path
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                throw MeridianError.invalid("audit_log_unwritable", "cannot create the audit log \(path)")
            }
        }
    }

    /// Appends one record and syncs it; a failure is reported on standard error and the
    /// action it describes still stands.
    func append(_ record: AuditRecord) {
        guard var line = try? APIJSON.encode(record) else { return }
        line.append(UInt8(ascii: "\n"))
        lock.withLock {
            do {
                let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
                defer { try? handle.close() }
                try handle.seekToEnd()
                try handle.write(contentsOf: line)
                try handle.synchronize()
            } catch {
                FileHandle.standardError.write(Data("meridian: cannot append to the audit log \(path): \(error)\n".utf8))
            }
        }
    }

    /// The newest records, oldest first: at most `limit`, from the last `tailBytesMax` bytes.
    func newest(limit: Int) throws -> [AuditRecord] {
        let data: Data = try lock.withLock {
            let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            let size = try handle.seekToEnd()
            try handle.seek(toOffset: size > UInt64(Self.tailBytesMax) ? size - UInt64(Self.tailBytesMax) : 0)
            return try handle.readToEnd() ?? Data()
        }
        var lines = data.split(separator: UInt8(ascii: "\n"))
        // A read that starts mid-file starts mid-line: that first piece is not a record.
        if data.count == Self.tailBytesMax, !lines.isEmpty { lines.removeFirst() }
        let decoder = JSONDecoder()
        return lines.suffix(limit).compactMap { try? decoder.decode(AuditRecord.self, from: Data($0)) }
    }
}
