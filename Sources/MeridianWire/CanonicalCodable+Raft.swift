// The layout of the region's Raft envelope (version 2), in the notation of
// `CanonicalCodable+Core.swift` in MeridianCodec.

import MeridianCodec
import MeridianCore
import MeridianRaft
import MeridianRegion

/// table `string`, incarnation `u64`, message.
extension RaftEnvelope: CanonicalCodable {
    public func write(to writer: inout ByteWriter) {
        writer.write(table)
        writer.write(incarnation)
        writer.write(message)
    }

    public init(from reader: inout ByteReader) throws(CodecError) {
        self.init(table: try reader.read(TableName.self), incarnation: try reader.read(HLCTimestamp.self), message: try reader.read(RaftMessage.self))
    }
}
