// MeridianCodec owns Meridian's one binary encoding: the canonical codec of every value
// that crosses a wire or reaches a disk (`ByteWriter`, `ByteReader`, `CanonicalCodable`
// and the layouts of MeridianCore's types), and the envelope of a stored record
// (`StoredRecord`: a format tag, a format version, the payload, a CRC-32C). MeridianWire
// frames these values for peers; MeridianSQLite and the region's Raft persistence store
// them. Each stored format is versioned, and rows written by earlier builds in their own
// layouts still read.
//
// It must never do I/O, read a clock, draw from a global random source or use the
// concurrency runtime; every decoder treats its input as hostile (bounded counts, exact
// lengths, validated names), whether it came from a peer or from a disk.
