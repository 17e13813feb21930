import XCTest
@testable import ParleyEngine

final class LogFormatTests: XCTestCase {
    let identity = Bytes(repeating: 0xAB, count: 16)

    func randomOperations(_ random: inout SeededRandom) -> [LogOperation] {
        (0..<(1 + Int(random.next() % 5))).map { _ in
            switch random.next() % 5 {
            case 0: return .createTree("t\(random.next() % 3)")
            case 1: return .dropTree("t\(random.next() % 3)")
            case 2 where random.next() % 2 == 0:
                return .insert(tree: "t", key: random.bytes(Int(random.next() % 40)), value: random.bytes(Int(random.next() % 300)))
            case 2: return .put(tree: "t", key: random.bytes(Int(random.next() % 40)), value: random.bytes(Int(random.next() % 300)))
            case 3: return .delete(tree: "t", key: random.bytes(Int(random.next() % 40)))
            default: return .deleteRange(tree: "t", start: random.bytes(3), end: random.bytes(4))
            }
        }
    }

    func testRecordsRoundTripAndTheScanStopsAtEveryKindOfBadTail() throws {
        var random = SeededRandom(seed: 1)
        let header = LogFormat.Header(identity: identity, salt: 77, baseSequence: 10)
        var body = Bytes()
        var written: [LogFormat.Record] = []
        var ends: [Int] = []
        var chain = header.checksum
        for i in 0..<50 {
            let operations = randomOperations(&random)
            chain = LogFormat.appendRecord(sequence: 11 + UInt64(i), salt: 77, previous: chain, payload: LogOperation.encode(operations), to: &body)
            written.append(LogFormat.Record(sequence: 11 + UInt64(i), operations: operations))
            ends.append(body.count)
        }
        let full = body.withUnsafeBytes { LogFormat.scan($0, header: header) }
        XCTAssertEqual(full.records, written)
        XCTAssertEqual(full.length, body.count)
        // A torn tail: every cut point gives exactly the records that end before it.
        for cut in stride(from: 0, to: body.count, by: 37) {
            let part = Array(body[..<cut])
            let scanned = part.withUnsafeBytes { LogFormat.scan($0, header: header) }
            XCTAssertEqual(scanned.records.count, ends.filter { $0 <= cut }.count)
        }
        // A flipped byte ends the valid prefix at the damaged record.
        for _ in 0..<100 {
            var damaged = body
            let at = Int(random.next() % UInt64(body.count))
            damaged[at] ^= 0x40
            let scanned = damaged.withUnsafeBytes { LogFormat.scan($0, header: header) }
            let intact = ends.filter { $0 <= at }.count
            XCTAssertEqual(scanned.records, Array(written.prefix(intact)))
        }
        // Another salt (a stale log) or another base sequence: nothing.
        XCTAssertEqual(body.withUnsafeBytes { LogFormat.scan($0, header: .init(identity: identity, salt: 78, baseSequence: 10)) }.records, [])
        XCTAssertEqual(body.withUnsafeBytes { LogFormat.scan($0, header: .init(identity: identity, salt: 77, baseSequence: 11)) }.records, [])
    }

    /// A record framed in place (how the log writes a commit) is byte for byte the record
    /// `appendRecord` frames, with the same chain.
    func testRecordFramedInPlaceEqualsAppendedRecord() {
        var random = SeededRandom(seed: 2)
        var chain: UInt32 = 0x1234_5678
        for i in 0..<200 {
            let operations = i % 50 == 0 ? [] : randomOperations(&random)
            var appended = Bytes()
            let appendedChain = LogFormat.appendRecord(
                sequence: 5 + UInt64(i), salt: 9, previous: chain, payload: LogOperation.encode(operations), to: &appended)
            var framed = LogOperation.encode(operations, leadingRoom: LogFormat.recordFrameSize)
            let framedChain = LogFormat.frameRecord(&framed, sequence: 5 + UInt64(i), salt: 9, previous: chain)
            XCTAssertEqual(framed, appended, "record \(i)")
            XCTAssertEqual(framedChain, appendedChain)
            chain = framedChain
        }
    }

