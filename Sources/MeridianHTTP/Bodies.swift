import HTTPTypes
import MeridianAPIModel
import MeridianStorage

// The bodies and header names themselves live in MeridianAPIModel, shared with the
// client; here only what needs the server's own types.

extension HTTPField.Name {
    /// `Meridian-Session`: the session token (`APIHeader.session`).
    static let meridianSession = HTTPField.Name(APIHeader.session)!
    /// `Meridian-Region`: the region that served the request (`APIHeader.region`).
    static let meridianRegion = HTTPField.Name(APIHeader.region)!
    /// `Meridian-Context`: an item's version context (`APIHeader.context`).
    static let meridianContext = HTTPField.Name(APIHeader.context)!
    /// `Meridian-Forwarded-By`: the region that forwarded a request (`APIHeader.forwardedBy`);
    /// a request that already carries it is never forwarded again.
    static let meridianForwardedBy = HTTPField.Name(APIHeader.forwardedBy)!
}

extension ItemBody {
    /// A live item as the API shows it, with its siblings and context when it has them.
    init(_ item: StoredItem) {
        guard let value = item.value else { preconditionFailure("a tombstone is never shown as an item") }
        self.init(key: item.key.string, value: value, version: item.version.token, origin: item.version.origin.name,
                  timestamp: item.version.timestamp.description)
        if let record = item.record {
            context = record.vector.token
            if !record.siblings.isEmpty {
                siblings = record.siblings.map { SiblingBody(value: $0.value, deleted: $0.value == nil, version: $0.version.token, origin: $0.version.origin.name) }
            }
        }
    }
}

extension PlacementBody {
    /// What this region found of a table in its own storage, with the sentence that says it.
    init(region: String, residue: TableResidue, listed: Bool) {
        let statement: String
        if residue.isEmpty {
            statement = "\(region) holds no item, origin-log entry, ledger row or change-feed row of this table (checked in its own storage)"
        } else if residue.items == 0 && residue.logEntries == 0 && residue.conflicts == 0 && residue.changes == 0 {
            statement = "\(region) has deleted every row of this table; their bytes remain in its write-ahead log until the checkpoint that erases them succeeds (retried every step)"
        } else {
            statement = "\(region) holds \(residue.items) items (\(residue.bytes) bytes), \(residue.logEntries) log entries, \(residue.conflicts) ledger rows and \(residue.changes) change-feed rows of this table"
        }
        self.init(region: region, listed: listed, holdsData: !residue.isEmpty, items: residue.items, bytes: residue.bytes,
                  logEntries: residue.logEntries, conflicts: residue.conflicts, verified: true, statement: statement)
    }

    /// A region that did not answer for itself.
    init(unreachable region: String) {
        self.init(region: region, listed: nil, holdsData: nil, items: nil, bytes: nil, logEntries: nil, conflicts: nil, verified: false,
                  statement: "\(region) did not answer: its storage could not be checked")
    }
}
