import Crypto
import HTTPTypes
import Foundation
import MeridianCore
import MeridianNode
import MeridianRegion

/// Session tokens: what a client has seen, per replication stream, signed so that a
/// region can trust it.
///
/// A token names, per origin region, the last log position the client's reads and
/// writes reflected, and per `primary` or `strong` table the index of its Raft log they
/// reflected. It is `base64url(payload) "." base64url(mac)`, where the payload is
/// `v1|<cluster id>|<positions>` (positions as `region.sequence~...`), or
/// `v2|<cluster id>|<positions>|<raft marks>` (marks as `table.index~...`, sorted) when
/// the session touched a Raft table, and the mac is the first 16 bytes of HMAC-SHA256
/// over the payload with the cluster's session secret. Tokens issued before v2 still read.
/// A token that does not parse, whose mac does not verify, or that names another
/// cluster is refused at once (400 `invalid_session`), never retried.
struct SessionTokens: Sendable {
    /// The longest token accepted, in bytes.
    static let tokenBytesMax = 8 * 1024
    /// The bytes of the mac kept in a token.
    static let macBytes = 16

    let clusterID: String
    let key: SymmetricKey

    init(cluster: ClusterConfiguration) {
        clusterID = cluster.clusterID
        let secret = cluster.sessionSecret ?? "meridian-session:" + cluster.clusterID
        key = SymmetricKey(data: SHA256.hash(data: Data(secret.utf8)))
    }

    /// A signed token for what a session has seen.
    func token(for marks: SessionMarks) -> String {
        var text = "v1|\(clusterID)|\(VersionVector(marks.positions.sequences).token)"
        if !marks.raft.isEmpty {
            let raft = marks.raft.keys.sorted().map { "\($0.name).\(marks.raft[$0]!)" }.joined(separator: "~")
            text = "v2|\(clusterID)|\(VersionVector(marks.positions.sequences).token)|\(raft)"
        }
        let payload = Data(text.utf8)
        let mac = Data(HMAC<SHA256>.authenticationCode(for: payload, using: key)).prefix(Self.macBytes)
        return Self.base64URL(payload) + "." + Self.base64URL(mac)
    }

    /// A signed token for multi-primary positions only.
    func token(for positions: Positions) -> String {
        token(for: SessionMarks(positions: positions))
    }

    /// What a token says the session has seen.
    ///
    /// - Throws: `invalid_session` for anything this cluster did not sign.
    func marks(from token: String) throws(MeridianError) -> SessionMarks {
        let invalid = MeridianError.invalid("invalid_session", "the Meridian-Session token is malformed, forged or from another cluster; drop it and start a new session")
        guard token.utf8.count <= Self.tokenBytesMax else { throw invalid }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let payload = Self.data(base64URL: parts[0]), let mac = Self.data(base64URL: parts[1]), mac.count == Self.macBytes else { throw invalid }
        let expected = Data(HMAC<SHA256>.authenticationCode(for: payload, using: key)).prefix(Self.macBytes)
        // Constant-time comparison: a forger learns nothing from the timing.
        guard expected.count == mac.count, zip(expected, mac).reduce(UInt8(0), { $0 | ($1.0 ^ $1.1) }) == 0 else { throw invalid }
        let fields = String(decoding: payload, as: UTF8.self).split(separator: "|", maxSplits: 3, omittingEmptySubsequences: false)
        guard fields.count >= 3, fields[1] == clusterID, let vector = VersionVector(token: String(fields[2])) else { throw invalid }
        switch (fields[0], fields.count) {
        case ("v1", 3):
            return SessionMarks(positions: Positions(vector.counts))
        case ("v2", 4):
            var raft: [TableName: UInt64] = [:]
            for mark in fields[3].split(separator: "~", omittingEmptySubsequences: false) {
                let parts = mark.split(separator: ".", omittingEmptySubsequences: false)
                guard parts.count == 2, let table = try? TableName(String(parts[0])), let index = UInt64(parts[1]), raft[table] == nil else { throw invalid }
                raft[table] = index
            }
            return SessionMarks(positions: Positions(vector.counts), raft: raft)
        default:
            throw invalid
        }
    }


    // Every answer carries a token: the alphabet is swapped byte by byte, since
    // Foundation's `replacingOccurrences` took a few percent of a write's CPU.
    static func base64URL(_ data: Data) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity((data.count + 2) / 3 * 4)
        for byte in data.base64EncodedData() {
            switch byte {
            case UInt8(ascii: "+"): bytes.append(UInt8(ascii: "-"))
            case UInt8(ascii: "/"): bytes.append(UInt8(ascii: "_"))
            case UInt8(ascii: "="): continue
            default: bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func data(base64URL text: Substring) -> Data? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count + 3)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "-"): bytes.append(UInt8(ascii: "+"))
            case UInt8(ascii: "_"): bytes.append(UInt8(ascii: "/"))
            case UInt8(ascii: "="), UInt8(ascii: "+"), UInt8(ascii: "/"): return nil
            default: bytes.append(byte)
            }
        }
        while bytes.count % 4 != 0 { bytes.append(UInt8(ascii: "=")) }
        return Data(base64Encoded: Data(bytes))
    }
}
