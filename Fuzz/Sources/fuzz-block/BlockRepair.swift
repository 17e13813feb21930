// Repairs of a mutated block header (layout in docs/FORMAT.md, "Message blocks"): its two
// checksums, and its lengths, which otherwise would make almost every change of body size fail.

import ParleyEngine

enum BlockRepair {
    static func checksums(_ header: inout [UInt8], body: [UInt8]) {
        guard header.count >= 8 else { return }
        let bodyStart = header.count - 8
        store(CRC32C.checksum(body), &header, at: bodyStart)
        let headerCRC = header.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<(header.count - 4)])) }
        store(headerCRC, &header, at: header.count - 4)
    }

    static func store(_ value: UInt32, _ bytes: inout [UInt8], at offset: Int) {
        for index in 0..<4 { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> UInt32(8 * index)) }
    }

    /// The header with its raw length (raw codec) and stored length set to `bodyCount`; nil when
    /// the fields before them do not parse.
    static func lengths(_ header: [UInt8], bodyCount: Int) -> [UInt8]? {
        guard header.count >= 3 else { return nil }
        var offset = 3
        func skipVarint() -> Bool {
            for _ in 0..<10 {
                guard offset < header.count else { return false }
                let byte = header[offset]
                offset += 1
                if byte & 0x80 == 0 { return true }
            }
            return false
        }
        // count, first (created_at, id), last (created_at, id), token sum
        for _ in 0..<6 { guard skipVarint() else { return nil } }
        let rawStart = offset
        guard skipVarint() else { return nil }
        let rawEnd = offset
        guard skipVarint() else { return nil }
        let storedEnd = offset
        let raw = header[1] == 0 ? varint(UInt64(bodyCount)) : Array(header[rawStart..<rawEnd])
        let tail = offset + 8 <= header.count ? Array(header[storedEnd...]) : [UInt8](repeating: 0, count: 8)
        return Array(header[0..<rawStart]) + raw + varint(UInt64(bodyCount)) + tail
    }

    static func varint(_ value: UInt64) -> [UInt8] {
        var out: [UInt8] = []
        var rest = value
        while rest >= 0x80 {
            out.append(UInt8(rest & 0x7F) | 0x80)
            rest >>= 7
        }
        out.append(UInt8(rest))
        return out
    }
}
