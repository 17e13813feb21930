import XCTest
@testable import ParleyEngine

/// A writer must not run ahead of the checkpointer: a commit that leaves the memtable over its
/// budget returns only once the memtable has been checkpointed back under it.
final class MemtableBackpressureTests: XCTestCase {
    private let budget = 256 << 10

    private func options(background: Bool) -> DatabaseOptions {
        var options = testOptions(.normal, background: background)
        options.memtableBudget = budget
        // Only the budget may start a checkpoint here.
        options.checkpointAge = 1e9
        options.syncInterval = 0.005
        return options
    }

    private func value(_ i: Int) -> Bytes { Bytes(repeating: UInt8(truncatingIfNeeded: i), count: 100 + i % 300) }

    /// With no background thread nothing else ever checkpoints: without backpressure the memtable
    /// would hold all 5,000 commits (several MiB, ten times the budget).
    func testAWriterOverBudgetCheckpointsBeforeItContinues() throws {
        let directory = try temporaryDirectory(self)
        let engine = try Engine.open(path: directory + "/b.parley", options: options(background: false))
        try engine.write { _ = try $0.createTree("t") }
        var checkpointed = false
        for i in 0..<5_000 {
            try engine.write { try $0.put("t", Array("key \(i)".utf8), value(i)) }
            XCTAssertLessThanOrEqual(engine.memtableBytes, budget, "after commit \(i)")
            if engine.storage.logSequence > 0 { checkpointed = true }
        }
        XCTAssertTrue(checkpointed, "the budget was passed, so some commit must have checkpointed")
        let contents = try engineContents(engine, "t")
        XCTAssertEqual(contents.count, 5_000)
        for i in stride(from: 0, to: 5_000, by: 97) { XCTAssertEqual(contents[Array("key \(i)".utf8)], value(i)) }
        try engine.close()
    }

    /// With the background thread, commits go on while it checkpoints; still none returns with the
    /// memtable over budget, and the data is all there after a reopen.
    func testWritersWaitForTheBackgroundCheckpoint() throws {
        let directory = try temporaryDirectory(self)
        let path = directory + "/b.parley"
        var engine = try Engine.open(path: path, options: options(background: true))
        try engine.write { _ = try $0.createTree("t") }
        for i in 0..<5_000 {
            try engine.write { try $0.put("t", Array("key \(i)".utf8), value(i)) }
            XCTAssertLessThanOrEqual(engine.memtableBytes, budget, "after commit \(i)")
        }
        try engine.close()
        engine = try Engine.open(path: path, options: options(background: false))
        XCTAssertEqual(try engine.read { try $0.count("t") }, 5_000)
        try engine.close()
    }

    /// The checkpoint's own preparation commits on the checkpointing thread; when that commit is
    /// over budget it must not wait for the checkpoint it is part of.
    func testAPreparationOverBudgetDoesNotWaitForItself() throws {
        let directory = try temporaryDirectory(self)
        let engine = try Engine.open(path: directory + "/b.parley", options: options(background: false))
        try engine.write { _ = try $0.createTree("t") }
        let round = SharedLocked(0)
        engine.setCheckpointPreparation { [unowned engine] _ in
            let r = round.withLock { value -> Int in
                value += 1
                return value
            }
            try engine.write { txn in
                // Twice the budget in one commit.
                for i in 0..<1_000 { try txn.put("t", Array("prepared \(r) \(i)".utf8), Bytes(repeating: 1, count: 400)) }
            }
        }
        try engine.checkpoint()
        XCTAssertEqual(engine.memtableBytes, 0)
        XCTAssertEqual(try engine.read { try $0.count("t") }, 1_000)
        engine.setCheckpointPreparation(nil)
        try engine.close()
    }
}
