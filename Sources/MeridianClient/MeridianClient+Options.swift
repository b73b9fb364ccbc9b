extension MeridianClient {
    /// How a client behaves: where it pretends to sit, how long it waits, how often it retries.
    ///
    /// ```swift
    /// var options = MeridianClient.Options()
    /// options.simulatedLocation = "ap-south"   // pay the delays of a client in ap-south
    /// options.retriesMax = 2                   // at most three regions per request
    /// let client = try await MeridianClient.discover(seed: "127.0.0.1:7001", options: options)
    /// ```
    public struct Options: Sendable {
        /// The region the client pretends to sit in. Every request then waits the one-way
        /// delay from there to the region it talks to, before it is sent and after the
        /// answer arrives, so that ranking and latencies follow the geography.
        public var simulatedLocation: String?
        /// The one-way delays to use for `simulatedLocation`; nil takes the cluster's
        /// `latency_ms` when discovering (and no delay when built from a list).
        public var latencyMatrix: LatencyMatrix?
        /// How many other regions one request may move on to after a failure (0 to
        /// `retriesMaxLimit`); a request never tries more regions than there are.
        public var retriesMax: Int = 2
        /// How long one attempt may take from connecting to the last byte of the answer, in milliseconds.
        public var requestTimeoutMilliseconds: Int = 10_000
        /// How long one health probe may take, in milliseconds.
        public var probeTimeoutMilliseconds: Int = 2_000
        /// How many `GET /v1/health` probes `measure()` sends to each region (1 to `probesPerRegionMax`).
        public var probesPerRegion: Int = 3
        /// How long a region that failed is left alone before it is probed again, in
        /// milliseconds; it doubles with each consecutive failure.
        public var unhealthyBackoffMillisecondsMin: Int = 1_000
        /// The longest such backoff, in milliseconds.
        public var unhealthyBackoffMillisecondsMax: Int = 30_000
        /// The largest answer the client reads, in bytes.
        public var responseBytesMax: Int = 64 << 20
        /// A bearer token, sent as `Authorization: Bearer <token>` when set.
        public var token: String?
        /// A PEM file with the only certificate authority trusted for `https` regions (a
        /// cluster's own CA); `nil`: the system's trusted roots.
        public var trustedCAFile: String?

        /// The largest `retriesMax`.
        public static let retriesMaxLimit = 16
        /// The largest `probesPerRegion`.
        public static let probesPerRegionMax = 16
        /// The longest timeout or backoff, in milliseconds (ten minutes).
        public static let millisecondsMax = 600_000

        /// The default options: no simulated location, two retries, ten-second timeout.
        public init(simulatedLocation: String? = nil, latencyMatrix: LatencyMatrix? = nil, retriesMax: Int = 2,
                    requestTimeoutMilliseconds: Int = 10_000, token: String? = nil) {
            self.simulatedLocation = simulatedLocation
            self.latencyMatrix = latencyMatrix
            self.retriesMax = retriesMax
            self.requestTimeoutMilliseconds = requestTimeoutMilliseconds
            self.token = token
        }

        /// Refuses options outside their bounds.
        func validate() throws(MeridianClientError) {
            func refuse(_ message: String) -> MeridianClientError { MeridianClientError.invalidOptions.with(message: message) }
            guard (0...Self.retriesMaxLimit).contains(retriesMax) else { throw refuse("retriesMax must be 0 to \(Self.retriesMaxLimit)") }
            guard (1...Self.probesPerRegionMax).contains(probesPerRegion) else { throw refuse("probesPerRegion must be 1 to \(Self.probesPerRegionMax)") }
            for (name, value) in [("requestTimeoutMilliseconds", requestTimeoutMilliseconds), ("probeTimeoutMilliseconds", probeTimeoutMilliseconds),
                                  ("unhealthyBackoffMillisecondsMin", unhealthyBackoffMillisecondsMin), ("unhealthyBackoffMillisecondsMax", unhealthyBackoffMillisecondsMax)]
            where !(1...Self.millisecondsMax).contains(value) {
                throw refuse("\(name) must be 1 to \(Self.millisecondsMax)")
            }
            guard unhealthyBackoffMillisecondsMin <= unhealthyBackoffMillisecondsMax else {
                throw refuse("unhealthyBackoffMillisecondsMin must not exceed unhealthyBackoffMillisecondsMax")
            }
            guard responseBytesMax >= 1 else { throw refuse("responseBytesMax must be positive") }
            if let invalid = latencyMatrix?.invalidEntry {
                throw refuse("latency \(invalid.source) -> \(invalid.destination) is \(invalid.milliseconds) ms; it must be 0 to \(LatencyMatrix.oneWayMillisecondsMax)")
            }
            if let token, token.isEmpty || token.contains(where: { $0.isNewline }) {
                throw refuse("the token must be non-empty and on one line")
            }
        }
    }
}
