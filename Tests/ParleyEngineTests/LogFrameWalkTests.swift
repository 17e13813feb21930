import XCTest
@testable import ParleyEngine

/// The frame walk split in two (`LogFormat.scanFrames`) against the plain serial walk, over logs
/// whose middle falls anywhere: inside a record, inside a record whose payload holds a chain of
/// fake frames with plausible sequences, in a torn or zeroed tail, past the end of the run.
final class LogFrameWalkTests: XCTestCase {
    private let header = LogFormat.Header(identity: Bytes(repeating: 3, count: 16), salt: 5, baseSequence: 1_000)

    /// A payload holding `count` well-formed frames of consecutive sequences from `sequence`.
    private func fakeFrames(_ count: Int, from sequence: UInt64, _ random: inout SeededRandom) -> Bytes {
        var out = Bytes()
        for i in 0..<count {
            LogFormat.appendRecord(sequence: sequence + UInt64(i), salt: 5, previous: 0, payload: random.bytes(Int(random.next() % 40)), to: &out)
        }
        return out
    }

    func testTheSplitWalkFindsExactlyTheFramesOfTheSerialOne() {
        var outcomes: [LogFormat.WalkOutcome: Int] = [:]
        for round in 0..<400 {
            var random = SeededRandom(seed: UInt64(round) &+ 77)
            var body = Bytes()
            var chain = header.checksum
            let records = 1 + Int(random.next() % 60)
            for i in 0..<records {
                let sequence = header.baseSequence + 1 + UInt64(i)
                var payload: Bytes
                switch random.next() % 6 {
                case 0:
                    // Fake frames inside the payload, numbered like the records around them.
                    payload = random.bytes(Int(random.next() % 7)) + fakeFrames(2 + Int(random.next() % 6), from: sequence + 1, &random)
                case 1:
                    payload = random.bytes(2_000 + Int(random.next() % 3_000))
                default:
                    payload = random.bytes(Int(random.next() % 300))
                }
                chain = LogFormat.appendRecord(sequence: sequence, salt: 5, previous: chain, payload: payload, to: &body)
            }
            switch random.next() % 4 {
            case 0: body.append(contentsOf: Bytes(repeating: 0, count: Int(random.next() % 4_000)))
            case 1: body.removeLast(Int(random.next() % UInt64(min(body.count, 600))))
            case 2: body[Int(random.next() % UInt64(body.count))] ^= 0xFF
            default: body.append(contentsOf: random.bytes(Int(random.next() % 2_000)))
            }
            body.withUnsafeBytes { raw in
                let serial = LogFormat.walkFrames(raw, from: 0, sequence: header.baseSequence + 1).spans
                let split = LogFormat.scanFrames(raw, header: header, splittingFrom: 0)
                XCTAssertEqual(split.spans, serial, "round \(round) (\(split.outcome))")
                outcomes[split.outcome, default: 0] += 1
                XCTAssertEqual(LogFormat.scanFrames(raw, header: header, splittingFrom: .max).outcome, .serial)
            }
        }
        // Every way the two walks can meet, or not, must have happened.
        for outcome in [LogFormat.WalkOutcome.joined, .walkedOn, .endedInFirstHalf] {
            XCTAssertGreaterThan(outcomes[outcome, default: 0], 10, "\(outcome): \(outcomes)")
        }
    }

    func testTheSecondWalkGivesUpPastItsSearchAndOnImplausibleSequences() {
        // Zeros: no frame anywhere past the middle.
        let zeros = Bytes(repeating: 0, count: 1 << 20)
        zeros.withUnsafeBytes { raw in
            XCTAssertTrue(LogFormat.guessedWalk(raw, from: raw.count / 2, after: 0).spans.isEmpty)
            XCTAssertEqual(LogFormat.scanFrames(raw, header: header, splittingFrom: 0).spans, [])
        }
        // One record far larger than the search straddles the middle: the first walk goes on alone.
        var body = Bytes()
        var chain = header.checksum
        var random = SeededRandom(seed: 9)
        for i in 0..<3 {
            let payload = random.bytes(i == 1 ? 4 * LogFormat.splitWalkSearch : 100)
            chain = LogFormat.appendRecord(sequence: header.baseSequence + 1 + UInt64(i), salt: 5, previous: chain, payload: payload, to: &body)
        }
        body.withUnsafeBytes { raw in
            let split = LogFormat.scanFrames(raw, header: header, splittingFrom: 0)
            XCTAssertEqual(split.spans.map(\.sequence), [1_001, 1_002, 1_003])
            XCTAssertEqual(split.outcome, .walkedOn)
        }
    }

    /// Records of these payload sizes and sequences, chained, as one body.
    private func body(_ records: [(sequence: UInt64, payload: Bytes)]) -> Bytes {
        var out = Bytes()
        var chain = header.checksum
        for record in records {
            chain = LogFormat.appendRecord(sequence: record.sequence, salt: 5, previous: chain, payload: record.payload, to: &out)
        }
        return out
    }

    func testFakeFramesPastTheMiddleAreNotTakenForTheNextRecord() {
        var random = SeededRandom(seed: 4)
        // Record 1,002 straddles the middle; past the middle its payload holds five frames
        // numbered 1,003 onwards, as the records after it are.
        let fakes = fakeFrames(5, from: 1_003, &random)
        let records: [(sequence: UInt64, payload: Bytes)] = [
            (1_001, random.bytes(100)),
            (1_002, Bytes(repeating: 0, count: 900) + fakes + Bytes(repeating: 0, count: 50)),
            (1_003, random.bytes(100)), (1_004, random.bytes(100)), (1_005, random.bytes(100)), (1_006, random.bytes(100)),
        ]
        let log = body(records)
        log.withUnsafeBytes { raw in
            XCTAssertFalse(LogFormat.guessedWalk(raw, from: raw.count / 2, after: 1_000).spans.isEmpty, "the second walk takes the fakes")
            let split = LogFormat.scanFrames(raw, header: header, splittingFrom: 0)
            XCTAssertEqual(split.spans.map(\.sequence), Array(1_001...1_006))
            XCTAssertEqual(split.outcome, .walkedOn)
        }
    }

    func testASecondWalkStartingOnAFrameOfAnotherNumberingIsNotJoined() {
        var random = SeededRandom(seed: 5)
        // The run is 1,001 and 1,002; the frames after them (from just past the middle) are
        // numbered from 1,010 (as a stale tail of an older generation could be), well formed and in
        // a row: the run ends before them.
        let records: [(sequence: UInt64, payload: Bytes)] = [
            (1_001, random.bytes(500)), (1_002, random.bytes(500)),
            (1_010, random.bytes(50)), (1_011, random.bytes(50)), (1_012, random.bytes(50)), (1_013, random.bytes(50)),
            (1_014, random.bytes(50)),
        ]
        let log = body(records)
        log.withUnsafeBytes { raw in
            let firstAfterMiddle = LogFormat.walkFrames(raw, from: 0, sequence: 1_001, stoppingAt: raw.count / 2)
            XCTAssertEqual(firstAfterMiddle.spans.count, 2, "the middle falls on the first frame of the other numbering or before it")
            XCTAssertEqual(LogFormat.guessedWalk(raw, from: raw.count / 2, after: 1_000).spans.first?.sequence, 1_010)
            let split = LogFormat.scanFrames(raw, header: header, splittingFrom: 0)
            XCTAssertEqual(split.spans.map(\.sequence), [1_001, 1_002])
        }
    }
}
