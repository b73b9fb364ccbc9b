// MeridianClient owns the Swift client of Meridian's HTTP API: it ranks a cluster's
// regions by measured round trip, sends every request to the nearest healthy one, moves
// on to the next one on a connection failure, a timeout or a 503 (within a bounded retry
// budget), and carries the session token from answer to request.
//
// It must never retry an answer the server gave on purpose (any 4xx, such as a refused
// session token or a failed precondition), never hold a lock across a suspension, and
// never wait without a bound: every request, probe, retry and backoff has a limit.

import Foundation
import MeridianAPIModel
import MeridianCore

/// An async/await client for a Meridian cluster that talks to the nearest healthy region.
///
/// ```swift
/// let client = try await MeridianClient.discover(seed: "127.0.0.1:7001")
/// try await client.createTable("users", definition: ["mode": .string("multi-primary"), "conflict": .string("lww")])
/// try await client.put(table: "users", key: "ada", value: .object(["name": .string("Ada")]))
/// let item = try await client.get(table: "users", key: "ada", consistency: .session)
/// print(item.value, "served by", item.region)
/// ```
///
/// Rules of use:
/// - `discover` measures the regions before it returns; a client built from a list ranks
///   them by the latency matrix (or in the given order) until `measure()` is called.
/// - A request goes to the nearest healthy region. On a connection failure, a timeout or
///   a 503 it moves to the next region, at most `Options.retriesMax` times, and the failed
///   region is left alone for a backoff, then probed again. Every 4xx is returned at once.
/// - A write that timed out may have been applied by the region that timed out; moving on
///   sends it again to the next region (a conditional write may then fail with 412).
/// - The client keeps the `Meridian-Session` token of the latest answer and sends it with
///   every request; `session` reads and sets it, so an app can persist it.
public final class MeridianClient: Sendable {
    /// The options in force (with the latency matrix discovery found, if any).
    public let options: Options
    let transport: any HTTPTransport
    private let state: Protected<State>

    /// The client's mutable state, behind one lock.
    struct State {
        var ranking: RegionRanking
        /// The token of the latest answer that carried one.
        var session: String?
    }

    /// A client for the given regions, ranked by the simulated delay from
    /// `options.simulatedLocation` (or in the given order) until `measure()` runs.
    ///
    /// - Throws: `invalid_options` for no regions, duplicate names or options out of bounds.
    public convenience init(regions: [RegionAddress], options: Options = Options()) throws(MeridianClientError) {
        try self.init(regions: regions, options: options, transport: AsyncHTTPTransport(responseBytesMax: options.responseBytesMax, trustedCAFile: options.trustedCAFile))
    }

    init(regions: [RegionAddress], options: Options, transport: any HTTPTransport) throws(MeridianClientError) {
        try options.validate()
        guard (1...Limits.regionsMax).contains(regions.count) else {
            throw MeridianClientError.invalidOptions.with(message: "a client needs 1 to \(Limits.regionsMax) regions; got \(regions.count)")
        }
        guard Set(regions.map(\.name)).count == regions.count, !regions.contains(where: { $0.name.isEmpty }) else {
            throw MeridianClientError.invalidOptions.with(message: "region names must be non-empty and distinct: \(regions.map(\.name))")
        }
        self.options = options
        self.transport = transport
        let priors = regions.map { region in Duration.microseconds(Int64(2 * Self.oneWayMilliseconds(options, to: region.name) * 1000)) }
        let ranking = RegionRanking(regions: regions, priorRoundTrips: priors,
                                    backoffMin: .milliseconds(options.unhealthyBackoffMillisecondsMin),
                                    backoffMax: .milliseconds(options.unhealthyBackoffMillisecondsMax))
        state = Protected(State(ranking: ranking))
    }

    /// Discovers the cluster from one of its regions (`host:port` or a URL), then measures
    /// every region and returns a client ranked nearest first.
    ///
    /// It decodes the seed's `GET /v1/cluster` answer (`ClusterBody`) and uses each region's
    /// name and API address, and the `latency_ms` matrix unless `options.latencyMatrix` is set.
    ///
    /// - Throws: `MeridianClientError`: `unreachable` when the seed does not answer, the
    ///   server's error when it refuses, `invalid_response` when the answer is not a cluster.
    public static func discover(seed: String, options: Options = Options()) async throws -> MeridianClient {
        try await discover(seed: seed, options: options, transport: AsyncHTTPTransport(responseBytesMax: options.responseBytesMax, trustedCAFile: options.trustedCAFile))
    }

    /// Discovers the cluster from one of its regions; see `discover(seed:options:)` with a string.
    public static func discover(seed: URL, options: Options = Options()) async throws -> MeridianClient {
        try await discover(seed: seed.absoluteString, options: options)
    }

