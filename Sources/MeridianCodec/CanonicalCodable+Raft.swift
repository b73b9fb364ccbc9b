// Canonical layouts of MeridianRaft's types (version 2), in the notation of
// `CanonicalCodable+Core.swift`. Node ids are region names and are validated as such.

import MeridianCore
import MeridianRaft

/// A region name used as a Raft node id.
private func readNodeID(_ reader: inout ByteReader) throws(CodecError) -> RaftNodeID {
    try reader.read(RegionID.self).name
}

/// term `var`, index `var`, kind `u8`, data `var` count + bytes.
extension RaftEntry: CanonicalCodable {
    public func write(to writer: inout ByteWriter) {
        writer.writeVarUInt(term)
        writer.writeVarUInt(index)
        writer.writeUInt8(kind.rawValue)
        writer.writeBytes(data)
    }

    public init(from reader: inout ByteReader) throws(CodecError) {
        let term = try reader.readVarUInt()
        let index = try reader.readVarUInt()
        let rawKind = try reader.readUInt8()
        guard let kind = Kind(rawValue: rawKind) else { throw CodecError.invalidPayload.detailed("unknown Raft entry kind \(rawKind)") }
        self.init(term: term, index: index, kind: kind, data: Array(try reader.readBytes()))
    }
}

/// index `var`, term `var`, `array(string)` voters, data `var` count + bytes.
extension RaftSnapshot: CanonicalCodable {
    public func write(to writer: inout ByteWriter) {
        writer.writeVarUInt(index)
        writer.writeVarUInt(term)
        writer.writeCount(voters.count)
        for voter in voters { writer.writeString(voter) }
        writer.writeBytes(data)
    }

    public init(from reader: inout ByteReader) throws(CodecError) {
        let index = try reader.readVarUInt()
        let term = try reader.readVarUInt()
        let count = try reader.readCount(elementBytesMin: 2)
        var voters: [RaftNodeID] = []
        for _ in 0..<count { voters.append(try readNodeID(&reader)) }
        self.init(index: index, term: term, voters: voters, data: Array(try reader.readBytes()))
    }
}

/// kind `u8`, from `string`, to `string`, term, logTerm, index `var`, `array(entry)`,
/// commit `var`, reject `u8`, rejectHint `var`, `opt(snapshot)`, context `var` count + bytes.
extension RaftMessage: CanonicalCodable {
    public func write(to writer: inout ByteWriter) {
        writer.writeUInt8(kind.rawValue)
        writer.writeString(from)
        writer.writeString(to)
        writer.writeVarUInt(term)
        writer.writeVarUInt(logTerm)
        writer.writeVarUInt(index)
        writer.writeArray(entries)
        writer.writeVarUInt(commit)
        writer.writeBool(reject)
        writer.writeVarUInt(rejectHint)
        writer.writeOptional(snapshot)
        writer.writeBytes(context)
    }

    public init(from reader: inout ByteReader) throws(CodecError) {
        let rawKind = try reader.readUInt8()
        guard let kind = RaftMessageKind(rawValue: rawKind) else { throw CodecError.invalidPayload.detailed("unknown Raft message kind \(rawKind)") }
        let from = try readNodeID(&reader)
        let to = try readNodeID(&reader)
        let term = try reader.readVarUInt()
        let logTerm = try reader.readVarUInt()
        let index = try reader.readVarUInt()
        let entries = try reader.readArray(of: RaftEntry.self, elementBytesMin: 4)
        let commit = try reader.readVarUInt()
        let reject = try reader.readBool()
        let rejectHint = try reader.readVarUInt()
        let snapshot = try reader.readOptional(RaftSnapshot.self)
        let context = Array(try reader.readBytes())
        self.init(kind: kind, from: from, to: to, term: term, logTerm: logTerm, index: index, entries: entries,
                  commit: commit, reject: reject, rejectHint: rejectHint, snapshot: snapshot, context: context)
    }
}

