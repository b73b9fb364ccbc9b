import Foundation
import HTTPTypes
import Hummingbird

/// Records every request in `NodeMetrics`: its route template, method, final status,
/// read consistency and latency, and which region served it when this node forwarded it.
/// It runs outermost, so refusals and errors are counted with the status the client saw.
struct MetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: NodeMetrics
    let region: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let route = Self.route(of: request.uri.path)
        let consistency = request.method == .get && route == "/v1/tables/{table}/items/{key}"
            ? Self.consistency(in: request.uri.query) : "none"
        do {
            let response = try await next(request, context)
            let servedBy = response.headers[.meridianRegion]
            let forwardedBy = response.headers[.meridianForwardedBy]
            metrics.recordRequest(method: request.method.rawValue, route: route, status: response.status.code, consistency: consistency,
                                  duration: ContinuousClock.now - start, forwardedTo: forwardedBy == region ? servedBy ?? "unknown" : nil)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            metrics.recordRequest(method: request.method.rawValue, route: route, status: status, consistency: consistency,
                                  duration: ContinuousClock.now - start, forwardedTo: nil)
            throw error
        }
    }

    /// The route template of a path: names and keys replaced by placeholders, so the
    /// number of label values stays bounded whatever clients send.
    static func route(of path: String) -> String {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        switch segments.count {
        case 0: return "/"
        case 1 where ["metrics", "dashboard"].contains(segments[0]): return "/" + segments[0]
        default: break
        }
        guard segments[0] == "v1" else { return "other" }
        let rest = Array(segments.dropFirst())
        let tableRoutes = ["items", "conflicts", "placement", "regions", "divergence", "failover"]
        if rest.count == 1 && ["health", "cluster", "tables", "audit"].contains(rest[0]) { return "/v1/" + rest[0] }
        if rest.count == 2 && rest[0] == "tables" { return "/v1/tables/{table}" }
        if rest.count == 3 && rest[0] == "tables" && tableRoutes.contains(rest[2]) { return "/v1/tables/{table}/" + rest[2] }
        if rest.count >= 4 && rest[0] == "tables" && rest[2] == "items" { return "/v1/tables/{table}/items/{key}" }
        if rest.count >= 2 && rest[0] == "dashboard" { return "/v1/dashboard/" + rest[1] }
        if rest.count == 3 && rest[0] == "debug" && ["links", "regions"].contains(rest[1]) { return "/v1/debug/" + rest[1] + "/{region}" }
        return "other"
    }

    /// The `consistency` query parameter when it is a known level, else `eventual` (the default).
    static func consistency(in query: String?) -> String {
        for pair in (query ?? "").split(separator: "&") where pair.hasPrefix("consistency=") {
            let value = String(pair.dropFirst("consistency=".count))
            return ["strong", "bounded", "session", "eventual"].contains(value) ? value : "invalid"
        }
        return "eventual"
    }
}
