import MeridianCore
import MeridianStorage

/// A `session` or `bounded` read this region cannot serve yet, waiting (with a deadline)
/// for its copy to catch up instead of being refused at once.
struct ParkedRead: Sendable {
    var table: TableName
    var key: Key
    var consistency: ConsistencyLevel
    var requirement: ReadRequirement
    /// When the read gives up and is answered with its refusal, in wall milliseconds.
    var deadlineMilliseconds: UInt64
}

/// Session and bounded reads that wait in the region: parked under a ticket when the local
/// copy cannot serve them yet, served at the end of the first step after which it can, or
/// answered with their refusal (which names where to go instead) at their deadline. The
/// edge forwards a read only on that final refusal, so the wait is the region's, and the
/// simulator drives it as it runs.
extension Step {
    /// Why the local copy cannot serve a read with this requirement of `table` yet; `nil`
    /// when it can.
    func unreadiness(of table: TableName, _ requirement: ReadRequirement, consistency: ConsistencyLevel) -> MeridianError? {
        guard let definition = state.definition(table), definition.mode != .multiPrimary else {
            do { try check(requirement) } catch { return error }
            return nil
        }
        // A `primary` or `strong` table: only session reads are served from a local copy.
        guard consistency == .session, case .session(_, let raft) = requirement,
              let group = state.consensus.groups[table] else { return nil }
        let sessionMark = region.configuration.fault == .ignoreSessionToken ? 0 : raft[table] ?? 0
        var positionsApplied = true
        do { try check(requirement) } catch { positionsApplied = false }
        if group.appliedIndex >= sessionMark && positionsApplied { return nil }
        let leader = group.node.status.leader.flatMap { try? RegionID($0) }
        return MeridianError(.unavailable, code: "session_not_ready",
            positionsApplied
                ? "this region has applied table '\(table)''s log through \(group.appliedIndex); the session has seen \(sessionMark)"
                : "this region has not yet applied the replication positions the session has seen",
            redirect: leader == local ? nil : leader)
    }

    /// Parks a read that cannot be served yet for up to `waitMilliseconds` (capped at
    /// `RegionState.parkedReadWaitMillisecondsMax`); throws `refusal` at once when it may not
    /// wait or too many reads already do.
    mutating func park(_ table: TableName, _ key: Key, consistency: ConsistencyLevel, requirement: ReadRequirement,
                       waitMilliseconds: UInt64, refusal: MeridianError) throws -> RegionReply {
        guard waitMilliseconds > 0, state.parkedReads.count < RegionState.parkedReadsMax else { throw refusal }
        let ticket = state.issueTicket()
        let wait = min(waitMilliseconds, RegionState.parkedReadWaitMillisecondsMax)
        state.parkedReads[ticket] = ParkedRead(table: table, key: key, consistency: consistency, requirement: requirement,
                                               deadlineMilliseconds: wallMilliseconds + wait)
        return .pending(ticket: ticket)
    }

    /// Serves every parked read the local copy can now serve, and answers those whose
    /// deadline passed with their refusal, in ticket order. Runs at the end of every step
    /// that may have changed what the region applied.
    mutating func serveParkedReads(reader: any StorageReader) throws {
        guard !state.parkedReads.isEmpty else { return }
        for (ticket, read) in state.parkedReads.sorted(by: { $0.key < $1.key }) {
            let outcome: Result<RegionReply, MeridianError>
            do {
                try servedTable(read.table)
                if let refusal = unreadiness(of: read.table, read.requirement, consistency: read.consistency) {
                    guard wallMilliseconds >= read.deadlineMilliseconds else { continue }
                    outcome = .failure(refusal)
                } else if let item = try reader.item(table: read.table, key: read.key), !item.isTombstone {
                    outcome = .success(.item(item, servedAt: read.consistency))
                } else {
                    outcome = .failure(MeridianError.itemNotFound)
                }
            } catch let error as MeridianError {
                outcome = .failure(error)
            }
            state.parkedReads[ticket] = nil
            state.completions.append((ticket, outcome))
        }
    }
}
