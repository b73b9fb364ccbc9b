// MeridianWire owns the bytes that regions exchange: a versioned, length-prefixed binary
// frame for the handshake (`Hello`) and for every `PeerMessage`, its encoder, and a
// streaming decoder that treats every input byte as hostile.
//
// It must never do I/O, read a clock, draw from a global random source or use the
// concurrency runtime: MeridianNode moves the bytes; this module only turns values into
// bytes and bytes back into validated values.
//
// Frame layout (every integer big-endian):
//
//     +----------------------+------------+-----------------------------+
//     | length: UInt32       | kind: UInt8 | payload: length - 1 bytes  |
//     +----------------------+------------+-----------------------------+
//
// `length` counts the kind byte and the payload, not itself. Kinds: 1 hello, 2 catchUp,
// 3 entries, 4 ack, 5 heartbeat, 6 snapshot, 7 copy request, 8 raft (protocol version 2). The payload layouts are written next to each
// type's codec in `WireCodable+Core.swift`, `WireCodable+Replication.swift` and `WireCodable+Raft.swift`.
//
// Decoding rules: a frame longer than `Wire.frameBytesMax` is refused from its length
// prefix alone; a payload must decode exactly (no bytes missing, none left over); every
// name goes through its validating initializer; every count is bounded by the bytes left;
// JSON nesting is bounded by `Limits.jsonDepthMax`; and the encoding is canonical (maps in
// ascending key order, integers in their shortest form), so every accepted frame has
// exactly one byte representation.

import MeridianCore

/// The wire format's constants.
public enum Wire {
    /// The largest frame, in bytes, counting the length prefix: room for a 1 MiB value and
    /// its record, catalog record and framing.
    public static let frameBytesMax = 4 << 20
    /// The bytes of the length prefix that starts every frame.
    public static let lengthPrefixBytes = 4
    /// The protocol version this build speaks. Version 2 added Raft frames (kind 8);
    /// version 3 carries Raft commands and snapshots in the checksummed binary layout of
    /// `StoredRecord` instead of canonical JSON.
    public static let protocolVersion: UInt16 = 3
    /// The oldest protocol version this build accepts from a peer: a version-2 peer could
    /// not read the Raft commands this build proposes (a group whose members cannot all read
    /// its log would diverge), so it is refused at the handshake.
    public static let protocolVersionMin: UInt16 = 3
    /// The longest cluster id in a `Hello`, in UTF-8 bytes.
    public static let clusterIDBytesMax = 255
}
