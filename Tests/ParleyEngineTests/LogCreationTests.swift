import XCTest
@testable import ParleyEngine

/// The log is created at the first commit, not at open: an open that only reads writes nothing,
/// and a power loss at any step of creating (or, after a crash, re-preparing) the log loses no
/// acknowledged commit and leaves nothing corrupt.
final class LogCreationTests: XCTestCase {
    typealias Model = [Bytes: Bytes]

    /// A database on `disk` holding `count` keys, checkpointed and closed cleanly (one file).
    private func seededDatabase(_ disk: SimulatedDisk, count: Int) throws -> Model {
        let engine = try Engine.open(path: "/db", options: testOptions(.full), fileSystem: SimulatedFileSystem(disk: disk))
        var model: Model = [:]
        try engine.write { txn in
            try txn.createTree("t")
            for i in 0..<count {
                let key = Array("seed\(i)".utf8)
                try txn.put("t", key, [UInt8(i % 256)])
                model[key] = [UInt8(i % 256)]
            }
        }
        try engine.close()
        return model
    }

    func testOpeningToReadWritesAndSyncsNothing() throws {
        let disk = SimulatedDisk()
        let model = try seededDatabase(disk, count: 20)
        XCTAssertEqual(disk.fileNames(), ["/db"])
        let before = disk.operationCount
        let engine = try Engine.open(path: "/db", options: testOptions(.full), fileSystem: SimulatedFileSystem(disk: disk))
        XCTAssertEqual(try engineContents(engine, "t"), model)
        try engine.checkpoint()
        XCTAssertFalse(engine.log.fileCreated)
        try engine.close()
        // Counted operations are writes, syncs, growths, creations, removals and directory syncs.
        XCTAssertEqual(disk.operationCount, before, "an open that only reads must not write or sync")
        XCTAssertEqual(disk.fileNames(), ["/db"])
    }

    func testTheBackgroundThreadStartsWithTheFirstCommit() throws {
        let disk = SimulatedDisk()
        let model = try seededDatabase(disk, count: 5)
        let engine = try Engine.open(path: "/db", options: testOptions(.normal, background: true), fileSystem: SimulatedFileSystem(disk: disk))
        XCTAssertEqual(try engineContents(engine, "t"), model)
        _ = try engine.write { $0.maximumKeyLength }  // a write transaction that changes nothing
        XCTAssertFalse(engine.backgroundWorkStarted, "an engine that only reads runs no thread")
        try engine.write { try $0.put("t", [1], [2]) }
        XCTAssertTrue(engine.backgroundWorkStarted)
        // The background thread syncs the normal commit on its own.
        var waited = 0
        while engine.log.sequences.durable < engine.log.sequences.appended, waited < 5_000 {
            usleep(1_000)
            waited += 1
        }
        XCTAssertEqual(engine.log.sequences.durable, engine.log.sequences.appended)
        try engine.close()
        XCTAssertFalse(engine.backgroundWorkStarted)
    }

    func testTheFirstCommitCreatesTheLogDurably() throws {
        let disk = SimulatedDisk()
        _ = try seededDatabase(disk, count: 3)
        let engine = try Engine.open(path: "/db", options: testOptions(.full), fileSystem: SimulatedFileSystem(disk: disk))
        XCTAssertFalse(disk.fileNames().contains(Engine.logPath(for: "/db")))
        try engine.write { try $0.put("t", [1], [2]) }
        XCTAssertTrue(engine.log.fileCreated)
        // Acknowledged: the log's name and its header are durable, not only its record.
        XCTAssertTrue(disk.durableFileNames().contains(Engine.logPath(for: "/db")))
        let header = try XCTUnwrap(disk.durableBytes(path: Engine.logPath(for: "/db")))
        XCTAssertNotNil(header.withUnsafeBytes { LogFormat.Header.decode($0, identity: engine.storage.identity) })
        try engine.close()
    }

    /// Power loss after every possible number of operations into the first commit of a session,
    /// with several ways of tearing what was not synced; in every durability mode, both when the
    /// log is missing (clean close before) and when a crashed session left one behind.
    func testPowerLossAtEveryStepOfTheFirstCommit() throws {
        var crashes = 0
        for leftover in [false, true] {
            for mode in Durability.allCases {
                var steps = 0
                while true {
                    let disk = SimulatedDisk()
                    var before = try seededDatabase(disk, count: 10)
                    var base = disk
                    if leftover {
                        // A session that committed and lost power: its log stays for recovery.
                        let engine = try Engine.open(path: "/db", options: testOptions(.full), fileSystem: SimulatedFileSystem(disk: disk))
                        try engine.write { try $0.put("t", Array("old".utf8), [9]) }
                        before[Array("old".utf8)] = [9]
                        base = disk.powerLoss(seed: 1)
                        XCTAssertTrue(base.fileNames().contains(Engine.logPath(for: "/db")))
                    }
                    var after = before
                    after[Array("new".utf8)] = [7]
                    let engine = try Engine.open(path: "/db", options: testOptions(mode), fileSystem: SimulatedFileSystem(disk: base))
                    XCTAssertEqual(try engineContents(engine, "t"), before)
                    base.crash(afterOperations: steps)
                    var acknowledged = false
                    do {
                        try engine.write { try $0.put("t", Array("new".utf8), [7]) }
                        try engine.flush()
                        acknowledged = true
                    } catch EngineError.simulatedCrash {
                    } catch EngineError.readOnly {
                    }
                    if acknowledged && !base.hasCrashed {
                        try? engine.close()
                        break
                    }
                    crashes += 1
                    for seed in 0..<4 as Range<UInt64> {
                        let survivor = base.powerLoss(seed: seed &* 7_919 &+ UInt64(steps))
                        let reopened: Engine
                        do {
                            reopened = try Engine.open(path: "/db", options: testOptions(mode), fileSystem: SimulatedFileSystem(disk: survivor))
                        } catch {
                            XCTFail("\(mode), leftover \(leftover), step \(steps), seed \(seed): reopen failed: \(error)")
                            continue
                        }
                        let found = try engineContents(reopened, "t")
                        if acknowledged {
                            XCTAssertEqual(found, after, "\(mode), step \(steps): lost an acknowledged commit")
                        } else {
                            XCTAssertTrue(found == before || found == after, "\(mode), step \(steps): neither before nor after")
                        }
                        XCTAssertEqual(try reopened.checkIntegrity().problems, [])
                        // The log works after the crash: a commit survives another power loss.
                        try reopened.write(durability: .full) { try $0.put("t", Array("later".utf8), [3]) }
                        let again = survivor.powerLoss(seed: seed)
                        let last = try Engine.open(path: "/db", options: testOptions(mode), fileSystem: SimulatedFileSystem(disk: again))
                        XCTAssertEqual(try last.read { try $0.get("t", Array("later".utf8)) }, [3], "\(mode), step \(steps)")
                        try last.close()
                    }
                    steps += 1
                    XCTAssertLessThan(steps, 200, "the first commit never completed")
                    if steps >= 200 { break }
                }
                // Creating the log takes several steps (create, grow, header, sync, directory sync,
                // zeros, record, sync): every one of them was a crash point. A log left by a crash is
                // kept and continued (zeros, record, sync).
                XCTAssertGreaterThanOrEqual(steps, leftover ? 2 : 6, "\(mode), leftover \(leftover)")
            }
        }
        XCTAssertGreaterThan(crashes, 0)
    }
}
