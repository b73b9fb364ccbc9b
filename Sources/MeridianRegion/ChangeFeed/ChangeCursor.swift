import MeridianCore
import MeridianStorage

/// Where a change-feed subscriber stands: after a change of one region's feed, and what it
/// has provably seen in terms every region understands (docs/changefeed.md).
///
/// Its text form is opaque to clients: `<region>.<epoch>.<sequence>` followed by `.t<hlc>`
/// (multi-primary tables) or `.r<index>` (Raft tables) when a resolved mark is known, all
/// numbers in decimal, e.g. `us-east.1795802240341.42.t117685434957545471`.
///
/// - The issuing region continues exactly after `sequence`: no gap, no repeat.
/// - Any other region (or the same region after its data was lost and its feed began
///   again under a new `epoch`) resumes from the first of its own changes the mark does not
///   cover: no gap, but changes the subscriber already saw may come again.
public struct ChangeCursor: Sendable, Equatable, CustomStringConvertible {
    /// The region whose feed `sequence` counts in.
    public var region: RegionID
    /// When that region's feed began (its wall clock then, in milliseconds); 0 before it
    /// recorded anything.
    public var epoch: UInt64
    /// The last sequence of the region's feed the subscriber has seen the table's changes through.
    public var sequence: UInt64
    /// What the subscriber has provably seen, for a resume in another region.
    public var mark: ResolvedMark?

    /// The longest cursor text accepted, in bytes.
    public static let textBytesMax = 200

    public init(region: RegionID, epoch: UInt64, sequence: UInt64, mark: ResolvedMark?) {
        self.region = region
        self.epoch = epoch
        self.sequence = sequence
        self.mark = mark
    }

    public var description: String {
        let base = "\(region).\(epoch).\(sequence)"
        switch mark {
        case .timestamp(let timestamp)?: return base + ".t\(timestamp.rawValue)"
        case .raftIndex(let index)?: return base + ".r\(index)"
        case nil: return base
        }
    }

    /// Parses the text form; throws `invalid_cursor` for anything else.
    public init(parsing text: String) throws(MeridianError) {
        let invalid = MeridianError.invalid("invalid_cursor",
            "'\(text.prefix(80))' is not a change-feed cursor; send the 'cursor' of an event or page, or since=now")
        guard text.utf8.count <= Self.textBytesMax else { throw invalid }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3 || parts.count == 4,
              let region = try? RegionID(parts[0]), let epoch = UInt64(parts[1]), let sequence = UInt64(parts[2]) else { throw invalid }
        var mark: ResolvedMark? = nil
        if parts.count == 4 {
            let marker = parts[3]
            guard let number = UInt64(marker.dropFirst()) else { throw invalid }
            switch marker.first {
            case "t": mark = .timestamp(HLCTimestamp(rawValue: number))
            case "r": mark = .raftIndex(number)
            default: throw invalid
            }
        }
        self.init(region: region, epoch: epoch, sequence: sequence, mark: mark)
    }
}

/// Where a page of changes starts.
public enum ChangeStart: Sendable, Equatable {
    /// After every change the region has applied so far: only later changes.
    case latest
    /// After a cursor this or another region issued.
    case cursor(ChangeCursor)
}

/// One page of a table's change feed, as a region serves it.
public struct ChangePage: Sendable, Equatable {
    /// The table's changes, in the region's apply order.
    public var changes: [ChangeRecord]
    /// Resumes after the page.
    public var cursor: ChangeCursor
    /// The mark the cursor of each change of the page carries: what the subscriber had
    /// provably seen before the page (the end cursor may carry a newer one).
    public var changesMark: ResolvedMark?
    /// Whether the page holds every change the region had applied when it was read (the
    /// subscriber waits for more rather than asking at once).
    public var caughtUp: Bool
    /// Whether the page starts from the mark of another region's cursor (or of this region's
    /// earlier feed): it may repeat changes the subscriber already saw there.
    public var resumedFromMark: Bool

    public init(changes: [ChangeRecord], cursor: ChangeCursor, changesMark: ResolvedMark?, caughtUp: Bool, resumedFromMark: Bool) {
        self.changes = changes
        self.cursor = cursor
        self.changesMark = changesMark
        self.caughtUp = caughtUp
        self.resumedFromMark = resumedFromMark
    }

    /// The cursor that resumes right after `change`, one of the page's.
    public func cursor(after change: ChangeRecord) -> ChangeCursor {
        ChangeCursor(region: cursor.region, epoch: cursor.epoch, sequence: change.sequence, mark: changesMark)
    }
}

/// The change feed's limits (docs/changefeed.md).
public struct ChangeFeedSettings: Sendable, Equatable {
    /// The most changes kept; older ones are truncated in the background.
    public var retainedChangesMax = 1_000_000
    /// The longest a change is kept, in milliseconds.
    public var retainedMillisecondsMax: UInt64 = 7 * 24 * 3_600_000
    /// The most changes one step truncates (a long backlog goes over several ticks).
    public var truncatedPerStepMax = 10_000
    /// The most changes one page holds.
    public static let pageChangesMax = 1_000
    /// The most bytes of keys and values one page holds (a page always holds at least one change).
    public static let pageBytesMax = 4 << 20

    public init() {}

    /// Stops on settings no feed can keep.
    public func validate() {
        precondition(retainedChangesMax >= Self.pageChangesMax, "a feed retains at least one page of changes")
        precondition(retainedMillisecondsMax >= 1_000, "a feed retains changes for at least a second")
        precondition(truncatedPerStepMax >= 1, "retention truncates at least one change per step")
    }
}
