import Crypto
import Foundation
import MeridianCore

/// What a client token may do. Each role includes the ones below it.
public enum Role: String, Sendable, Codable, Comparable, CaseIterable {
    /// Reads: items, scans, tables, cluster status, ledgers.
    case read
    /// Reads, and item writes and deletes.
    case write
    /// Everything: table definitions (create, change, delete), regions, failover, fault
    /// injection, the audit log.
    case admin

    private var rank: Int {
        switch self {
        case .read: 0
        case .write: 1
        case .admin: 2
        }
    }

    public static func < (lhs: Role, rhs: Role) -> Bool { lhs.rank < rhs.rank }
}

/// The client tokens of a cluster, loaded from its secrets file.
///
/// ```json
/// {"tokens": [{"name": "ops", "role": "admin", "sha256": "<hex of SHA-256 of the token>"}],
///  "open_paths": ["/v1/health", "/metrics"]}
/// ```
///
/// Rules:
/// - Only hashes are stored: the file does not reveal a token.
/// - `open_paths` are served without a token (default: `/v1/health` only).
/// - A token's name is what the audit log records as who acted.
public struct AccessControl: Sendable {
    /// One token in the secrets file.
    public struct TokenEntry: Sendable, Codable, Equatable {
        /// Who holds it (recorded in the audit log).
        public var name: String
        public var role: Role
        /// Lower-case hex of the SHA-256 of the token.
        public var sha256: String
        /// The AWS secret access key the DynamoDB endpoint verifies signatures with (the
        /// access key id is the token's name); `nil`: the token cannot use that endpoint.
        /// Derived from the token (`AccessControl.sigv4Secret(forToken:)`); see docs/dynamodb.md.
        public var sigv4Secret: String?

        enum CodingKeys: String, CodingKey {
            case name, role, sha256
            case sigv4Secret = "sigv4_secret"
        }

        public init(name: String, role: Role, sha256: String, sigv4Secret: String? = nil) {
            self.name = name
            self.role = role
            self.sha256 = sha256
            self.sigv4Secret = sigv4Secret
        }
    }

    /// The secrets file's contents.
    public struct File: Sendable, Codable, Equatable {
        public var tokens: [TokenEntry]
        public var openPaths: [String]?

        enum CodingKeys: String, CodingKey {
            case tokens
            case openPaths = "open_paths"
        }

        public init(tokens: [TokenEntry], openPaths: [String]? = nil) {
            self.tokens = tokens
            self.openPaths = openPaths
        }

        /// Puts `entry` in place of the token of the same name, or adds it; every other
        /// token and the open paths stay as they are.
        public mutating func setToken(_ entry: TokenEntry) {
            if let index = tokens.firstIndex(where: { $0.name == entry.name }) {
                tokens[index] = entry
            } else {
                tokens.append(entry)
            }
        }
    }

    /// The most tokens a secrets file may hold.
    public static let tokensMax = 10_000
    /// The longest token accepted in a request, in bytes.
    public static let tokenBytesMax = 512
    /// The longest token name, in bytes.
    public static let tokenNameBytesMax = 128
    /// The largest secrets file read, in bytes.
    public static let secretsFileBytesMax = 4 << 20
    /// The paths open without a token when the file does not say.
    public static let openPathsDefault = ["/v1/health"]

    /// Token holders by the hex SHA-256 of their token.
    let holders: [String: Principal]
    /// Holders of a SigV4 secret by their token's name (the DynamoDB endpoint's access key id).
    let sigv4Holders: [String: (principal: Principal, secret: String)]
    /// Paths served without a token.
    public let openPaths: Set<String>

