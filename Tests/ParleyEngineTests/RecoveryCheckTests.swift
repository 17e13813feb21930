import XCTest
@testable import ParleyEngine

/// Recovery checks each record's CRC and form while its workers replay it (after one serial walk
/// of the frames), so a damaged record can sit in either worker's half. Whatever the damage and
/// wherever it is, the layer must be the one of the records before it, and the run must end there.
final class RecoveryCheckTests: XCTestCase {
    private enum Damage: CaseIterable {
        /// A payload byte changed after the record was framed: the CRC no longer matches.
        case flippedByte
        /// A payload that does not decode (an unknown opcode), framed with a matching CRC.
        case unknownOpcode
        /// A tree name that is not UTF-8, framed with a matching CRC.
        case invalidName
    }

    /// Operations as a transaction logs them over `present` (the keys each tree holds): an insert
    /// only of an absent key, a delete only of a present one.
    private func randomPayload(_ present: inout [String: Set<Bytes>], _ random: inout SeededRandom) -> Bytes {
        var operations: [LogOperation] = []
        for _ in 0..<(1 + Int(random.next() % 8)) {
            let tree = ["a", "b", "c"][Int(random.next() % 3)]
            let key = Bytes([UInt8(truncatingIfNeeded: random.next() % 40)])
            let value = random.bytes(Int(random.next() % 200))
            if present[tree, default: []].contains(key) {
                if random.next() % 2 == 0 {
                    operations.append(.delete(tree: tree, key: key))
                    present[tree]?.remove(key)
                } else {
                    operations.append(.put(tree: tree, key: key, value: value))
                }
            } else {
                operations.append(.insert(tree: tree, key: key, value: value))
                present[tree, default: []].insert(key)
            }
        }
        return LogOperation.encode(operations)
    }

    /// A chained log body of `count` records after `header`, record `damaged` damaged as `damage`
    /// says, every record after it chained to what is stored before it.
    private func log(_ count: Int, damaged: Int, _ damage: Damage, header: LogFormat.Header, _ random: inout SeededRandom) -> Bytes {
        var body = Bytes()
        var chain = header.checksum
        var present: [String: Set<Bytes>] = [:]
        for i in 0..<count {
            var payload = randomPayload(&present, &random)
            if i == damaged, damage == .unknownOpcode { payload.append(contentsOf: [9, 1, 0x61]) }
            if i == damaged, damage == .invalidName { payload.append(contentsOf: LogOperation.encode([.createTree("x")])); payload[payload.count - 1] = 0xFF }
            let start = body.count
            chain = LogFormat.appendRecord(sequence: header.baseSequence + 1 + UInt64(i), salt: header.salt, previous: chain, payload: payload, to: &body)
            if i == damaged, damage == .flippedByte { body[start + LogFormat.recordFrameSize + Int(random.next() % UInt64(payload.count))] ^= 0x40 }
        }
        return body
    }

    func testTheRunEndsBeforeADamagedRecordWhicheverWorkerChecksIt() throws {
        let storage = try StorageEngine.open(path: "/db", options: EngineOptions(pageSize: 1024, growthStep: 8192),
                                             fileSystem: SimulatedFileSystem(disk: SimulatedDisk()))
        defer { storage.close() }
        let header = LogFormat.Header(identity: Bytes(repeating: 1, count: 16), salt: 42, baseSequence: 100)
        var earlierHalf = 0, laterHalf = 0
        for round in 0..<120 {
            var random = SeededRandom(seed: UInt64(round) &+ 1_000)
            let count = 2 + Int(random.next() % 40)
            let damaged = Int(random.next() % UInt64(count))
            let damage = Damage.allCases[round % Damage.allCases.count]
            let body = log(count, damaged: damaged, damage, header: header, &random)
            let workers = 1 + round % 2
            try body.withUnsafeBytes { raw in
                let frames = LogFormat.scanFrames(raw, header: header)
                XCTAssertEqual(frames.count, count, "round \(round): every frame is walked, the damaged one too")
                if workers == 2 { if damaged < Engine.halfway(frames[...]) { earlierHalf += 1 } else { laterHalf += 1 } }
                let checking = Engine.RecordsToCheck(check: LogFormat.RecordCheck(header: header), previous: header.checksum)
                let (layer, valid) = try Engine.recoveredLayer(
                    body: raw, spans: frames[...], checking: checking, openBase: { try storage.beginRead() }, logPath: "/db-wal",
                    workers: workers, minimumRecords: 0)
                let context = "round \(round): \(damage) at record \(damaged) of \(count), \(workers) workers"
                XCTAssertEqual(valid, damaged, context)
                XCTAssertEqual(LogFormat.scanRun(raw, header: header).spans.count, damaged, context)
                let expected = try Engine.recoveredLayer(
                    body: raw, spans: frames[..<damaged], openBase: { try storage.beginRead() }, logPath: "/db-wal", workers: 1)
                XCTAssertEqual(layer.lastSequence, expected.lastSequence, context)
                XCTAssertEqual(Set(layer.trees.keys), Set(expected.trees.keys), context)
                for (name, overlay) in expected.trees {
                    let built = try XCTUnwrap(layer.trees[name], context)
                    XCTAssertEqual(built.entries.entries().map(\.0), overlay.entries.entries().map(\.0), "\(context), tree \(name)")
                    XCTAssertEqual(built.entries.entries().map(\.1), overlay.entries.entries().map(\.1), "\(context), tree \(name)")
                    XCTAssertEqual(built.countDelta, overlay.countDelta, "\(context), tree \(name)")
                }
            }
        }
        XCTAssertGreaterThan(earlierHalf, 10)
        XCTAssertGreaterThan(laterHalf, 10)
    }
}
