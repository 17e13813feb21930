import XCTest
@testable import ParleyEngine

/// Recovery keeps the log: open replays it into the memtable, and the next commits append after
/// its valid run (same salt, chained CRCs) until a checkpoint moves everything into the trees.
/// These tests lose power at every step of recover-then-append, crash again and again without a
/// checkpoint, put a stale record of the same salt after a torn one, and compare with a model.
final class RecoveryTests: XCTestCase {
    typealias Model = [Bytes: Bytes]
    let logPath = Engine.logPath(for: "/db")

    private func open(_ disk: SimulatedDisk, _ options: DatabaseOptions = testOptions(.full)) throws -> Engine {
        try Engine.open(path: "/db", options: options, fileSystem: SimulatedFileSystem(disk: disk))
    }

    private func key(_ i: Int) -> Bytes { Array("key\(1000 + i)".utf8) }

    func testRecoveryKeepsTheLogInTheMemtableSyncsItOnceAndACheckpointMovesIt() throws {
        let disk = SimulatedDisk()
        var model: Model = [:]
        let first = try open(disk)
        try first.write { _ = try $0.createTree("t") }
        for i in 0..<30 {
            try first.write { try $0.put("t", key(i), [UInt8(i)]) }
            model[key(i)] = [UInt8(i)]
        }
        _ = try first.write { try $0.delete("t", key(3)) }
        model[key(3)] = nil
        let usedBytes = first.logBytes
        // Power is lost: the trees never held any of it.
        let survivor = disk.powerLoss(seed: 5)
        let before = survivor.operationCount
        let engine = try open(survivor)
        XCTAssertEqual(survivor.operationCount, before + 1, "recovery writes nothing and syncs the log once")
        XCTAssertEqual(engine.logStatistics.syncs, 1)
        XCTAssertEqual(engine.storage.logSequence, 0, "the trees keep their own sequence")
        XCTAssertEqual(engine.log.sequences.appended, 32, "the log continues after its 32 records")
        XCTAssertEqual(engine.logBytes, usedBytes, "the log's used bytes continue from the valid run")
        XCTAssertGreaterThan(engine.memtableBytes, 0)
        XCTAssertEqual(try engineContents(engine, "t"), model)
        XCTAssertEqual(try engine.read { try $0.count("t") }, UInt64(model.count))
        // The log's records are the memtable's; the next commit is 33, durable in the same log.
        try engine.write { try $0.put("t", key(99), [9]) }
        model[key(99)] = [9]
        XCTAssertEqual(engine.log.sequences.appended, 33)
        XCTAssertGreaterThan(engine.logBytes, usedBytes)
        // A checkpoint after recovery moves everything to the trees and resets the log as usual.
        try engine.checkpoint()
        XCTAssertEqual(engine.storage.logSequence, 33)
        XCTAssertEqual(engine.logBytes, 0)
        XCTAssertEqual(engine.memtableBytes, 0)
        XCTAssertEqual(try engine.checkIntegrity().problems, [])
        try engine.write { try $0.put("t", key(100), [10]) }
        model[key(100)] = [10]
        let again = try open(survivor.powerLoss(seed: 6))
        XCTAssertEqual(try engineContents(again, "t"), model)
        XCTAssertEqual(try again.read { try $0.count("t") }, UInt64(model.count))
        XCTAssertEqual(again.storage.logSequence, 33)
        XCTAssertEqual(again.log.sequences.appended, 34)
        try again.close()
    }

