import MeridianCore
import MeridianStorage

/// Pages of items and ledger rows, bounded in bytes as well as in rows.
///
/// A row may weigh up to a record's limit (3 MiB), so a page of 1,000 rows could hold
/// gigabytes; every page a request reads is cut at `Limits.pageBytesMax` instead, and
/// read from storage a few rows at a time so that no more than the page and one read's
/// rows are ever held.
extension Step {
    /// The rows of a page's first storage read; later reads take as many rows as the bytes
    /// left allow at the page's average row size, up to `pageReadRowsMax`.
    static let pageReadRowsFirst = 4
    /// The most rows one storage read of a page takes.
    static let pageReadRowsMax = 256

    /// At most `limit` rows, read through `read(after, count)` (the `count` rows after
    /// `after`, or from the page's start when `after` is nil), ending early once their
    /// bytes reach `Limits.pageBytesMax`, so that a page holds at most that plus one row.
    /// `more` is whether rows may follow the page (after a page cut by bytes the next page
    /// may be empty).
    static func boundedPage<Row>(limit: Int, bytes bytesOf: (Row) -> Int, read: (_ after: Row?, _ count: Int) throws -> [Row]) throws -> (rows: [Row], more: Bool) {
        precondition(limit >= 0, "a page limit is never negative")
        var rows: [Row] = []
        var bytes = 0
        var chunk = pageReadRowsFirst
        while true {
            let wanted = min(chunk, limit - rows.count)
            let batch = try read(rows.last, wanted)
            precondition(batch.count <= wanted, "a page read returns at most the rows asked for")
            for row in batch {
                rows.append(row)
                bytes += bytesOf(row)
                if bytes >= Limits.pageBytesMax { return (rows, true) }
            }
            if batch.count < wanted { return (rows, false) }
            if rows.count == limit { return (rows, try !read(rows.last, 1).isEmpty) }
            let averageBytes = max(1, bytes / rows.count)
            chunk = max(1, min(pageReadRowsMax, (Limits.pageBytesMax - bytes) / averageBytes + 1))
        }
    }

    /// What an item weighs in a page: its key and the values it carries (its visible value,
    /// its fields and its siblings), in canonical JSON.
    static func pageBytes(of item: StoredItem) -> Int {
        item.key.bytes.count + (item.record.map(Region.estimatedBytes) ?? item.value?.canonicalBytes.count ?? 0)
    }
}
