import Foundation
import MeridianHTTP
import MeridianNode

extension Dev {
    /// Turns security on for the dev cluster and returns the admin token.
    ///
    /// Keeps what an earlier run made (the session and peer secrets, the admin token, and
    /// every other token of `secrets.json`, such as those `meridian tokens add` put there),
    /// so that tokens and sessions stay valid across restarts; makes each the first time
    /// from the system's secure generator. Writes `secrets.json` (the token's hash and its
    /// SigV4 secret, with health and metrics open), `token` (the token itself) and
    /// `aws-credentials` (the DynamoDB endpoint's access key and secret, in the AWS CLI's
    /// format), all readable by their owner only, into the data folder, and points the
    /// cluster file at the secrets file.
    static func prepareSecurity(_ cluster: inout ClusterConfiguration, previous: ClusterConfiguration?, dataURL: URL) throws -> String {
        cluster.sessionSecret = previous?.sessionSecret ?? AccessControl.generateToken()
        cluster.peerSecret = previous?.peerSecret ?? AccessControl.generateToken()
        let tokenFile = dataURL.appendingPathComponent("token")
        let previousToken = (try? String(contentsOf: tokenFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        let token = previousToken.flatMap { $0.isEmpty ? nil : $0 } ?? AccessControl.generateToken()
        try write(Data((token + "\n").utf8), to: tokenFile)

        let secretsFile = dataURL.appendingPathComponent("secrets.json")
        let kept = ((try? JSONDecoder().decode(AccessControl.File.self, from: Data(contentsOf: secretsFile)))?.tokens ?? []).filter { $0.name != devAdmin }
        let admin = AccessControl.TokenEntry(name: devAdmin, role: .admin, sha256: AccessControl.hash(token: token),
                                             sigv4Secret: AccessControl.sigv4Secret(forToken: token))
        let secrets = AccessControl.File(tokens: [admin] + kept, openPaths: ["/v1/health", "/metrics"])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try write(try encoder.encode(secrets), to: secretsFile)
        cluster.secretsFile = "secrets.json"
        let credentials = "[default]\naws_access_key_id = \(devAdmin)\naws_secret_access_key = \(admin.sigv4Secret!)\n"
        try write(Data(credentials.utf8), to: dataURL.appendingPathComponent("aws-credentials"))
        return token
    }

    /// The name of the admin token `meridian dev` makes (the DynamoDB endpoint's access key id).
    static let devAdmin = "dev-admin"

    /// Writes a file readable and writable by its owner only.
    private static func write(_ data: Data, to url: URL) throws {
        try data.write(to: url)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: url.path)
    }
}
