import MeridianCodec
import MeridianCore
import MeridianRegion
import MeridianReplication

/// The first frame each side of a peer connection sends: who it is and what it speaks.
///
/// The layout never changes between protocol versions, so that any two builds can tell
/// each other which versions they speak: protocolVersion `u16`, clusterID `string`
/// (1 to `Wire.clusterIDBytesMax` bytes), region `string`.
public struct Hello: Hashable, Sendable {
    /// The protocol version the sender speaks.
    public var protocolVersion: UInt16
    /// The cluster the sender belongs to; a connection between different clusters is refused.
    public var clusterID: String
    /// The sender's region.
    public var region: RegionID

    /// Makes a `Hello`; the version defaults to the one this build speaks.
    public init(protocolVersion: UInt16 = Wire.protocolVersion, clusterID: String, region: RegionID) {
        self.protocolVersion = protocolVersion
        self.clusterID = clusterID
        self.region = region
    }
}

extension Hello {
    func write(to writer: inout ByteWriter) {
        writer.writeUInt16(protocolVersion)
        writer.writeString(clusterID)
        writer.write(region)
    }

    /// Decodes a `Hello`; a version this build does not speak is `unsupportedVersion`.
    static func decode(from reader: inout ByteReader) throws(WireError) -> Hello {
        let version: UInt16
        do { version = try reader.readUInt16() } catch { throw WireError(error) }
        guard (Wire.protocolVersionMin...Wire.protocolVersion).contains(version) else {
            throw WireError.unsupportedVersion.detailed(
                "the peer speaks protocol version \(version); this build speaks \(Wire.protocolVersionMin)...\(Wire.protocolVersion)")
        }
        do throws(CodecError) {
            let clusterID = try reader.readString()
            guard (1...Wire.clusterIDBytesMax).contains(clusterID.utf8.count) else {
                throw CodecError.invalidPayload.detailed("a cluster id must be 1 to \(Wire.clusterIDBytesMax) bytes")
            }
            return Hello(protocolVersion: version, clusterID: clusterID, region: try reader.read(RegionID.self))
        } catch {
            throw WireError(error)
        }
    }
}

/// One unit of the peer protocol: the handshake or a replication message.
public enum WireFrame: Hashable, Sendable {
    /// The handshake: the first frame in each direction, and only then.
    case hello(Hello)
    /// A replication message, after the handshake.
    case message(PeerMessage)
}

/// The kind byte after a frame's length prefix.
enum FrameKind: UInt8 {
    case hello = 1
    case catchUp = 2
    case entries = 3
    case ack = 4
    case heartbeat = 5
    case snapshot = 6
    case copyRequest = 7
    case raft = 8
}

/// Encodes one frame: a 4-byte big-endian length of the rest, the kind byte, the payload.
///
/// The result can be longer than `Wire.frameBytesMax` when a message is too large (for
/// instance an `entries` batch of several large items); a decoder refuses such a frame,
/// so callers check `count` before sending and split batches that do not fit.
public func encode(_ frame: WireFrame) -> [UInt8] {
    var writer = ByteWriter()
    writer.writeUInt32(0)
    switch frame {
    case .hello(let hello):
        writer.writeUInt8(FrameKind.hello.rawValue)
        hello.write(to: &writer)
    case .message(.replication(.catchUp(let positions))):
        writer.writeUInt8(FrameKind.catchUp.rawValue)
        writer.write(positions)
    case .message(.replication(.entries(let entries))):
        writer.writeUInt8(FrameKind.entries.rawValue)
        writer.writeArray(entries)
    case .message(.replication(.ack(let positions))):
        writer.writeUInt8(FrameKind.ack.rawValue)
        writer.write(positions)
    case .message(.replication(.heartbeat(let heartbeat))):
        writer.writeUInt8(FrameKind.heartbeat.rawValue)
        writer.write(heartbeat)
    case .message(.replication(.snapshot(let chunk))):
        writer.writeUInt8(FrameKind.snapshot.rawValue)
        writer.write(chunk)
    case .message(.replication(.copyRequest(let table))):
        writer.writeUInt8(FrameKind.copyRequest.rawValue)
        writer.write(table)
    case .message(.raft(let envelopes)):
        writer.writeUInt8(FrameKind.raft.rawValue)
        writer.writeArray(envelopes)
    }
    let length = writer.bytes.count - Wire.lengthPrefixBytes
    precondition(length <= UInt32.max, "a frame's length must fit its 4-byte prefix")
    writer.patchUInt32(UInt32(length), at: 0)
    return writer.bytes
}

extension WireFrame {
    /// Decodes a frame's kind and payload, which must be consumed exactly.
    static func decode(kind: UInt8, payload reader: inout ByteReader) throws(WireError) -> WireFrame {
        guard let frameKind = FrameKind(rawValue: kind) else {
            throw WireError.unknownKind.detailed("unknown frame kind \(kind)")
        }
        if frameKind == .hello {
            let hello = try Hello.decode(from: &reader)
            do { try reader.expectEnd() } catch { throw WireError(error) }
            return .hello(hello)
        }
        do {
            return try decodeMessage(frameKind, payload: &reader)
        } catch {
            throw WireError(error)
        }
    }

    /// Decodes a message frame's payload, which must be consumed exactly.
    private static func decodeMessage(_ frameKind: FrameKind, payload reader: inout ByteReader) throws(CodecError) -> WireFrame {
        let frame: WireFrame
        switch frameKind {
        case .hello: preconditionFailure("a hello is decoded on its own")
        case .catchUp: frame = .message(.replication(.catchUp(try reader.read(Positions.self))))
        case .entries: frame = .message(.replication(.entries(try reader.readArray(of: LogEntry.self, elementBytesMin: 12))))
        case .ack: frame = .message(.replication(.ack(try reader.read(Positions.self))))
        case .heartbeat: frame = .message(.replication(.heartbeat(try reader.read(Heartbeat.self))))
        case .snapshot: frame = .message(.replication(.snapshot(try reader.read(SnapshotChunk.self))))
        case .copyRequest: frame = .message(.replication(.copyRequest(try reader.read(TableName.self))))
        case .raft: frame = .message(.raft(try reader.readArray(of: RaftEnvelope.self, elementBytesMin: 16)))
        }
        try reader.expectEnd()
        return frame
    }
}
