// The write-ahead log's header and record framing (docs/FORMAT.md, "The write-ahead log").
//
// Header (first 4 KiB of the log; the rest of that block is zero):
//   magic "PARLEYWL" | version u32 | reserved u32 | database identity (16) | salt u64 |
//   base sequence u64 (the record after it is the first this log may hold) | CRC-32C u32 of all before
// Record: payload length u32 | CRC-32C u32 | sequence u64 | payload
//   Version 2 (written today): the CRC covers the previous record's CRC (the header's CRC for the
//   first record), the salt, the sequence, the length and the payload. The chain is what lets a
//   recovered log be kept and appended to: a record written after a torn tail changes the CRC the
//   next stale record on disk was chained to, so that stale record can never join the run.
//   Version 1 (read once, for recovery): the same without the previous CRC; such a log is never
//   appended to (open writes its records into the trees and resets the log).

enum LogFormat {
    static let magic: Bytes = Array("PARLEYWL".utf8)
    /// The version this build writes.
    static let version: UInt32 = 2
    /// The unchained version an older build wrote, read for recovery only.
    static let unchainedVersion: UInt32 = 1
    static let headerSize = 4096
    static let headerFieldsSize = 52
    static let recordHeaderSize = 16
    /// The largest payload a record may have (a transaction's operations).
    static let maximumPayload = (1 << 30) + (1 << 20)

    struct Header: Equatable {
        var identity: Bytes
        var salt: UInt64
        var baseSequence: UInt64
        var version: UInt32 = LogFormat.version

        init(identity: Bytes, salt: UInt64, baseSequence: UInt64, version: UInt32 = LogFormat.version) {
            self.identity = identity
            self.salt = salt
            self.baseSequence = baseSequence
            self.version = version
        }

        func encode() -> Bytes {
            var out = Bytes()
            out.reserveCapacity(LogFormat.headerSize)
            out.append(contentsOf: LogFormat.magic)
            out.appendLE(version)
            out.appendLE(UInt32(0))
            out.append(contentsOf: identity.prefix(16))
            out.appendLE(salt)
            out.appendLE(baseSequence)
            out.appendLE(CRC32C.checksum(out))
            out.append(contentsOf: Bytes(repeating: 0, count: LogFormat.headerSize - out.count))
            return out
        }

        /// The CRC of the header's fields: what the first record's CRC is chained to.
        var checksum: UInt32 { CRC32C.checksum(Array(encode().prefix(48))) }