    /// The records of "old1" … "old4" (one key each, same sizes) are durable; then the one of
    /// "old2" is torn. Recovery keeps "old1", and the next commit writes a record exactly where the
    /// torn one began, with the same length, salt and sequence. The stale records of "old3" and
    /// "old4" still lie after it whenever a power loss drops the zeros written ahead of the new
    /// record: without the chain, the next recovery would replay them.
    func testAStaleRecordOfTheSameSaltAfterATornOneIsNeverReplayed() throws {
        let disk = SimulatedDisk()
        let first = try open(disk)
        try first.write { _ = try $0.createTree("t") }
        var ends: [UInt64] = []
        for i in 1...4 {
            try first.write { try $0.put("t", Array("old\(i)".utf8), Bytes(repeating: UInt8(i), count: 50)) }
            ends.append(first.logBytes)
        }
        // Tear the record of "old2": a few bytes of its payload never reached the disk.
        let tornAt = LogFormat.headerSize + Int(ends[1]) - 8
        disk.overwrite(path: logPath, at: tornAt, with: [0, 0, 0, 0])
        let survivor = disk.powerLoss(seed: 1)
        let engine = try open(survivor)
        XCTAssertEqual(try engineContents(engine, "t"), [Array("old1".utf8): Bytes(repeating: 1, count: 50)])
        XCTAssertEqual(engine.log.sequences.appended, 2, "create, old1")
        XCTAssertEqual(engine.logBytes, ends[0])
        // Same length as the torn record: same key length, same value length, a new key (insert).
        // Written, not synced: a power loss may keep it and drop the zeros written ahead of it.
        try engine.write(durability: .normal) { try $0.put("t", Array("new2".utf8), Bytes(repeating: 0xEE, count: 50)) }
        XCTAssertEqual(engine.logBytes, ends[1], "the new record must cover the torn one exactly")
        let live = try XCTUnwrap(survivor.liveBytes(path: logPath))
        let newRecord = (LogFormat.headerSize + Int(ends[0]))..<(LogFormat.headerSize + Int(ends[1]))
        let staleThird = LogFormat.headerSize + Int(ends[1])
        var staleCases = 0
        for seed in 0..<200 as Range<UInt64> {
            let lost = survivor.powerLoss(seed: seed)
            let bytes = try XCTUnwrap(lost.liveBytes(path: logPath))
            guard bytes.count >= LogFormat.headerSize + Int(ends[3]) else { continue }
            // The record of "old3" (sequence 4, after the tree's creation and "old1", "old2").
            let stale = bytes.withUnsafeBytes { $0.loadLE(UInt64.self, at: staleThird + 8) } == 4
            let newKept = Array(bytes[newRecord]) == Array(live[newRecord])
            let last = try open(lost)
            var expected: Model = [Array("old1".utf8): Bytes(repeating: 1, count: 50)]
            if newKept { expected[Array("new2".utf8)] = Bytes(repeating: 0xEE, count: 50) }
            // Never "old3" or "old4": they were chained to the torn record, not to the new one.
            XCTAssertEqual(try engineContents(last, "t"), expected, "seed \(seed)")
            XCTAssertEqual(last.log.sequences.appended, newKept ? 3 : 2, "seed \(seed)")
            if stale && newKept { staleCases += 1 }
        }
        XCTAssertGreaterThan(staleCases, 0, "some power loss kept the new record and the stale one after it")
    }

    /// Power loss after every number of operations into the commits that follow a recovery, each
    /// with several tearings, then a second recovery that appends again and loses power again.
    func testPowerLossAtEveryStepOfAppendingAfterRecovery() throws {
        for mode in Durability.allCases {
            // A session commits three records (the last not synced in `normal`), then power fails.
            let disk = SimulatedDisk()
            let first = try open(disk, testOptions(.full))
            var states: [Model] = [[:]]
            try first.write { _ = try $0.createTree("t") }
            for i in 0..<3 {
                try first.write(durability: i == 2 ? .normal : .full) { try $0.put("t", key(i), [UInt8(i)]) }
                var next = states[states.count - 1]
                next[key(i)] = [UInt8(i)]
                states.append(next)
            }
            let crashed = disk.powerLoss(seed: 11)
            var steps = 0
            while steps < 100 {
                let base = crashed.powerLoss(seed: 0)  // a fresh copy of the same image
                let engine = try open(base, testOptions(mode))
                let recovered = try engineContents(engine, "t")
                guard let recoveredIndex = states.lastIndex(of: recovered) else {
                    XCTFail("\(mode): recovery found no prefix")
                    break
                }
                var sessionStates = Array(states.prefix(recoveredIndex + 1))
                var acknowledged = recoveredIndex
                base.crash(afterOperations: steps)
                do {
                    for i in 10..<14 {
                        var next = sessionStates[sessionStates.count - 1]
                        next[key(i)] = [UInt8(i)]
                        sessionStates.append(next)
                        try engine.write { try $0.put("t", key(i), [UInt8(i)]) }
                        if mode != .full { try engine.flush() }
                        acknowledged = sessionStates.count - 1
                    }
                } catch EngineError.simulatedCrash {
                } catch EngineError.readOnly {
                }
                let finished = !base.hasCrashed
                for seed in 0..<4 as Range<UInt64> {
                    let survivor = base.powerLoss(seed: seed &* 31 &+ UInt64(steps))
                    let reopened = try open(survivor, testOptions(mode))
                    let found = try engineContents(reopened, "t")
                    guard let index = sessionStates.lastIndex(of: found) else {
                        XCTFail("\(mode), step \(steps), seed \(seed): not a prefix of the commits")
                        continue
                    }
                    XCTAssertGreaterThanOrEqual(index, acknowledged, "\(mode), step \(steps), seed \(seed): lost an acknowledged commit")
                    XCTAssertEqual(try reopened.read { try $0.count("t") }, UInt64(found.count))
                    // The continued log takes more commits and survives another power loss.
                    try reopened.write(durability: .full) { try $0.put("t", Array("later".utf8), [3]) }
                    let again = try open(survivor.powerLoss(seed: seed))
                    var expected = found
                    expected[Array("later".utf8)] = [3]
                    XCTAssertEqual(try engineContents(again, "t"), expected, "\(mode), step \(steps), seed \(seed)")
                    XCTAssertEqual(try again.checkIntegrity().problems, [])
                    try again.close()
                }
                if finished { break }
                steps += 1
            }
            XCTAssertGreaterThanOrEqual(steps, 4, "\(mode): every write and sync of the appends was a crash point")
            XCTAssertLessThan(steps, 100)
        }
    }

