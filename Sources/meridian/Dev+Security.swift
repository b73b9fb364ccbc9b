import Foundation
import MeridianHTTP
import MeridianNode

extension Dev {
    /// Turns security on for the dev cluster and returns the admin token.
    ///
    /// Keeps what an earlier run made (the session and peer secrets, the admin token), so
    /// that tokens and sessions stay valid across restarts; makes each the first time from
    /// the system's secure generator. Writes `secrets.json` (the token's hash, with health
    /// and metrics open) and `token` (the token itself, readable by its owner only) into
    /// the data folder, and points the cluster file at the secrets file.
    static func prepareSecurity(_ cluster: inout ClusterConfiguration, previous: ClusterConfiguration?, dataURL: URL) throws -> String {
        cluster.sessionSecret = previous?.sessionSecret ?? AccessControl.generateToken()
        cluster.peerSecret = previous?.peerSecret ?? AccessControl.generateToken()
        let tokenFile = dataURL.appendingPathComponent("token")
        let previousToken = (try? String(contentsOf: tokenFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        let token = previousToken.flatMap { $0.isEmpty ? nil : $0 } ?? AccessControl.generateToken()
        try write(Data((token + "\n").utf8), to: tokenFile)

        let secrets = AccessControl.File(tokens: [AccessControl.TokenEntry(name: "dev-admin", role: .admin, sha256: AccessControl.hash(token: token))],
                                         openPaths: ["/v1/health", "/metrics"])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try write(try encoder.encode(secrets), to: dataURL.appendingPathComponent("secrets.json"))
        cluster.secretsFile = "secrets.json"
        return token
    }

    /// Writes a file readable and writable by its owner only.
    private static func write(_ data: Data, to url: URL) throws {
        try data.write(to: url)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: url.path)
    }
}