    static func discover(seed: String, options: Options, transport: any HTTPTransport) async throws -> MeridianClient {
        try options.validate()
        let seedURL = RegionAddress.baseURL(seed)
        var headers: [String: String] = [:]
        if let token = options.token { headers["Authorization"] = "Bearer \(token)" }
        let request = TransportRequest(method: "GET", url: seedURL + "/v1/cluster", headers: headers, body: nil)
        let answer: TransportResponse
        do {
            answer = try await transport.execute(request, timeoutMilliseconds: options.requestTimeoutMilliseconds)
        } catch let error as MeridianClientError {
            throw error
        } catch {
            try Task.checkCancellation()
            throw MeridianClientError.unreachable.with(message: "the seed \(seedURL) did not answer: \(error)")
        }
        let response = MeridianResponse(status: answer.status, headers: answer.headers, body: answer.body, region: answer.header(APIHeader.region) ?? seedURL)
        guard answer.status == 200 else { throw MeridianClientError(answer: response) }
        let cluster = try response.decode(ClusterBody.self)
        var resolved = options
        if resolved.latencyMatrix == nil, let matrix = cluster.latencyMilliseconds { resolved.latencyMatrix = LatencyMatrix(matrix) }
        // The discovery request pays its simulated round trip too, once the seed said where it is.
        try await pay(2 * oneWayMilliseconds(resolved, to: cluster.region))
        let client = try MeridianClient(regions: cluster.regions.map { RegionAddress(name: $0.name, url: $0.api) }, options: resolved, transport: transport)
        await client.measure()
        return client
    }

    /// The session token the client sends as `Meridian-Session`: the latest one an answer
    /// carried. Set it to resume a persisted session, or to nil to start a new one.
    public var session: String? {
        get { state.withLock { $0.session } }
        set { state.withLock { $0.session = newValue } }
    }

    /// Every region in rank order: healthy ones nearest first, then unhealthy ones.
    public var regions: [RegionStatus] {
        state.withLock { $0.ranking.statuses }
    }

    /// Measures every region (in parallel) with `options.probesPerRegion` health probes,
    /// ranks them by median round trip, simulated delays included, and returns the ranking.
    /// A region that does not answer a probe is marked unhealthy and ranked last.
    @discardableResult
    public func measure() async -> [RegionStatus] {
        let addresses = state.withLock { $0.ranking.entries.map(\.address) }
        let measurements = await withTaskGroup(of: (String, Duration?).self) { group in
            for address in addresses {
                group.addTask { (address.name, await self.medianRoundTrip(address)) }
            }
            return await group.reduce(into: [(String, Duration?)]()) { $0.append($1) }
        }
        // A cancelled measurement says nothing about the regions.
        guard !Task.isCancelled else { return regions }
        let now = ContinuousClock.now
        return state.withLock { state in
            for (name, roundTrip) in measurements { state.ranking.recordMeasurement(name, roundTrip: roundTrip, now: now) }
            return state.ranking.statuses
        }
    }

    // MARK: State for the sending side

    /// The regions in the order one request tries them, and the regions due for a probe.
    func plan(now: ContinuousClock.Instant) -> (candidates: [RegionAddress], dueProbes: [RegionAddress], session: String?) {
        state.withLock { state in
            (state.ranking.ranked.map(\.address), state.ranking.takeDueProbes(now: now), state.session)
        }
    }

    func recordAnswer(_ region: String, session: String?) {
        state.withLock { state in
            state.ranking.recordAnswer(region)
            if let session { state.session = session }
        }
    }

    func recordFailure(_ region: String, session: String? = nil) {
        let now = ContinuousClock.now
        state.withLock { state in
            state.ranking.recordFailure(region, now: now)
            if let session { state.session = session }
        }
    }

    func recordProbe(_ region: String, answered: Bool) {
        let now = ContinuousClock.now
        state.withLock { $0.ranking.recordProbe(region, answered: answered, now: now) }
    }

    // MARK: Simulated geography

    /// The one-way delay from the simulated location to `region`, in milliseconds (0 without one).
    func oneWayMilliseconds(to region: String) -> Double {
        Self.oneWayMilliseconds(options, to: region)
    }

    static func oneWayMilliseconds(_ options: Options, to region: String) -> Double {
        guard let location = options.simulatedLocation, let matrix = options.latencyMatrix else { return 0 }
        return matrix.milliseconds(from: location, to: region)
    }

    /// Waits a simulated delay.
    static func pay(_ milliseconds: Double) async throws {
        if milliseconds > 0 { try await Task.sleep(for: .microseconds(Int64(milliseconds * 1000))) }
    }
}
