// Edits to a valid log, read from the fuzz input: overwrite, flip, truncate, insert, delete,
// duplicate a range (a record copied elsewhere), set a 32-bit field (a length). Offsets wrap
// around the log's current length, so every input edits something.

import FuzzSupport

enum LogEdits {
    static let maximumEdits = 16

    /// Applies edits from `input` to `log` until the input ends.
    static func apply(_ input: inout FuzzReader, to log: inout [UInt8]) {
        var applied = 0
        while !input.isAtEnd && applied < maximumEdits {
            applied += 1
            let kind = input.byte() % 7
            let offset = Int(input.varint() % UInt64(log.count + 1))
            switch kind {
            case 0:
                overwrite(&log, at: offset, with: input.take(Int(input.byte() % 16) + 1))
            case 1:
                let mask = input.byte()
                if offset < log.count { log[offset] ^= mask == 0 ? 1 : mask }
            case 2:
                log.removeSubrange(offset...)
            case 3:
                log.insert(contentsOf: input.take(Int(input.byte() % 16) + 1), at: offset)
            case 4:
                let count = Int(input.varint() % 4096) + 1
                log.removeSubrange(offset..<min(log.count, offset + count))
            case 5:
                let count = Int(input.varint() % 4096) + 1
                let destination = Int(input.varint() % UInt64(log.count + 1))
                overwrite(&log, at: destination, with: Array(log[offset..<min(log.count, offset + count)]))
            default:
                let value = input.u32()
                overwrite(&log, at: offset, with: (0..<4).map { UInt8(truncatingIfNeeded: value >> UInt32(8 * $0)) })
            }
        }
    }

    static func overwrite(_ log: inout [UInt8], at offset: Int, with bytes: [UInt8]) {
        let end = offset + bytes.count
        if end > log.count { log += [UInt8](repeating: 0, count: end - log.count) }
        log.replaceSubrange(offset..<end, with: bytes)
    }

    /// The offsets at which records start (for seeds).
    static func recordOffsets(_ log: [UInt8]) -> [Int] {
        var offsets: [Int] = []
        var offset = 4096
        while offset + 16 <= log.count {
            offsets.append(offset)
            let length = (0..<4).reduce(0) { $0 | Int(log[offset + $1]) << (8 * $1) }
            offset += 16 + length
        }
        return offsets
    }
}
