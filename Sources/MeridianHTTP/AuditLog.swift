import Foundation
import MeridianAPIModel
import MeridianCore

/// One line of the audit log: an admin action, before it runs (`intent`) or once
/// answered (`outcome`), or an action refused before it could run (an `outcome` alone).
/// The two lines of one action share its `id`.
public struct AuditRecord: Sendable, Codable, Equatable {
    /// Which moment of an action a line records.
    public enum Phase: String, Sendable, Codable {
        /// Written and synced before the action runs: an action whose intent could not be
        /// made durable does not run.
        case intent
        /// The answer the action got.
        case outcome
    }

    /// Names both lines of one action (absent from lines of earlier builds).
    public var id: String?
    /// Absent from lines of earlier builds, which recorded outcomes only.
    public var phase: Phase?
    /// Milliseconds since the Unix epoch when the line was written.
    public var timeMilliseconds: UInt64
    /// The token's name (`anonymous` when the cluster asks for no token; `(no token)` or
    /// `(unknown token)` for a request refused with 401).
    public var who: String
    /// The token's role; `nil` for a request refused with 401.
    public var role: Role?
    public var method: String
    public var path: String
    /// The HTTP status of the answer (401: no known token; 403: refused for lack of role;
    /// 503 `audit_unavailable` is never recorded, since it means the log could not be
    /// written); `nil` on an intent.
    public var status: Int?
    /// The region that served the request.
    public var region: String

    enum CodingKeys: String, CodingKey {
        case timeMilliseconds = "time_ms"
        case id, phase, who, role, method, path, status, region
    }

    /// `who` of a request refused because it carried no token.
    static let noToken = "(no token)"
    /// `who` of a request refused because its token is not one the cluster knows.
    static let unknownToken = "(unknown token)"

    init(id: String, phase: Phase, who: String, role: Role?, method: String, path: String, status: Int?, region: String,
         timeMilliseconds: UInt64 = UInt64(max(0, Date().timeIntervalSince1970 * 1000))) {
        self.id = id
        self.phase = phase
        self.timeMilliseconds = timeMilliseconds
        self.who = who
        self.role = role
        self.method = method
        self.path = String(path.prefix(AuditLog.pathBytesMax))
        self.status = status
        self.region = region
    }

    /// A new action's id: 64 random bits as hex.
    static func newID() -> String {
        String(UInt64.random(in: 0...UInt64.max), radix: 16)
    }
}

/// The append-only audit log of admin actions: one JSON object per line in
/// `<data>/audit.log`, each line written and synced before the next, an action's intent
/// before the action runs.
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
    /// When the log last failed to take a line, and why; guarded by `lock`.
    nonisolated(unsafe) private var lastFailure: (Date, String)? = nil

    /// Opens (creating when missing) the audit log at `path`.
    public init(path: String) throws {
        self.path = path
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                throw MeridianError.invalid("audit_log_unwritable", "cannot create the audit log \(path)")
            }
        }
    }

    /// Appends one record and syncs it (`fsync`) before returning.
    ///
    /// - Throws: when the record could not be made durable (a full disk, an I/O error);
    ///   the file is cut back to where it was, so a torn line never precedes the next one.
    func appendDurably(_ record: AuditRecord) throws {
        var line = try APIJSON.encode(record)
        if line.last != UInt8(ascii: "\n") { line.append(UInt8(ascii: "\n")) }
        try lock.withLock {
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            let end = try handle.seekToEnd()
            do {
                try handle.write(contentsOf: line)
                try handle.synchronize()
                lastFailure = nil
            } catch {
                try? handle.truncate(atOffset: end)
                lastFailure = (Date(), "\(error)")
                throw error
            }
        }
    }

    /// Appends one record, syncing it; a failure is reported on standard error (and by
    /// `recentFailure`): used for what already happened (an outcome, a refusal), which
    /// stands whether or not it could be recorded.
    func append(_ record: AuditRecord) {
        do {
            try appendDurably(record)
        } catch {
            FileHandle.standardError.write(Data("meridian: cannot append to the audit log \(path): \(error)\n".utf8))
        }
    }

    /// The last failure to write the log, if it happened less than `withinSeconds` ago and
    /// no line was written since: its age in seconds and what it said.
    public func recentFailure(withinSeconds: Double) -> (ageSeconds: Double, reason: String)? {
        lock.withLock {
            guard let (at, reason) = lastFailure, -at.timeIntervalSinceNow < withinSeconds else { return nil }
            return (-at.timeIntervalSinceNow, reason)
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
