import XCTest
@testable import ParleyEngine

/// Power loss at random points through the fault-injecting file: unsynced writes dropped, applied
/// or torn per sector. After each, the database must open and hold the last committed state, or
/// the state of the commit that was in flight when the power went (only when it went during that
/// commit), and nothing else.
final class CrashConsistencyTests: XCTestCase {
    typealias State = [Bytes: Bytes]

    func state(_ engine: StorageEngine) throws -> State {
        var out: State = [:]
        for (key, value) in try contents(engine, "t") { out[key] = value }
        return out
    }

    func randomTransaction(_ txn: WriteTransaction, _ model: inout State, _ random: inout SeededRandom) throws {
        try txn.createTree("t")
        for _ in 0..<(1 + Int(random.next() % 30)) {
            let key = Array("k\(random.next() % 300)".utf8)
            if random.next() % 4 == 0 {
                try txn.delete("t", key)
                model[key] = nil
            } else {
                let length = random.next() % 20 == 0 ? Int(random.next() % 20_000) : Int(random.next() % 200)
                let value = random.bytes(length)
                try txn.put("t", key, value)
                model[key] = value
            }
        }
    }

    func testPowerLossAtRandomPoints() throws {
        // Crash somewhere in the first ~40 transactions' I/O, creation included.
        let outcomes = try runPowerLossTrials(
            trials: 400, seed: { UInt64($0) &* 7919 &+ 1 }, crashWithin: 400, transactions: 40,
            options: EngineOptions(pageSize: 1024, growthStep: 8192), transaction: randomTransaction)
        // Both outcomes occur: the test reaches inside commits, not only between them.
        XCTAssertGreaterThan(outcomes.previous, 0)
        XCTAssertGreaterThan(outcomes.inFlight, 0)
    }

    /// Fail the Nth write, sync or growth with EIO or ENOSPC, once and then persistently, for
    /// N = 1, 2, ... until the commit goes through. Each failure latches the engine read-only; a
    /// reopen finds the state before or after the commit and a sound database.
    func testCountdownFaultsLatchAndRecover() throws {
        for persistent in [false, true] {
            for kind in [SimulatedDisk.FaultKind.write, .sync, .grow] {
                for code in [EIO, ENOSPC] {
                    var n = 1
                    while n < 200 {
                        let disk = SimulatedDisk()
                        let fs = SimulatedFileSystem(disk: disk)
                        let engine = try StorageEngine.open(path: "/db", options: EngineOptions(pageSize: 1024, growthStep: 4096), fileSystem: fs)
                        var random = SeededRandom(seed: UInt64(n))
                        var before: State = [:]
                        try engine.write { try randomTransaction($0, &before, &random) }
                        var after = before
                        disk.fail(kind, nth: n, errno: code, persistent: persistent)
                        var failed = false
                        do {
                            try engine.write { txn in
                                try randomTransaction(txn, &after, &random)
                                // Enough new pages that the file must grow.
                                for i in 0..<20 {
                                    let key = Array("big\(i)".utf8)
                                    let value = random.bytes(900)
                                    try txn.put("t", key, value)
                                    after[key] = value
                                }
                            }
                        } catch let error as EngineError {
                            failed = true
                            if code == ENOSPC { XCTAssertEqual(error, .diskFull(path: "/db")) }
                            // Latched: no more writes, reads still work.
                            XCTAssertNotNil(engine.readOnlyReason)
                            XCTAssertThrowsError(try engine.write { try $0.createTree("x") }) { error in
                                guard case EngineError.readOnly = error else { return XCTFail("\(error)") }
                            }
                            XCTAssertEqual(try state(engine), before)
                        }
                        engine.close()
                        disk.clearFaults()
                        let reopened = try StorageEngine.open(path: "/db", fileSystem: fs)
                        let recovered = try state(reopened)
                        XCTAssertTrue(recovered == before || recovered == after, "\(kind) #\(n): unexpected state")
                        if !failed { XCTAssertEqual(recovered, after) }
                        try assertSound(reopened)
                        reopened.close()
                        if !failed { break }
                        n += 1
                    }
                    XCTAssertLessThan(n, 200)
                    // The commit failed at least once on its way: the fault was reached.
                    XCTAssertGreaterThan(n, 1, "\(kind) \(code) persistent: \(persistent) never failed")
                }
            }
        }
    }
}
