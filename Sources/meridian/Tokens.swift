import ArgumentParser
import Foundation
import MeridianHTTP

/// `meridian tokens`: manage the client tokens of a secrets file (which stores hashes only).
struct Tokens: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Add or list the client tokens of a secrets file.",
        subcommands: [Add.self, List.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a new token, store its SHA-256 in the secrets file and print the token (shown this once).")

        @Argument(help: "Who holds the token (recorded in the audit log).") var name: String
        @Option(help: "read, write or admin.") var role: String = Role.read.rawValue
        @Option(help: "The secrets file (created when missing; the cluster file's secrets_file).") var secrets: String
        @Flag(help: "Also let the token sign DynamoDB API requests: store its SigV4 secret and print it (access key id: NAME).") var aws = false

        func run() throws {
            guard let role = Role(rawValue: role) else { throw ValidationError("--role must be read, write or admin") }
            var file = try Tokens.read(secrets) ?? AccessControl.File(tokens: [])
            guard !file.tokens.contains(where: { $0.name == name }) else { throw ValidationError("\(secrets) already has a token named '\(name)'") }
            let token = AccessControl.generateToken()
            let sigv4Secret = aws ? AccessControl.sigv4Secret(forToken: token) : nil
            file.tokens.append(.init(name: name, role: role, sha256: AccessControl.hash(token: token), sigv4Secret: sigv4Secret))
            _ = try AccessControl(file)
            try Tokens.encoded(file).write(to: URL(fileURLWithPath: secrets))
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: secrets)
            print(token)
            if let sigv4Secret { print("AWS_ACCESS_KEY_ID=\(name) AWS_SECRET_ACCESS_KEY=\(sigv4Secret)") }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print each token's name and role (the tokens themselves are not stored).")

        @Option(help: "The secrets file.") var secrets: String

        func run() throws {
            guard let file = try Tokens.read(secrets) else { throw ValidationError("\(secrets) does not exist") }
            for entry in file.tokens { print("\(entry.name)\t\(entry.role.rawValue)\(entry.sigv4Secret == nil ? "" : "\tDynamoDB (SigV4)")") }
            print("open without a token: \((file.openPaths ?? AccessControl.openPathsDefault).joined(separator: ", "))")
        }
    }

    /// A secrets file as written to disk: pretty, keys sorted, slashes unescaped.
    static func encoded(_ file: AccessControl.File) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(file)
    }

    /// The secrets file at `path`, or `nil` when there is none.
    static func read(_ path: String) throws -> AccessControl.File? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        do {
            return try JSONDecoder().decode(AccessControl.File.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw ValidationError("\(path) is not a valid secrets file: \(error)")
        }
    }
}