        /// Decodes a header of either version, or nil when it is torn, foreign, of an unknown
        /// version or not a log header.
        static func decode(_ bytes: UnsafeRawBufferPointer, identity: Bytes) -> Header? {
            guard bytes.count >= LogFormat.headerFieldsSize else { return nil }
            let version = bytes.loadLE(UInt32.self, at: 8)
            guard Array(bytes[0..<8]) == LogFormat.magic,
                  version == LogFormat.version || version == LogFormat.unchainedVersion else { return nil }
            let stored = bytes.loadLE(UInt32.self, at: 48)
            guard stored == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<48])) else { return nil }
            let header = Header(
                identity: Array(bytes[16..<32]), salt: bytes.loadLE(UInt64.self, at: 32),
                baseSequence: bytes.loadLE(UInt64.self, at: 40), version: version)
            return header.identity == identity ? header : nil
        }
    }

    /// A record's CRC. `previous` is the chain (the previous record's CRC, or the header's), nil for
    /// a version-1 record, which is not chained.
    static func recordChecksum(previous: UInt32?, salt: UInt64, sequence: UInt64, payload: UnsafeRawBufferPointer) -> UInt32 {
        // 24 bytes on the stack: this runs once per record at every commit and every recovery.
        var prefix: (UInt64, UInt64, UInt64) = (0, 0, 0)
        return withUnsafeMutableBytes(of: &prefix) { raw in
            var at = 0
            if let previous {
                raw.storeBytes(of: previous.littleEndian, toByteOffset: 0, as: UInt32.self)
                at = 4
            }
            raw.storeBytes(of: salt.littleEndian, toByteOffset: at, as: UInt64.self)
            raw.storeBytes(of: sequence.littleEndian, toByteOffset: at + 8, as: UInt64.self)
            raw.storeBytes(of: UInt32(truncatingIfNeeded: payload.count).littleEndian, toByteOffset: at + 16, as: UInt32.self)
            let head = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<(at + 20)]))
            return CRC32C.checksum(payload, continuing: head)
        }
    }

    /// Bytes of a record's frame before its payload: length, CRC and sequence number.
    static let recordFrameSize = 16

    /// Fills in the frame of `record`, whose first `recordFrameSize` bytes were left for it and
    /// whose payload follows (`LogOperation.encode(_:leadingRoom:)`), and returns its CRC.
    static func frameRecord(_ record: inout Bytes, sequence: UInt64, salt: UInt64, previous: UInt32) -> UInt32 {
        precondition(record.count >= recordFrameSize, "a record starts with room for its frame")
        let payloadCount = record.count - recordFrameSize
        return record.withUnsafeMutableBytes { raw in
            let payload = UnsafeRawBufferPointer(rebasing: raw[recordFrameSize...])
            let checksum = recordChecksum(previous: previous, salt: salt, sequence: sequence, payload: payload)
            raw.storeBytes(of: UInt32(truncatingIfNeeded: payloadCount).littleEndian, toByteOffset: 0, as: UInt32.self)
            raw.storeBytes(of: checksum.littleEndian, toByteOffset: 4, as: UInt32.self)
            raw.storeBytes(of: sequence.littleEndian, toByteOffset: 8, as: UInt64.self)
            return checksum
        }
    }

    /// Appends one framed record to `out` and returns its CRC (the chain for the next record).
    /// `previous` nil writes an unchained, version-1 record (tests of the upgrade path only).
    @discardableResult
    static func appendRecord(sequence: UInt64, salt: UInt64, previous: UInt32?, payload: Bytes, to out: inout Bytes) -> UInt32 {
        let checksum = payload.withUnsafeBytes { recordChecksum(previous: previous, salt: salt, sequence: sequence, payload: $0) }
        out.appendLE(UInt32(payload.count))
        out.appendLE(checksum)
        out.appendLE(sequence)
        out.append(contentsOf: payload)
        return checksum
    }

    /// A record read back from the log.
    struct Record: Equatable {
        var sequence: UInt64
        var operations: [LogOperation]
    }

    /// Where a record's payload lies in the scanned body, and the CRC its frame stores (what the
    /// next record's CRC is chained to, once this one is found valid).
    struct Span: Equatable {
        var sequence: UInt64
        var payload: Range<Int>
        var checksum: UInt32 = 0
    }

    /// The longest valid run of a log body: its records, its byte length, and the CRC of its last
    /// record (the header's when it is empty), which the next record appended must chain to.
    struct Run {
        var spans: [Span]
        var length: Int
        var chain: UInt32
    }

    /// Finds the longest valid run of records in `body` (the log after its header), starting at
    /// sequence `header.baseSequence + 1`: lengths in bounds, CRCs (chained in version 2) matching,
    /// sequences consecutive, payloads well formed. Allocates only the list of spans.
    static func scanRun(_ body: UnsafeRawBufferPointer, header: Header) -> Run {
        let frames = scanFrames(body, header: header)
        var check = RecordCheck(header: header)
        let valid = check.validPrefix(frames[...], of: body, after: header.checksum)
        return run(frames[..<valid], header: header)
    }

    /// The run of `spans`, frames of `header`'s log found valid from the first: its length and
    /// the CRC the next record must chain to.
    static func run(_ spans: ArraySlice<Span>, header: Header) -> Run {
        guard let last = spans.last else { return Run(spans: [], length: 0, chain: header.checksum) }
        return Run(spans: Array(spans), length: last.payload.upperBound, chain: last.checksum)
    }

    /// Checks records of one log whose frames `scanFrames` found: the CRC each stores (under the
    /// header's salt, chained in version 2) and the payload's form. Tree names found valid are
    /// remembered, since a log names few trees, over and over.
    struct RecordCheck {
        let salt: UInt64
        let chained: Bool
        private var names = LogOperation.ValidNames()

        init(header: Header) {
            salt = header.salt
            chained = header.version != LogFormat.unchainedVersion
        }

        /// Whether `span`'s stored CRC is its record's, chained to `previous` (the stored CRC of
        /// the record before it, or the header's).
        func checksumMatches(_ span: Span, of body: UnsafeRawBufferPointer, previous: UInt32) -> Bool {
            let payload = UnsafeRawBufferPointer(rebasing: body[span.payload])
            return recordChecksum(previous: chained ? previous : nil, salt: salt, sequence: span.sequence, payload: payload) == span.checksum
        }

        /// How many of `spans` are valid from the first, the first chained to `previous`.
        mutating func validPrefix(_ spans: ArraySlice<Span>, of body: UnsafeRawBufferPointer, after previous: UInt32) -> Int {
            var chain = previous
            var count = 0
            for span in spans {
                guard checksumMatches(span, of: body, previous: chain),
                      LogOperation.isWellFormed(UnsafeRawBufferPointer(rebasing: body[span.payload]), knownNames: &names) else { break }
                chain = span.checksum
                count += 1
            }
            return count
        }
    }

    /// `scanRun` with every record's operations decoded.
    static func scan(_ body: UnsafeRawBufferPointer, header: Header) -> (records: [Record], length: Int) {
        let run = scanRun(body, header: header)
        var records: [Record] = []
        for span in run.spans {
            // Well formed (checked by the scan), so the decoding succeeds.
            guard let operations = LogOperation.decode(UnsafeRawBufferPointer(rebasing: body[span.payload])) else { break }
            records.append(Record(sequence: span.sequence, operations: operations))
        }
        return (records, run.length)
    }
}