    /// The stale-record case the chain exists for: records 1…4 are written, record 2 is torn, a new
    /// writer appends a different record 2 of the same length at the same place (same salt, same
    /// sequence). Unchained, the stale records 3 and 4 after it would join the run; chained, the new
    /// record 2 ends it.
    func testARecordWrittenOverATornOneEndsTheRunBeforeStaleRecordsAfterIt() throws {
        for version in [LogFormat.unchainedVersion, LogFormat.version] {
            let header = LogFormat.Header(identity: identity, salt: 9, baseSequence: 0, version: version)
            func record(_ sequence: UInt64, _ fill: UInt8, after previous: UInt32?, to out: inout Bytes) -> UInt32 {
                let payload = LogOperation.encode([.put(tree: "t", key: [fill], value: Bytes(repeating: fill, count: 40))])
                return LogFormat.appendRecord(
                    sequence: sequence, salt: 9, previous: version == LogFormat.version ? previous : nil, payload: payload, to: &out)
            }
            var old = Bytes()
            var chain = header.checksum
            for sequence in UInt64(1)...4 { chain = record(sequence, UInt8(sequence), after: chain, to: &old) }
            let recordSize = old.count / 4
            // Record 2 torn: its last bytes never reached the disk.
            var disk = old
            for i in (2 * recordSize - 5)..<(2 * recordSize) { disk[i] = 0 }
            let recovered = disk.withUnsafeBytes { LogFormat.scanRun($0, header: header) }
            XCTAssertEqual(recovered.spans.count, 1)
            // The new writer continues after record 1 with its own record 2, same length.
            var replacement = Bytes()
            _ = record(2, 0xEE, after: recovered.chain, to: &replacement)
            XCTAssertEqual(replacement.count, recordSize)
            disk.replaceSubrange(recordSize..<(2 * recordSize), with: replacement)
            let next = disk.withUnsafeBytes { LogFormat.scan($0, header: header) }
            if version == LogFormat.version {
                XCTAssertEqual(next.records.map(\.sequence), [1, 2], "the stale records 3 and 4 must not join a chained log")
                XCTAssertEqual(next.length, 2 * recordSize)
            } else {
                // Why version 1 logs are never appended to.
                XCTAssertEqual(next.records.map(\.sequence), [1, 2, 3, 4])
            }
        }
    }

    func testTheChainStartsAtTheHeaderAndSpansCarryItOn() {
        let header = LogFormat.Header(identity: identity, salt: 3, baseSequence: 20)
        let payload = LogOperation.encode([.insert(tree: "t", key: [1], value: [2])])
        var body = Bytes()
        let first = LogFormat.appendRecord(sequence: 21, salt: 3, previous: header.checksum, payload: payload, to: &body)
        let second = LogFormat.appendRecord(sequence: 22, salt: 3, previous: first, payload: payload, to: &body)
        let run = body.withUnsafeBytes { LogFormat.scanRun($0, header: header) }
        XCTAssertEqual(run.spans.map(\.sequence), [21, 22])
        XCTAssertEqual(run.chain, second)
        XCTAssertEqual(Bytes().withUnsafeBytes { LogFormat.scanRun($0, header: header) }.chain, header.checksum)
        // A record chained to anything else (here: not to the header) is not the first of the run.
        var unchained = Bytes()
        LogFormat.appendRecord(sequence: 21, salt: 3, previous: 0, payload: payload, to: &unchained)
        XCTAssertEqual(unchained.withUnsafeBytes { LogFormat.scanRun($0, header: header) }.spans, [])
        // Another header (another salt or base) starts another chain.
        let other = LogFormat.Header(identity: identity, salt: 4, baseSequence: 20)
        XCTAssertNotEqual(other.checksum, header.checksum)
    }

    func testHeaderRejectsForeignAndTornHeaders() {
        let header = LogFormat.Header(identity: identity, salt: 5, baseSequence: 99)
        let bytes = header.encode()
        XCTAssertEqual(bytes.withUnsafeBytes { LogFormat.Header.decode($0, identity: identity) }, header)
        XCTAssertNil(bytes.withUnsafeBytes { LogFormat.Header.decode($0, identity: Bytes(repeating: 1, count: 16)) })
        var torn = bytes
        torn[40] ^= 1
        XCTAssertNil(torn.withUnsafeBytes { LogFormat.Header.decode($0, identity: identity) })
        // Version 1 is read (for recovery); an unknown version is not a log this build can read.
        let older = LogFormat.Header(identity: identity, salt: 5, baseSequence: 99, version: 1)
        XCTAssertEqual(older.encode().withUnsafeBytes { LogFormat.Header.decode($0, identity: identity) }?.version, 1)
        let newer = LogFormat.Header(identity: identity, salt: 5, baseSequence: 99, version: 3)
        XCTAssertNil(newer.encode().withUnsafeBytes { LogFormat.Header.decode($0, identity: identity) })
    }

