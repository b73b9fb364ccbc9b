import ArgumentParser
import Foundation
import MeridianHTTP
import MeridianNode

extension Dev {
    /// Turns security on for the dev cluster and returns the admin token.
    ///
    /// Keeps what an earlier run made (the session and peer secrets, the admin token), so
    /// that tokens and sessions stay valid across restarts; makes each the first time from
    /// the system's secure generator. Writes `token` (the token itself), `secrets.json` (the
    /// token's hash and its SigV4 secret) and `aws-credentials` (the DynamoDB endpoint's
    /// access key and secret, in the AWS CLI's format), all readable by their owner only,
    /// into the data folder, and points the cluster file at the secrets file. An existing
    /// `secrets.json` is merged, never replaced: the tokens `meridian tokens add` put there
    /// and its `open_paths` stay; only the `dev-admin` entry is set to the admin token's
    /// hash. A secrets file that does not read is an error, and stays as it was.
    static func prepareSecurity(_ cluster: inout ClusterConfiguration, previous: ClusterConfiguration?, dataURL: URL) throws -> String {
        cluster.sessionSecret = previous?.sessionSecret ?? AccessControl.generateToken()
        cluster.peerSecret = previous?.peerSecret ?? AccessControl.generateToken()
        let tokenFile = dataURL.appendingPathComponent("token")
        let previousToken = (try? String(contentsOf: tokenFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        let token = previousToken.flatMap { $0.isEmpty ? nil : $0 } ?? AccessControl.generateToken()

        let secretsFile = dataURL.appendingPathComponent("secrets.json")
        var secrets = try Tokens.read(secretsFile.path) ?? AccessControl.File(tokens: [], openPaths: ["/v1/health", "/metrics"])
        let admin = AccessControl.TokenEntry(name: devAdmin, role: .admin, sha256: AccessControl.hash(token: token),
                                             sigv4Secret: AccessControl.sigv4Secret(forToken: token))
        secrets.setToken(admin)
        do { _ = try AccessControl(secrets) } catch { throw ValidationError("\(secretsFile.path): \(error.message)") }
        try write(Data((token + "\n").utf8), to: tokenFile)
        try write(try Tokens.encoded(secrets), to: secretsFile)
        cluster.secretsFile = "secrets.json"
        let credentials = "[default]\naws_access_key_id = \(devAdmin)\naws_secret_access_key = \(admin.sigv4Secret!)\n"
        try write(Data(credentials.utf8), to: dataURL.appendingPathComponent("aws-credentials"))
        return token
    }

    /// The name of the admin token `meridian dev` makes (the DynamoDB endpoint's access key
    /// id, and the name the audit log records).
    static let devAdmin = "dev-admin"

    /// Writes a file readable and writable by its owner only.
    private static func write(_ data: Data, to url: URL) throws {
        try data.write(to: url)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: url.path)
    }
}
