import Foundation
import Hummingbird
import MeridianAPIModel
import MeridianCore
import MeridianLocalCluster

/// The dashboard's hold on the regions `meridian dev` runs: through the control endpoint
/// a region can be stopped (SIGKILL: an outage, not a clean shutdown) and started again
/// with the same command. A region that exits on its own is reported, never restarted by
/// itself (`Dev.superviseUntilSignal`).
final class DevSupervisor: Sendable {
    /// The regions' processes.
    let cluster: LocalCluster

    init(cluster: LocalCluster) {
        self.cluster = cluster
    }

    /// The control endpoint: `POST /regions/{region}/stop` and `/start`, on loopback only,
    /// for requests carrying the dev admin token (nodes relay the dashboard's token).
    func controlApplication(port: Int, token: String) -> some ApplicationProtocol {
        let router = Router()
        let expected = "Bearer " + token
        router.post("/regions/:region/:action") { [cluster] request, context -> Response in
            guard let authorization = request.headers[.authorization],
                  authorization.utf8.count == expected.utf8.count,
                  zip(authorization.utf8, expected.utf8).reduce(UInt8(0), { $0 | ($1.0 ^ $1.1) }) == 0 else {
                return try Self.answer(.unauthorized, ErrorBody(code: "unauthenticated", message: "the dev control endpoint needs the dev admin token"))
            }
            guard let region = context.parameters.get("region"), cluster.regions.contains(region) else {
                return try Self.answer(.notFound, ErrorBody(code: "unknown_region", message: "no such region in this meridian dev"))
            }
            switch context.parameters.get("action") {
            case "stop":
                let changed = cluster.kill9(region)
                if changed { print("meridian dev: region \(region) stopped (SIGKILL) from the dashboard"); fflush(nil) }
                return try Self.answer(.ok, RegionControlBody(region: region, running: false, changed: changed))
            case "start":
                do {
                    let changed = try cluster.start(region)
                    if changed { print("meridian dev: region \(region) started from the dashboard"); fflush(nil) }
                    return try Self.answer(.ok, RegionControlBody(region: region, running: true, changed: changed))
                } catch {
                    return try Self.answer(.internalServerError, ErrorBody(code: "start_failed", message: "could not start the region's process"))
                }
            default:
                return try Self.answer(.notFound, ErrorBody(code: "unknown_action", message: "use /regions/{region}/stop or /start"))
            }
        }
        return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "meridian-dev"))
    }

    /// The answer to a stop or a start: whether the region runs now, and whether this request changed that.
    struct RegionControlBody: Encodable {
        var region: String
        var running: Bool
        var changed: Bool
    }

    private static func answer(_ status: HTTPResponse.Status, _ body: some Encodable) throws -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: try APIJSON.encode(body))))
    }
}
