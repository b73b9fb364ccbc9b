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
}
