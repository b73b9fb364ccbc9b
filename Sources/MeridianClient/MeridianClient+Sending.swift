import MeridianAPIModel
import MeridianCore

extension MeridianClient {
    /// Sends one request to the nearest healthy region and returns the answer, whatever
    /// its status; moves to the next region on a connection failure, a timeout or a 503
    /// (but for a write answered 503 `commit_timeout` or `forward_timeout`: it may have
    /// been applied, and is returned as it is).
    ///
    /// `path` starts with `/v1/...` and may carry a query; path components must already be
    /// percent-encoded. The client adds `Authorization` (with a token), `Meridian-Session`
    /// (with a session) and `Content-Type: application/json` (with a body); `headers`
    /// override them by name.
    ///
    /// ```swift
    /// let answer = try await client.send(method: "GET", path: "/v1/tables")
    /// print(answer.status, answer.region, try answer.json())
    /// ```
    ///
    /// - Returns: the first answer that is not a 503, or the last 503 when every region
    ///   tried answered 503.
    /// - Throws: `MeridianClientError.unreachable` when no region tried answered at all;
    ///   `response_too_large`; `CancellationError`.
    public func send(method: String, path: String, body: [UInt8]? = nil, headers: [String: String] = [:]) async throws -> MeridianResponse {
        let (candidates, dueProbes, session) = plan(now: .now)
        for region in dueProbes { startProbe(region) }
        let request = outboundRequest(method: method, path: path.hasPrefix("/") ? path : "/" + path, body: body, headers: headers, session: session)
        let attemptsMax = min(options.retriesMax + 1, candidates.count)
        var failures: [String] = []
        var lastUnavailable: MeridianResponse?
        for region in candidates.prefix(attemptsMax) {
            var attempt = request
            attempt.url = region.url + request.url
            let answer: TransportResponse
            do {
                answer = try await exchange(attempt, with: region, timeoutMilliseconds: options.requestTimeoutMilliseconds)
            } catch let error as MeridianClientError {
                throw error
            } catch {
                try Task.checkCancellation()
                recordFailure(region.name)
                failures.append("\(region.name): \(error)")
                continue
            }
            let response = MeridianResponse(status: answer.status, headers: answer.headers, body: answer.body,
                                            region: answer.header(APIHeader.region) ?? region.name)
            if answer.status == 503 && method != "GET" && Self.outcomeUnknownCodes.contains(response.errorCode ?? "") {
                // The region may have applied the write (a commit or a forward that timed
                // out): sending it to the next region could apply it twice.
                recordAnswer(region.name, session: answer.header(APIHeader.session))
                return response
            }
            if answer.status == 503 {
                recordFailure(region.name, session: answer.header(APIHeader.session))
                failures.append("\(region.name): HTTP 503")
                lastUnavailable = response
                continue
            }
            recordAnswer(region.name, session: answer.header(APIHeader.session))
            return response
        }
        if let lastUnavailable { return lastUnavailable }
        throw MeridianClientError.unreachable.with(
            message: "no region answered \(method) \(path) after \(attemptsMax) attempts: " + failures.joined(separator: "; "))
    }

    /// Codes of a 503 whose write may have been applied: such a write is not sent to another region.
    static let outcomeUnknownCodes: Set<String> = ["commit_timeout", "forward_timeout"]

    /// Sends a request with `send` and turns any answer outside 2xx into its error.
    func call(_ method: String, _ path: String, body: [UInt8]? = nil, headers: [String: String] = [:]) async throws -> MeridianResponse {
        let answer = try await send(method: method, path: path, body: body, headers: headers)
        guard (200..<300).contains(answer.status) else { throw MeridianClientError(answer: answer) }
        return answer
    }

    /// The request without the region's base URL: `url` holds the path and query.
    private func outboundRequest(method: String, path: String, body: [UInt8]?, headers: [String: String], session: String?) -> TransportRequest {
        var fields: [String: String] = [:]
        if let token = options.token { fields["Authorization"] = "Bearer \(token)" }
        if let session { fields[APIHeader.session] = session }
        if body != nil { fields["Content-Type"] = "application/json" }
        for (name, value) in headers {
            for existing in fields.keys where existing.lowercased() == name.lowercased() { fields[existing] = nil }
            fields[name] = value
        }
        return TransportRequest(method: method, url: path, headers: fields, body: body)
    }

    /// One exchange with one region, paying the simulated one-way delay before sending and
    /// after the answer.
    private func exchange(_ request: TransportRequest, with region: RegionAddress, timeoutMilliseconds: Int) async throws -> TransportResponse {
        let delay = oneWayMilliseconds(to: region.name)
        try await Self.pay(delay)
        let answer = try await transport.execute(request, timeoutMilliseconds: timeoutMilliseconds)
        try await Self.pay(delay)
        return answer
    }

    /// The round trip of one `GET /v1/health` (simulated delays included); nil when the
    /// region does not answer it with 200.
    func probe(_ region: RegionAddress) async -> Duration? {
        let request = outboundRequest(method: "GET", path: "/v1/health", body: nil, headers: [:], session: nil)
        var attempt = request
        attempt.url = region.url + request.url
        let start = ContinuousClock.now
        guard let answer = try? await exchange(attempt, with: region, timeoutMilliseconds: options.probeTimeoutMilliseconds),
              answer.status == 200 else { return nil }
        return ContinuousClock.now - start
    }

    /// The median of up to `probesPerRegion` probes, sent one after another; nil when the
    /// first probe fails. A later failure ends the series with what was measured.
    func medianRoundTrip(_ region: RegionAddress) async -> Duration? {
        var samples: [Duration] = []
        for _ in 0..<options.probesPerRegion {
            guard let roundTrip = await probe(region) else { break }
            samples.append(roundTrip)
        }
        guard !samples.isEmpty else { return nil }
        return samples.sorted()[(samples.count - 1) / 2]
    }

    /// Probes a region whose backoff is over, in the background; the ranking marked it as
    /// probed, so at most one probe per region is in flight.
    private func startProbe(_ region: RegionAddress) {
        Task {
            let roundTrip = await self.probe(region)
            self.recordProbe(region.name, answered: roundTrip != nil)
        }
    }
}