    func testMalformedPayloadsAreRejected() {
        var random = SeededRandom(seed: 2)
        for _ in 0..<2000 {
            let garbage = random.bytes(Int(random.next() % 40))
            _ = garbage.withUnsafeBytes { LogOperation.decode($0) }  // must not trap
        }
        let truncated = LogOperation.encode([.put(tree: "t", key: [1, 2, 3], value: [4, 5])]).dropLast()
        XCTAssertNil(Array(truncated).withUnsafeBytes { LogOperation.decode($0) })
        // A tree name that is not UTF-8, an empty one, and an unknown opcode.
        XCTAssertNil([UInt8(1), 1, 0xFF].withUnsafeBytes { LogOperation.decode($0) })
        XCTAssertNil([UInt8(1), 0].withUnsafeBytes { LogOperation.decode($0) })
        XCTAssertNil([UInt8(9), 1, 0x74].withUnsafeBytes { LogOperation.decode($0) })
    }

    /// Every kind of operation decodes to what was encoded, in order.
    func testEveryOperationRoundTrips() {
        let operations: [LogOperation] = [
            .createTree("t"), .put(tree: "t", key: [1], value: [2, 3]), .insert(tree: "tree é", key: [], value: []),
            .delete(tree: "t", key: [1]), .deleteRange(tree: "t", start: [0], end: [9, 9]), .dropTree("t"),
        ]
        XCTAssertEqual(LogOperation.encode(operations).withUnsafeBytes { LogOperation.decode($0) }, operations)
    }
}

final class PersistentMapTests: XCTestCase {
    func testAgainstDictionaryModelWithSnapshotsAndIteration() {
        var random = SeededRandom(seed: 4)
        var map = PersistentMap()
        var model: [Bytes: MemValue] = [:]
        var snapshots: [(PersistentMap, [Bytes: MemValue])] = []
        for step in 0..<20_000 {
            let key = Array("k\(random.next() % 3000)".utf8)
            let value: MemValue = random.next() % 4 == 0 ? .tombstone : .put(random.bytes(Int(random.next() % 8)))
            map.set(key, value)
            model[key] = value
            if step % 2000 == 0 { snapshots.append((map, model)) }
        }
        XCTAssertEqual(map.count, model.count)
        let sorted = model.keys.sorted { compareBytes($0, $1) < 0 }
        XCTAssertEqual(map.entries().map(\.0), sorted)
        XCTAssertEqual(map.entries().map(\.1), sorted.map { model[$0]! })
        // Old versions are unchanged by later sets.
        for (old, oldModel) in snapshots {
            XCTAssertEqual(old.count, oldModel.count)
            for (key, value) in oldModel.prefix(50) { XCTAssertEqual(old.get(key), value) }
        }
        // Seeks both ways land where the sorted keys say.
        for _ in 0..<500 {
            let probe = Array("k\(random.next() % 3500)".utf8)
            var iterator = MapIterator(map)
            iterator.seek(atOrAfter: probe)
            let after = sorted.first { compareBytes($0, probe) >= 0 }
            XCTAssertEqual(iterator.current?.0, after)
            if let after, let index = sorted.firstIndex(of: after), index + 1 < sorted.count {
                iterator.next()
                XCTAssertEqual(iterator.current?.0, sorted[index + 1])
            }
            iterator.seek(atOrBefore: probe)
            let before = sorted.last { compareBytes($0, probe) <= 0 }
            XCTAssertEqual(iterator.current?.0, before)
            if let before, let index = sorted.firstIndex(of: before), index > 0 {
                iterator.previous()
                XCTAssertEqual(iterator.current?.0, sorted[index - 1])
            }
        }
    }
}
