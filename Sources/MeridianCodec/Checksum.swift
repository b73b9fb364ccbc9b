/// CRC-32C (Castagnoli), the checksum of stored records.
///
/// Chosen over a cryptographic hash because it only has to catch accidents (a flipped bit,
/// a torn or misdirected page) and runs on every stored row; it detects every burst error
/// of up to 32 bits. Table-driven, one byte at a time.
public enum Checksum {
    /// The CRC-32C of `bytes`.
    public static func crc32c(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc = table[Int(UInt8(truncatingIfNeeded: crc) ^ byte)] ^ (crc >> 8)
        }
        return crc ^ 0xFFFF_FFFF
    }

    /// The reflected polynomial 0x1EDC6F41.
    private static let polynomial: UInt32 = 0x82F6_3B78

    private static let table: [UInt32] = (0..<256).map { index -> UInt32 in
        var crc = UInt32(index)
        for _ in 0..<8 {
            crc = crc & 1 == 1 ? (crc >> 1) ^ polynomial : crc >> 1
        }
        return crc
    }
}
