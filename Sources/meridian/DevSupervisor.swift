import Foundation
import Hummingbird
import MeridianCore
import MeridianNode
import NIOConcurrencyHelpers

/// The region processes `meridian dev` runs: each can be stopped (SIGKILL: an outage,
/// not a clean shutdown) and started again with the same command, from the dashboard
/// through the control endpoint. A region that exits on its own is reported, never
/// restarted by itself.
final class DevSupervisor: Sendable {
    /// One region's command and its current process.
    struct Member {
        let region: RegionID
        let executable: URL
        let arguments: [String]
        var process: Process?
        var reportedExit = false
    }

    private let members: NIOLockedValueBox<[RegionID: Member]>
    let order: [RegionID]

    init(commands: [(RegionID, URL, [String])]) {
        order = commands.map(\.0)
        members = NIOLockedValueBox(Dictionary(uniqueKeysWithValues: commands.map { ($0.0, Member(region: $0.0, executable: $0.1, arguments: $0.2)) }))
    }

    /// Starts the region's process unless it is running; whether it was started.
    @discardableResult
    func start(_ region: RegionID) throws -> Bool {
        try members.withLockedValue { members in
            guard var member = members[region] else { return false }
            if member.process?.isRunning == true { return false }
            let process = Process()
            process.executableURL = member.executable
            process.arguments = member.arguments
            try process.run()
            member.process = process
            member.reportedExit = false
            members[region] = member
            return true
        }
    }

    /// Kills the region's process with SIGKILL; whether it was running.
    @discardableResult
    func stop(_ region: RegionID) -> Bool {
        let process: Process? = members.withLockedValue { members in
            guard let process = members[region]?.process, process.isRunning else { return nil }
            members[region]?.reportedExit = true
            return process
        }
        guard let process else { return false }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        print("meridian dev: region \(region) stopped (SIGKILL) from the dashboard")
        fflush(nil)
        return true
    }

    /// Regions whose process exited on its own since the last call, with their status.
    func newlyExited() -> [(RegionID, Int32)] {
        members.withLockedValue { members in
            var exited: [(RegionID, Int32)] = []
            for region in order {
                guard var member = members[region], let process = member.process, !process.isRunning, !member.reportedExit else { continue }
                member.reportedExit = true
                members[region] = member
                exited.append((region, process.terminationStatus))
            }
            return exited
        }
    }

    /// Sends SIGTERM to every running region and waits for each.
    func stopAll() {
        let processes = members.withLockedValue { $0.values.compactMap(\.process) }
        for process in processes where process.isRunning { kill(process.processIdentifier, SIGTERM) }
        for process in processes { process.waitUntilExit() }
    }

    /// The control endpoint: `POST /regions/{region}/stop` and `/start`, on loopback only,
    /// for requests carrying the dev admin token (nodes relay the dashboard's token).
    func controlApplication(port: Int, token: String) -> some ApplicationProtocol {
        let router = Router()
        let expected = "Bearer " + token
        router.post("/regions/:region/:action") { [self] request, context -> Response in
            guard let authorization = request.headers[.authorization],
                  authorization.utf8.count == expected.utf8.count,
                  zip(authorization.utf8, expected.utf8).reduce(UInt8(0), { $0 | ($1.0 ^ $1.1) }) == 0 else {
                return Self.answer(.unauthorized, #"{"error": {"code": "unauthenticated", "message": "the dev control endpoint needs the dev admin token"}}"#)
            }
            guard let name = context.parameters.get("region"), let region = try? RegionID(name), order.contains(region) else {
                return Self.answer(.notFound, #"{"error": {"code": "unknown_region", "message": "no such region in this meridian dev"}}"#)
            }
            switch context.parameters.get("action") {
            case "stop":
                let changed = stop(region)
                return Self.answer(.ok, #"{"region": "\#(region.name)", "running": false, "changed": \#(changed)}"#)
            case "start":
                do {
                    let changed = try start(region)
                    if changed { print("meridian dev: region \(region) started from the dashboard"); fflush(nil) }
                    return Self.answer(.ok, #"{"region": "\#(region.name)", "running": true, "changed": \#(changed)}"#)
                } catch {
                    return Self.answer(.internalServerError, #"{"error": {"code": "start_failed", "message": "could not start the region's process"}}"#)
                }
            default:
                return Self.answer(.notFound, #"{"error": {"code": "unknown_action", "message": "use /regions/{region}/stop or /start"}}"#)
            }
        }
        return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "meridian-dev"))
    }

    private static func answer(_ status: HTTPResponse.Status, _ json: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: json)))
    }
}
