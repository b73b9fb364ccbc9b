import Foundation
import MeridianLocalCluster
import MeridianTestSupport
import Testing

/// The DynamoDB API through the clients people use: runs the pytest suite in
/// `Tests/dynamo` (boto3 and the AWS CLI against a three-region `meridian dev` with its
/// latency matrix, which the suite starts itself with this build's executable).
///
/// Skipped, with a message, only when python3 with boto3 and pytest is missing and `CI`
/// is not `true`; in CI their absence fails the test (`.ci/run` installs them with pip).
@Suite(.serialized, .timeLimit(.minutes(10)))
struct DynamoDBTests {
    static let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let isCI = ProcessInfo.processInfo.environment["CI"] == "true"
    /// The first python3 on PATH (where pip installs for it), else the system's.
    static let python: String? = searchPath("python3") ?? ["/usr/local/bin/python3", "/usr/bin/python3"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static let hasClients: Bool = {
        guard let python else { return false }
        return (try? run(python, ["-c", "import boto3, pytest"], environment: [:]).status) == 0
    }()

    /// How long the whole suite may take, in seconds (it takes about half a minute).
    static let suiteSecondsMax = 900

    @Test(.enabled(if: hasClients || isCI, "python3 with boto3 and pytest is missing (pip install boto3 awscli pytest; .ci/run installs them): DynamoDB suite skipped"))
    func boto3AndTheAWSCLIPassTheDynamoDBSuiteAgainstThreeRegions() throws {
        let python = try #require(Self.python, "CI=true but python3 is missing")
        #expect(Self.hasClients, "CI=true but boto3 or pytest is missing: .ci/run must install them")
        let basePort = try LocalPorts.free(1)[0] % 20_000 + 20_000
        let environment = ["MERIDIAN_BIN": meridianBinary.path, "MERIDIAN_DYNAMO_BASE_PORT": String(basePort), "PYTHONDONTWRITEBYTECODE": "1"]
        let result = try Self.run(python, ["-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:benchmark",
                                           Self.package.appendingPathComponent("Tests/dynamo").path],
                                  environment: environment, secondsMax: Self.suiteSecondsMax)
        #expect(result.status == 0, "pytest failed:\n\(result.output.suffix(20_000))")
        #expect(result.output.contains(" passed"), "pytest ran no tests:\n\(result.output.suffix(4000))")
    }

    /// Runs a program to its end (or kills it after `secondsMax`); returns its status and
    /// its standard output and error together.
    static func run(_ executable: String, _ arguments: [String], environment: [String: String], secondsMax: Int = 60) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = package
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let deadline = DispatchTime.now() + .seconds(secondsMax)
        let watchdog = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: deadline, execute: watchdog)
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        watchdog.cancel()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    static func searchPath(_ name: String) -> String? {
        (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
            .map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
