import MeridianCodec

/// Cuts a byte stream into frames and decodes them, whatever the chunking of the input.
///
/// Use: after each `append`, call `nextFrame()` until it returns `nil` (more bytes
/// needed) or throws. An error is final: the stream cannot be resynchronised, so every
/// later call throws it again and the connection should be closed.
///
/// ```swift
/// var decoder = FrameDecoder()
/// decoder.append(chunk)
/// while let frame = try decoder.nextFrame() { handle(frame) }
/// ```
///
/// Memory: a frame is refused from its length prefix alone when it is longer than
/// `Wire.frameBytesMax`, so the decoder buffers at most one frame plus the latest chunk.
public struct FrameDecoder: Sendable {
    /// Bytes received and not yet consumed start at `readIndex`.
    private var buffer: [UInt8] = []
    private var readIndex = 0
    private var failure: WireError? = nil

    /// Compaction threshold: consumed bytes are dropped once they exceed this and half the buffer.
    private static let compactionBytesMin = 64 * 1024

    /// Makes a decoder for one connection's incoming stream.
    public init() {}

    /// The bytes received and not yet returned as frames.
    public var bufferedBytes: Int { buffer.count - readIndex }

    /// Adds received bytes (ignored once the decoder has failed).
    public mutating func append(_ bytes: some Collection<UInt8>) {
        guard failure == nil else { return }
        buffer.append(contentsOf: bytes)
    }

    /// The next complete frame, or `nil` when more bytes are needed.
    ///
    /// - Throws: `WireError`: `frameTooLarge` as soon as a length prefix exceeds the limit;
    ///   `unknownKind`, `truncated` (the payload ends inside a value), `invalidPayload`
    ///   (malformed or with bytes left over) or `unsupportedVersion` for a complete frame.
    public mutating func nextFrame() throws(WireError) -> WireFrame? {
        if let failure { throw failure }
        do {
            return try decodeNext()
        } catch {
            failure = error
            buffer = []
            readIndex = 0
            throw error
        }
    }

    private mutating func decodeNext() throws(WireError) -> WireFrame? {
        guard bufferedBytes >= Wire.lengthPrefixBytes else { return nil }
        var header = ByteReader(buffer, range: readIndex..<(readIndex + Wire.lengthPrefixBytes))
        let length: Int
        do { length = Int(try header.readUInt32()) } catch { throw WireError(error) }
        guard length <= Wire.frameBytesMax - Wire.lengthPrefixBytes else {
            throw WireError.frameTooLarge.detailed(
                "a frame declares \(length + Wire.lengthPrefixBytes) bytes; the limit is \(Wire.frameBytesMax) bytes")
        }
        guard length >= 1 else { throw WireError.invalidPayload.detailed("a frame has no kind byte") }
        guard bufferedBytes >= Wire.lengthPrefixBytes + length else { return nil }
        let kindIndex = readIndex + Wire.lengthPrefixBytes
        let frameEnd = kindIndex + length
        var payload = ByteReader(buffer, range: (kindIndex + 1)..<frameEnd)
        let frame = try WireFrame.decode(kind: buffer[kindIndex], payload: &payload)
        readIndex = frameEnd
        compact()
        return frame
    }

    private mutating func compact() {
        if readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.count <= Self.compactionBytesMin)
            readIndex = 0
        } else if readIndex >= Self.compactionBytesMin && readIndex * 2 >= buffer.count {
            buffer.removeFirst(readIndex)
            readIndex = 0
        }
    }
}
