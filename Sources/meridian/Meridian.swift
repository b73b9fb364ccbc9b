// The `meridian` executable: `serve` runs one region's node; the data commands talk to
// a running node over the HTTP API and print JSON.

import ArgumentParser
import Foundation

@main
struct Meridian: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "meridian",
        abstract: "A multi-region database.",
        subcommands: [Serve.self, Dev.self, Sim.self, Bench.self, Tables.self, Conflicts.self, Divergence.self, Put.self, Get.self, Delete.self, Scan.self, Tokens.self])

    /// This executable, which `meridian dev` and `meridian bench` start as `meridian serve`.
    static var executable: URL {
        URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? Bundle.main.executablePath ?? CommandLine.arguments[0])
    }
}
