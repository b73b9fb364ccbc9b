import MeridianCore
import MeridianRegion
import MeridianReplication

/// Trace text for messages, positions and faults: short, and deterministic (sorted, never
/// a dictionary's own description).
extension Simulator {
    func describe(_ positions: Positions) -> String {
        let entries = positions.sequences.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }
        return "{" + entries.joined(separator: " ") + "}"
    }

    func describe(_ message: PeerMessage) -> String {
        switch message {
        case .replication(let message):
            return describe(message)
        case .raft(let envelopes):
            return "raft " + envelopes.map { envelope in
                let message = envelope.message
                let entries = message.entries.isEmpty ? "" : " \(message.entries.first!.index)-\(message.entries.last!.index)"
                return "\(envelope.table):\(message.kind)@\(message.term) i\(message.index)\(entries)\(message.reject ? " reject" : "")"
            }.joined(separator: ", ")
        }
    }

    func describe(_ message: ReplicationMessage) -> String {
        switch message {
        case .catchUp(let positions):
            return "catch-up \(describe(positions))"
        case .entries(let entries):
            return "entries " + Self.runs(of: entries).joined(separator: " ")
        case .ack(let positions):
            return "ack \(describe(positions))"
        case .heartbeat(let heartbeat):
            return "heartbeat own \(heartbeat.latestSequence)"
        case .snapshot(let chunk):
            return "snapshot #\(chunk.transfer).\(chunk.index) \(chunk.items.count) items\(chunk.isFinal ? " final \(describe(chunk.positions))" : "")"
        case .copyRequest(let table):
            return "copy-request \(table)"
        }
    }

    func describe(_ fault: NetworkFault) -> String {
        switch fault {
        case .partition(let pair): return "partition \(pair)"
        case .oneWay(let link): return "one-way cut \(link)"
        case .isolation(let region): return "isolation of \(region)"
        case .lossyLink(let link, let percent): return "lossy link \(link) \(percent)%"
        case .noise(let duplication, let reorder): return "noise: duplication \(duplication)%, reordering \(reorder)%"
        }
    }

    /// Entries as runs of consecutive sequences per origin, e.g. `us-east#4-6`.
    static func runs(of entries: [LogEntry]) -> [String] {
        var runs: [(origin: RegionID, first: UInt64, last: UInt64)] = []
        for entry in entries {
            if let last = runs.last, last.origin == entry.origin, last.last + 1 == entry.sequence {
                runs[runs.count - 1].last = entry.sequence
            } else {
                runs.append((entry.origin, entry.sequence, entry.sequence))
            }
        }
        return runs.map { $0.first == $0.last ? "\($0.origin)#\($0.first)" : "\($0.origin)#\($0.first)-\($0.last)" }
    }
}