    /// Builds access control from a parsed secrets file.
    public init(_ file: File) throws(MeridianError) {
        guard file.tokens.count <= Self.tokensMax else {
            throw .invalid("invalid_secrets_file", "a secrets file holds at most \(Self.tokensMax) tokens")
        }
        var holders: [String: Principal] = [:]
        var sigv4Holders: [String: (principal: Principal, secret: String)] = [:]
        for entry in file.tokens {
            let hash = entry.sha256.lowercased()
            guard hash.count == 64, hash.allSatisfy({ $0.isHexDigit }) else {
                throw .invalid("invalid_secrets_file", "token '\(entry.name.prefix(64))': sha256 must be 64 hex digits")
            }
            guard (1...Self.tokenNameBytesMax).contains(entry.name.utf8.count) else {
                throw .invalid("invalid_secrets_file", "a token name must be 1 to \(Self.tokenNameBytesMax) bytes")
            }
            guard holders[hash] == nil else {
                throw .invalid("invalid_secrets_file", "token '\(entry.name)' has the same hash as another token")
            }
            holders[hash] = Principal(name: entry.name, role: entry.role)
            if let secret = entry.sigv4Secret {
                guard !secret.isEmpty, entry.name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: ",") && $0 != UInt8(ascii: "=") }) else {
                    throw .invalid("invalid_secrets_file", "token '\(entry.name.prefix(64))': a token with a sigv4_secret needs a non-empty secret and a name of printable ASCII without '/', ',' or '=' (it is the AWS access key id)")
                }
                guard sigv4Holders[entry.name] == nil else {
                    throw .invalid("invalid_secrets_file", "two tokens named '\(entry.name.prefix(64))' have a sigv4_secret; the name is the AWS access key id and must be unique")
                }
                sigv4Holders[entry.name] = (Principal(name: entry.name, role: entry.role), secret)
            }
        }
        self.holders = holders
        self.sigv4Holders = sigv4Holders
        openPaths = Set(file.openPaths ?? Self.openPathsDefault)
    }

    /// Reads and validates a secrets file.
    public static func load(path: String) throws(MeridianError) -> AccessControl {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw .invalid("secrets_file_unreadable", "cannot read secrets file \(path): \(error.localizedDescription)")
        }
        guard data.count <= secretsFileBytesMax else {
            throw .invalid("invalid_secrets_file", "\(path) is larger than \(secretsFileBytesMax) bytes")
        }
        let file: File
        do { file = try JSONDecoder().decode(File.self, from: data) } catch {
            throw .invalid("invalid_secrets_file", "\(path) is not a valid secrets file: \(error)")
        }
        return try AccessControl(file)
    }

    /// Lower-case hex of the SHA-256 of `token`: what a secrets file stores.
    public static func hash(token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// A new random token (256 bits from the system's secure generator, as hex).
    public static func generateToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    /// The AWS secret access key of a token: lower-case hex of HMAC-SHA256 keyed by the
    /// token over `meridian-sigv4-secret-v1`. Whoever holds the token can compute it; the
    /// secrets file stores it (the endpoint verifies signatures with it), and it does not
    /// reveal the token.
    public static func sigv4Secret(forToken token: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Data("meridian-sigv4-secret-v1".utf8), using: SymmetricKey(data: Data(token.utf8)))
        return code.map { String(format: "%02x", $0) }.joined()
    }

    /// The principal and SigV4 secret of an access key id, or `nil` when no token of that
    /// name has one.
    func sigv4Holder(accessKeyID: String) -> (principal: Principal, secret: String)? {
        sigv4Holders[accessKeyID]
    }

    /// Who holds `token`, or `nil` for a token this cluster does not know.
    func principal(token: String) -> Principal? {
        guard !token.isEmpty, token.utf8.count <= Self.tokenBytesMax else { return nil }
        return holders[Self.hash(token: token)]
    }

    /// The role a request needs, or `nil` when its path is open.
    ///
    /// Reads (`GET`, `HEAD`) need `read`, except the audit log (`admin`). Writes to items
    /// need `write`. Every other write (table definitions, regions, failover, fault
    /// injection, and any route added later) needs `admin`: a new route is closed until
    /// someone opens it on purpose.
    public func requiredRole(method: String, path: String) -> Role? {
        if openPaths.contains(path) || Self.isStaticAsset(path) { return nil }
        return Self.role(method: method, path: path)
    }

    /// The role a request needs by its method and path alone (open paths aside).
    static func role(method: String, path: String) -> Role {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        if method == "GET" || method == "HEAD" || method == "OPTIONS" {
            return segments.starts(with: ["v1", "audit"]) ? .admin : .read
        }
        let isItemPath = segments.count >= 4 && segments[0] == "v1" && segments[1] == "tables" && segments[3] == "items"
        return isItemPath ? .write : .admin
    }

    /// The dashboard page: markup and script only, no data (its script asks the API with
    /// the token the operator gives it).
    static func isStaticAsset(_ path: String) -> Bool {
        path == "/dashboard" || path == "/dashboard/"
    }
}

/// Who sent a request: a token's name and role.
public struct Principal: Sendable, Equatable {
    public var name: String
    public var role: Role

    /// The caller when the cluster asks for no token.
    static let anonymous = Principal(name: "anonymous", role: .admin)

    /// The principal of the request being served, and the `Authorization` header it came
    /// with (passed on when the request is forwarded to another region).
    @TaskLocal static var current: (principal: Principal, authorization: String?)?
}
