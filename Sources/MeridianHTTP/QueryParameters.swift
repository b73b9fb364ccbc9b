import Foundation
import MeridianCore

/// The query string of a request, decoded strictly: a value that is not valid
/// percent-encoded UTF-8 is an error, never silently kept raw. `+` is a literal plus.
struct QueryParameters {
    private var values: [String: String] = [:]

    init(_ query: String?) throws(MeridianError) {
        guard let query, !query.isEmpty else { return }
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = String(parts[0]).removingPercentEncoding,
                  let value = (parts.count > 1 ? String(parts[1]) : "").removingPercentEncoding
            else {
                throw .invalid("invalid_query", "the query string is not valid percent-encoded UTF-8")
            }
            values[name] = value
        }
    }

    subscript(_ name: String) -> String? { values[name] }

    /// `limit`: 1 to `Limits.scanItemsMax`, default `Limits.scanItemsDefault`.
    func limit() throws(MeridianError) -> Int {
        guard let raw = values["limit"] else { return Limits.scanItemsDefault }
        guard let limit = Int(raw), (1...Limits.scanItemsMax).contains(limit) else {
            throw .invalid("invalid_limit", "limit must be an integer from 1 to \(Limits.scanItemsMax); got '\(raw.prefix(40))'")
        }
        return limit
    }

    /// A non-negative integer parameter.
    func integer(_ name: String) throws(MeridianError) -> Int64? {
        guard let raw = values[name] else { return nil }
        guard let value = Int64(raw), value >= 0 else { throw .invalid("invalid_query", "\(name) must be a non-negative integer") }
        return value
    }

    /// A key-valued parameter such as `start_after`.
    func key(_ name: String) throws(MeridianError) -> Key? {
        guard let raw = values[name] else { return nil }
        return try Key(raw)
    }

    /// `max_staleness_ms`, when given.
    func maxStalenessMilliseconds() throws(MeridianError) -> UInt64? {
        guard let raw = values["max_staleness_ms"] else { return nil }
        guard let milliseconds = UInt64(raw) else { throw .invalid("invalid_consistency", "max_staleness_ms must be a non-negative integer") }
        return milliseconds
    }

    /// `consistency` (default `eventual`), with `max_staleness_ms` required for `bounded`.
    func consistency() throws(MeridianError) -> ConsistencyLevel {
        guard let raw = values["consistency"] else { return .eventual }
        guard let level = ConsistencyLevel(rawValue: raw) else {
            throw .invalid("invalid_consistency", "consistency must be one of \(ConsistencyLevel.allCases.map(\.rawValue).joined(separator: ", ")); got '\(raw.prefix(40))'")
        }
        if level == .bounded {
            guard let staleness = values["max_staleness_ms"], let milliseconds = Int(staleness), milliseconds >= 0 else {
                throw .invalid("invalid_consistency", "consistency=bounded needs max_staleness_ms, a non-negative integer")
            }
        }
        return level
    }
}
