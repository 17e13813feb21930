// Repairing checksums after a mutation. Almost every mutated byte of a page or a log record fails
// its CRC-32C, so without repair the fuzzer would only ever test the checksum check; with it, the
// page, tree, freelist and log parsers behind the check see arbitrary contents. The layouts are
// those of docs/FORMAT.md.

import ParleyEngine

public enum ChecksumRepair {
    static func loadLE32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[at + $1]) << UInt32(8 * $1) }
    }

    static func loadLE64(_ bytes: [UInt8], _ at: Int) -> UInt64 {
        (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[at + $1]) << UInt64(8 * $1) }
    }

    static func storeLE32(_ value: UInt32, _ bytes: inout [UInt8], _ at: Int) {
        for index in 0..<4 { bytes[at + index] = UInt8(truncatingIfNeeded: value >> UInt32(8 * index)) }
    }

    static func le(_ value: UInt64, count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: value >> UInt64(8 * $0)) }
    }

    static func crc(_ bytes: [UInt8], _ range: Range<Int>, continuing: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[range]), continuing: continuing) }
    }

    /// The page size page 0 records, when it is one the format allows; else 4 KiB.
    public static func pageSize(of database: [UInt8]) -> Int {
        guard database.count >= 32 else { return 4096 }
        let size = Int(loadLE32(database, 28))
        return (1024...65536).contains(size) && size & (size - 1) == 0 ? size : 4096
    }

    /// Gives every whole page of a database file a correct checksum (bytes 0–3: CRC-32C of the
    /// rest of the page).
    public static func repairPages(_ database: inout [UInt8]) {
        let size = pageSize(of: database)
        var start = 0
        while start + size <= database.count {
            storeLE32(crc(database, (start + 4)..<(start + size)), &database, start)
            start += size
        }
    }

    /// Gives the log header and every record reachable through the length fields a correct
    /// checksum, under the header's salt. Stops at an all-zero frame (the preallocated tail).
    public static func repairLog(_ log: inout [UInt8]) {
        guard log.count >= 52 else { return }
        storeLE32(crc(log, 0..<48), &log, 48)
        let salt = loadLE64(log, 32)
        var offset = 4096
        while offset + 16 <= log.count {
            let length = Int(loadLE32(log, offset))
            let sequence = loadLE64(log, offset + 8)
            if length == 0 && sequence == 0 && loadLE32(log, offset + 4) == 0 { return }
            guard length <= log.count - offset - 16 else { return }
            let prefix = le(salt, count: 8) + le(sequence, count: 8) + le(UInt64(length), count: 4)
            let checksum = crc(log, (offset + 16)..<(offset + 16 + length), continuing: CRC32C.checksum(prefix))
            storeLE32(checksum, &log, offset + 4)
            offset += 16 + length
        }
    }

    /// Writes `identity` into the log header (bytes 16–31) and repairs the header's checksum, so
    /// that a log taken from one database can be replayed against another.
    public static func adoptIdentity(_ identity: [UInt8], log: inout [UInt8]) {
        guard log.count >= 52, identity.count == 16 else { return }
        log.replaceSubrange(16..<32, with: identity)
        storeLE32(crc(log, 0..<48), &log, 48)
    }

    /// The database identity page 0 records (bytes 32–47), or nil.
    public static func identity(of database: [UInt8]) -> [UInt8]? {
        database.count >= 48 ? Array(database[32..<48]) : nil
    }

    /// The bytes of the log up to the end of its last record (the rest is preallocated zeros).
    public static func trimLog(_ log: [UInt8]) -> [UInt8] {
        guard log.count >= 4096 else { return log }
        var offset = 4096
        while offset + 16 <= log.count {
            let length = Int(loadLE32(log, offset))
            if length == 0 || length > log.count - offset - 16 { break }
            offset += 16 + length
        }
        return Array(log[0..<offset])
    }

    /// The database file cut to the pages the newest meta page counts (a closed database's file
    /// is longer: it grows in steps).
    public static func trimDatabase(_ database: [UInt8]) -> [UInt8] {
        let size = pageSize(of: database)
        guard database.count >= 3 * size else { return database }
        var best: (generation: UInt64, pages: UInt64)?
        for slot in 1...2 {
            let start = slot * size
            guard database[start + 4] == 2 else { continue }
            let generation = loadLE64(database, start + 16)
            if best.map({ generation > $0.generation }) ?? true { best = (generation, loadLE64(database, start + 24)) }
        }
        guard let pages = best?.pages, pages >= 3, pages <= UInt64(database.count / size) else { return database }
        return Array(database[0..<(Int(pages) * size)])
    }
}