    /// Crash after crash with no checkpoint in between: each session recovers the whole log and
    /// appends to it, and the trees never change.
    func testSeveralCrashesAndRecoveriesWithoutACheckpoint() throws {
        var disk = SimulatedDisk()
        var model: Model = [:]
        var sequence: UInt64 = 0
        for cycle in 0..<8 {
            let engine = try open(disk)
            XCTAssertEqual(try engineContents(engine, "t"), model, "cycle \(cycle)")
            XCTAssertEqual(engine.storage.logSequence, 0, "cycle \(cycle): nothing was ever checkpointed")
            XCTAssertEqual(engine.log.sequences.appended, sequence, "cycle \(cycle)")
            if cycle == 0 {
                try engine.write { _ = try $0.createTree("t") }
                sequence += 1
            }
            for i in 0..<5 {
                let k = key(cycle * 5 + i)
                try engine.write { try $0.put("t", k, [UInt8(cycle), UInt8(i)]) }
                model[k] = [UInt8(cycle), UInt8(i)]
                sequence += 1
            }
            // One commit that deletes what an earlier session wrote, and overwrites a key.
            if cycle > 0 {
                try engine.write { txn in
                    try txn.delete("t", key((cycle - 1) * 5))
                    try txn.put("t", key(cycle * 5 + 1), [0xAA])
                }
                model[key((cycle - 1) * 5)] = nil
                model[key(cycle * 5 + 1)] = [0xAA]
                sequence += 1
            }
            disk = disk.powerLoss(seed: UInt64(cycle))
        }
        let engine = try open(disk)
        XCTAssertEqual(try engineContents(engine, "t"), model)
        XCTAssertEqual(try engine.read { try $0.count("t") }, UInt64(model.count))
        try engine.close()
        let closed = try open(disk)
        XCTAssertEqual(closed.storage.logSequence, sequence)
        XCTAssertEqual(try engineContents(closed, "t"), model)
        try closed.close()
    }

    /// A log written by an older build (version 1, unchained) is replayed into the trees once, as
    /// that build did, and the log starts again as version 2: none of it is dropped.
    func testAVersionOneLogIsWrittenIntoTheTreesAndReset() throws {
        let disk = SimulatedDisk()
        let setup = try open(disk)
        try setup.write { _ = try $0.createTree("t") }
        let identity = setup.storage.identity
        try setup.close()
        let header = LogFormat.Header(identity: identity, salt: 42, baseSequence: 1, version: LogFormat.unchainedVersion)
        var log = header.encode()
        let records: [[LogOperation]] = [
            [.put(tree: "t", key: [1], value: [10]), .put(tree: "t", key: [2], value: [20])],
            [.delete(tree: "t", key: [1]), .put(tree: "t", key: [3], value: [30])],
        ]
        for (i, operations) in records.enumerated() {
            LogFormat.appendRecord(sequence: 2 + UInt64(i), salt: 42, previous: nil, payload: LogOperation.encode(operations), to: &log)
        }
        let fs = SimulatedFileSystem(disk: disk)
        let file = try fs.openFile(at: logPath, .createIfMissing)
        try log.withUnsafeBytes { try file.write($0, at: 0) }
        try file.sync()
        file.close()
        try fs.syncDirectory(containing: logPath)
        let engine = try open(disk)
        let expected: Model = [[2]: [20], [3]: [30]]
        XCTAssertEqual(try engineContents(engine, "t"), expected)
        XCTAssertEqual(engine.storage.logSequence, 3, "a version-1 log goes to the trees")
        XCTAssertEqual(engine.memtableBytes, 0)
        XCTAssertEqual(try engine.read { try $0.count("t") }, 2)
        try engine.write { try $0.put("t", [4], [40]) }
        let onDisk = try XCTUnwrap(disk.durableBytes(path: logPath))
        XCTAssertEqual(onDisk.withUnsafeBytes { LogFormat.Header.decode($0, identity: identity) }?.version, LogFormat.version)
        let after = try open(disk.powerLoss(seed: 3))
        XCTAssertEqual(try engineContents(after, "t"), [[2]: [20], [3]: [30], [4]: [40]])
        try after.close()
    }

