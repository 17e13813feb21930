// The write-ahead log's header and record framing (docs/FORMAT.md, "The write-ahead log").
//
// Header (first 4 KiB of the log; the rest of that block is zero):
//   magic "PARLEYWL" | version u32 | reserved u32 | database identity (16) | salt u64 |
//   base sequence u64 (the record after it is the first this log may hold) | CRC-32C u32 of all before
// Record: payload length u32 | CRC-32C u32 | sequence u64 | payload
//   The CRC covers the salt, the sequence, the length and the payload, so a record left from before
//   the last reset (another salt), a torn record, or one from another database fails it.

enum LogFormat {
    static let magic: Bytes = Array("PARLEYWL".utf8)
    static let version: UInt32 = 1
    static let headerSize = 4096
    static let headerFieldsSize = 52
    static let recordHeaderSize = 16
    /// The largest payload a record may have (a transaction's operations).
    static let maximumPayload = (1 << 30) + (1 << 20)

    struct Header: Equatable {
        var identity: Bytes
        var salt: UInt64
        var baseSequence: UInt64

        func encode() -> Bytes {
            var out = Bytes()
            out.reserveCapacity(LogFormat.headerSize)
            out.append(contentsOf: LogFormat.magic)
            out.appendLE(LogFormat.version)
            out.appendLE(UInt32(0))
            out.append(contentsOf: identity.prefix(16))
            out.appendLE(salt)
            out.appendLE(baseSequence)
            out.appendLE(CRC32C.checksum(out))
            out.append(contentsOf: Bytes(repeating: 0, count: LogFormat.headerSize - out.count))
            return out
        }

        /// Decodes a header, or nil when it is torn, foreign or not a log header.
        static func decode(_ bytes: UnsafeRawBufferPointer, identity: Bytes) -> Header? {
            guard bytes.count >= LogFormat.headerFieldsSize else { return nil }
            guard Array(bytes[0..<8]) == LogFormat.magic,
                  bytes.loadLE(UInt32.self, at: 8) == LogFormat.version else { return nil }
            let stored = bytes.loadLE(UInt32.self, at: 48)
            guard stored == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<48])) else { return nil }
            let header = Header(
                identity: Array(bytes[16..<32]), salt: bytes.loadLE(UInt64.self, at: 32),
                baseSequence: bytes.loadLE(UInt64.self, at: 40))
            return header.identity == identity ? header : nil
        }
    }

    static func recordChecksum(salt: UInt64, sequence: UInt64, payload: UnsafeRawBufferPointer) -> UInt32 {
        var prefix = Bytes()
        prefix.reserveCapacity(20)
        prefix.appendLE(salt)
        prefix.appendLE(sequence)
        prefix.appendLE(UInt32(payload.count))
        return CRC32C.checksum(payload, continuing: CRC32C.checksum(prefix))
    }

    /// Appends one framed record to `out`.
    static func appendRecord(sequence: UInt64, salt: UInt64, payload: Bytes, to out: inout Bytes) {
        let checksum = payload.withUnsafeBytes { recordChecksum(salt: salt, sequence: sequence, payload: $0) }
        out.appendLE(UInt32(payload.count))
        out.appendLE(checksum)
        out.appendLE(sequence)
        out.append(contentsOf: payload)
    }

    /// A record read back from the log.
    struct Record: Equatable {
        var sequence: UInt64
        var operations: [LogOperation]
    }

    /// Reads the longest valid run of records from `body` (the log after its header), starting at
    /// sequence `header.baseSequence + 1`. Returns the records and the byte length of the run.
    static func scan(_ body: UnsafeRawBufferPointer, header: Header) -> (records: [Record], length: Int) {
        var records: [Record] = []
        var offset = 0
        var expected = header.baseSequence &+ 1
        while body.count - offset >= recordHeaderSize {
            let length = Int(body.loadLE(UInt32.self, at: offset))
            let checksum = body.loadLE(UInt32.self, at: offset + 4)
            let sequence = body.loadLE(UInt64.self, at: offset + 8)
            guard length <= maximumPayload, length <= body.count - offset - recordHeaderSize, sequence == expected else { break }
            let payload = UnsafeRawBufferPointer(rebasing: body[(offset + recordHeaderSize)..<(offset + recordHeaderSize + length)])
            guard recordChecksum(salt: header.salt, sequence: sequence, payload: payload) == checksum,
                  let operations = LogOperation.decode(payload) else { break }
            records.append(Record(sequence: sequence, operations: operations))
            offset += recordHeaderSize + length
            expected &+= 1
        }
        return (records, offset)
    }
}
