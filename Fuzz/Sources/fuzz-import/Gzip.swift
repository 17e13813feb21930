// A minimal gzip writer for seeds (RFC 1952 around RFC 1951 "stored" blocks, no compression):
// enough for the importer's inflater to recognise and read, without linking zlib here.

enum Gzip {
    static func stored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 255]
        var offset = 0
        repeat {
            let count = min(65_535, data.count - offset)
            let final: UInt8 = offset + count == data.count ? 1 : 0
            out.append(final)
            out += le(UInt32(count), 2) + le(UInt32(~UInt16(count)), 2)
            out += data[offset..<(offset + count)]
            offset += count
        } while offset < data.count
        out += le(crc32(data), 4) + le(UInt32(truncatingIfNeeded: data.count), 4)
        return out
    }

    static func le(_ value: UInt32, _ count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: value >> UInt32(8 * $0)) }
    }

    /// CRC-32 (IEEE, reflected polynomial 0xEDB88320), bit by bit: seeds are small.
    static func crc32(_ data: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in data {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }
}