    /// A memtable recovered past its budget is checkpointed by the first commit's backpressure; an
    /// open that only reads writes nothing beyond the one sync of the recovered log.
    func testARecoveredMemtableOverItsBudgetIsCheckpointedByTheFirstCommit() throws {
        let disk = SimulatedDisk()
        var large = testOptions(.full)
        large.memtableBudget = 1 << 40
        let first = try open(disk, large)
        try first.write { _ = try $0.createTree("t") }
        var model: Model = [:]
        for i in 0..<200 {
            let value = Bytes(repeating: UInt8(i % 256), count: 500)
            try first.write(durability: .normal) { try $0.put("t", key(i), value) }
            model[key(i)] = value
        }
        try first.flush()
        let survivor = disk.powerLoss(seed: 4)
        var small = testOptions(.full)
        small.memtableBudget = 32 << 10
        let before = survivor.operationCount
        let engine = try open(survivor, small)
        XCTAssertGreaterThan(engine.memtableBytes, small.memtableBudget)
        XCTAssertEqual(try engineContents(engine, "t"), model)
        XCTAssertEqual(survivor.operationCount, before + 1, "reading a recovered database writes nothing; its open syncs once")
        try engine.write { try $0.put("t", key(500), [1]) }
        model[key(500)] = [1]
        XCTAssertLessThanOrEqual(engine.memtableBytes, small.memtableBudget)
        XCTAssertEqual(engine.storage.logSequence, 202)
        XCTAssertEqual(try engineContents(engine, "t"), model)
        try engine.close()
    }

    /// A process dies with commits written to the log but not synced (durability normal); the
    /// next open shows them. A power loss after that open, with no commit in between, must not
    /// take them back: a reader was shown them (without the open's sync, some seeds drop them).
    func testCommitsARecoveryShowedSurviveAPowerLossAfterIt() throws {
        for seed in UInt64(1)...40 {
            let disk = SimulatedDisk()
            let first = try open(disk, testOptions(.normal))
            try first.write(durability: .full) { _ = try $0.createTree("t") }
            var model: Model = [:]
            for i in 0..<12 {
                let value = Bytes(repeating: UInt8(i), count: 300)
                try first.write { try $0.put("t", key(i), value) }
                model[key(i)] = value
            }
            // kill -9: the kernel keeps the log's unsynced writes.
            let afterKill = disk.processCrash()
            let shown = try open(afterKill, testOptions(.normal))
            XCTAssertTrue(try engineContents(shown, "t") == model, "seed \(seed): recovery missed commits")
            let afterPowerLoss = afterKill.powerLoss(seed: seed)
            let reopened = try open(afterPowerLoss, testOptions(.normal))
            let survived = try engineContents(reopened, "t")
            XCTAssertTrue(survived == model, "seed \(seed): a power loss took back what a recovery showed (\(survived.count) of \(model.count) keys)")
            try reopened.close()
        }
    }

    /// Copies (backups) and the integrity walk see the recovered commits.
    func testACopyMadeAfterRecoveryHoldsTheRecoveredCommits() throws {
        let disk = SimulatedDisk()
        let first = try open(disk)
        try first.write { txn in
            try txn.createTree("t")
            try txn.createTree("gone")
            try txn.put("gone", [1], [1])
        }
        try first.checkpoint()
        try first.write { txn in
            try txn.put("t", [5], [50])
            try txn.dropTree("gone")
            try txn.createTree("fresh")
            try txn.put("fresh", [6], [60])
        }
        let survivor = disk.powerLoss(seed: 8)
        let fs = SimulatedFileSystem(disk: survivor)
        let engine = try Engine.open(path: "/db", options: testOptions(.full), fileSystem: fs)
        XCTAssertEqual(try engine.read { try $0.treeNames() }, ["fresh", "t"])
        XCTAssertEqual(try engine.checkIntegrity().problems, [])
        try engine.copy(to: "/copy", fileSystem: fs)
        let copy = try Engine.open(path: "/copy", options: testOptions(.full), fileSystem: fs)
        XCTAssertEqual(try copy.read { try $0.treeNames() }, ["fresh", "t"])
        XCTAssertEqual(try engineContents(copy, "t"), [[5]: [50]])
        XCTAssertEqual(try engineContents(copy, "fresh"), [[6]: [60]])
        try copy.close()
        try engine.close()
    }
}
