// MeridianCore owns Meridian's value types and the rules on them: region and table
// names, keys, JSON values, hybrid-logical-clock timestamps, table definitions,
// versions and limits.
//
// It must never do I/O, read a clock, draw from a global random source or use the
// concurrency runtime: every input arrives as an argument, so the simulator and the
// production node run the very same logic.

/// Limits that every layer enforces. Each name ends with its unit.
public enum Limits {
    /// The shortest key, in UTF-8 bytes.
    public static let keyBytesMin = 1
    /// The longest key, in UTF-8 bytes.
    public static let keyBytesMax = 1024
    /// The default largest item value, in bytes of its JSON encoding as sent by the client.
    public static let valueBytesMaxDefault = 1 << 20
    /// The largest value limit a node may be configured with, in bytes: an item's record
    /// (with its concurrent versions) must fit one peer frame.
    public static let valueBytesMaxMax = 2 << 20
    /// The largest replicated record of one item (value, fields and siblings), in bytes of
    /// canonical JSON: a write that would make it larger is refused with 413.
    public static let recordBytesMax = 3 << 20
    /// The largest table-definition body a client may send, in bytes.
    public static let definitionBytesMax = 64 * 1024
    /// The most items one scan page returns.
    public static let scanItemsMax = 1000
    /// The number of items a scan returns when the client names no limit.
    public static let scanItemsDefault = 100
    /// The bytes of keys and values (canonical JSON, siblings included) after which a page
    /// (a scan, the conflict or divergence ledger) ends early, with `next`: a page holds at
    /// most this plus one row.
    public static let pageBytesMax = 4 << 20
    /// The most regions one cluster may name.
    public static let regionsMax = 64
    /// The longest region name, in bytes.
    public static let regionNameBytesMax = 63
    /// The longest table name, in bytes (the pattern is `[a-z][a-z0-9_-]{0,62}`).
    public static let tableNameBytesMax = 63
    /// The deepest nesting of arrays and objects accepted in a JSON value.
    public static let jsonDepthMax = 64
    /// The default bound on how far ahead of the local wall clock a remote timestamp may be, in milliseconds.
    public static let clockSkewMillisecondsMaxDefault: UInt64 = 500
}
