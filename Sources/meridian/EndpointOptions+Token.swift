import Foundation

extension EndpointOptions {
    /// The bearer token to send: `--token`, else `MERIDIAN_TOKEN`, else the `token` file
    /// in the folder of `--cluster` (where `meridian dev` writes it); `nil` when none.
    func resolvedToken() -> String? {
        token ?? Self.token(environmentOrFileNextTo: cluster)
    }

    /// `MERIDIAN_TOKEN`, else the `token` file in the folder of the cluster file at `cluster`.
    static func token(environmentOrFileNextTo cluster: String?) -> String? {
        if let token = ProcessInfo.processInfo.environment["MERIDIAN_TOKEN"], !token.isEmpty { return token }
        guard let cluster else { return nil }
        let file = URL(fileURLWithPath: cluster).deletingLastPathComponent().appendingPathComponent("token")
        let token = (try? String(contentsOf: file, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        return token?.isEmpty == false ? token : nil
    }
}
