// Checksums of pages, blocks and log records: CRC-32C, in hardware where the CPU has it.
import CParleySupport

/// CRC-32C of a byte range.
public enum CRC32C {
    @inline(__always)
    public static func checksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return crc }
        return parley_crc32c(crc, base, bytes.count)
    }

    public static func checksum(_ bytes: Bytes, continuing crc: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0, continuing: crc) }
    }
}
