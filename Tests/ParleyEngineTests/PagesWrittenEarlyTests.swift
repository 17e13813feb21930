import Glibc
import XCTest
@testable import ParleyEngine

/// Overflow pages and changed leaves written to the file before their transaction commits
/// (`heldOverflowPages`, `heldNodes`): the transaction's memory stays bounded, what it reads back is
/// what it stored, and power loss, aborts and failed writes leave exactly the committed state.
final class PagesWrittenEarlyTests: XCTestCase {
    typealias State = [Bytes: Bytes]

    func options(held: Int, nodes: Int = 1024) -> EngineOptions {
        var options = EngineOptions(pageSize: 1024, growthStep: 8192)
        options.heldOverflowPages = held
        options.heldNodes = nodes
        return options
    }

    func state(_ engine: StorageEngine) throws -> State {
        var out: State = [:]
        for (key, value) in try contents(engine, "t") { out[key] = value }
        return out
    }

    /// A transaction storing hundreds of multi-page values holds fewer than `heldOverflowPages` of
    /// their pages at any time (it held every one until its commit before), and reads them back.
    func testATransactionHoldsABoundedNumberOfOverflowPages() throws {
        let disk = SimulatedDisk()
        let engine = try StorageEngine.open(path: "/db", options: options(held: 16), fileSystem: SimulatedFileSystem(disk: disk))
        var random = SeededRandom(seed: 5)
        var model: State = [:]
        let txn = try engine.beginWrite()
        try txn.createTree("t")
        var mostHeld = 0
        for i in 0..<300 {
            let key = Array("value\(i)".utf8)
            let value = random.bytes(2_000 + Int(random.next() % 3_000))
            try txn.put("t", key, value)
            model[key] = value
            mostHeld = max(mostHeld, txn.changedRaw.count)
        }
        XCTAssertLessThan(mostHeld, 16)
        XCTAssertGreaterThan(txn.writtenRaw.count, 600, "most overflow pages should be on the file already")
        for (key, value) in model { XCTAssertEqual(try txn.get("t", key), value) }
        try txn.commit()
        XCTAssertEqual(try state(engine), model)
        try assertSound(engine)
        engine.close()
        let reopened = try StorageEngine.open(path: "/db", fileSystem: SimulatedFileSystem(disk: disk))
        XCTAssertEqual(try state(reopened), model)
        try assertSound(reopened)
        reopened.close()
    }

    /// A transaction inserting tens of thousands of keys in random order holds fewer than
    /// `heldNodes` decoded leaves beside its branches after each change (it held every changed node
    /// until its commit before), while leaves it wrote are read back, split and changed again.
    func testATransactionHoldsABoundedNumberOfNodes() throws {
        let disk = SimulatedDisk()
        let engine = try StorageEngine.open(path: "/db", options: options(held: 16, nodes: 64), fileSystem: SimulatedFileSystem(disk: disk))
        var random = SeededRandom(seed: 8)
        var model: State = [:]
        let txn = try engine.beginWrite()
        try txn.createTree("t")
        var mostLeaves = 0
        for _ in 0..<20_000 {
            let key = Array("key\(random.next() % 50_000)".utf8)
            if random.next() % 8 == 0 {
                try txn.delete("t", key)
                model[key] = nil
            } else {
                let value = random.bytes(Int(random.next() % 40))
                try txn.put("t", key, value)
                model[key] = value
            }
            let branches = txn.changedNodes.values.filter { if case .branch = $0 { true } else { false } }.count
            mostLeaves = max(mostLeaves, txn.changedNodes.count - branches)
        }
        XCTAssertLessThan(mostLeaves, 64)
        XCTAssertGreaterThan(txn.writtenNodes.count, 500, "most leaves should be on the file already")
        for (key, value) in model.prefix(2_000) { XCTAssertEqual(try txn.get("t", key), value) }
        try txn.commit()
        XCTAssertEqual(try state(engine), model)
        try assertSound(engine)
        engine.close()
        let reopened = try StorageEngine.open(path: "/db", fileSystem: SimulatedFileSystem(disk: disk))
        XCTAssertEqual(try state(reopened), model)
        try assertSound(reopened)
        reopened.close()
    }

    /// Values written early and then replaced or deleted in the same transaction give their pages
    /// back to it; an abort leaves the committed state, and the pages it wrote are reused later.
    func testReplacedDeletedAndAbortedValuesWrittenEarly() throws {
        let disk = SimulatedDisk()
        let engine = try StorageEngine.open(path: "/db", options: options(held: 1), fileSystem: SimulatedFileSystem(disk: disk))
        var random = SeededRandom(seed: 11)
        var committed: State = [:]
        try engine.write { txn in
            try txn.createTree("t")
            for i in 0..<20 {
                let key = Array("k\(i)".utf8)
                let value = random.bytes(3_000)
                try txn.put("t", key, value)
                committed[key] = value
            }
        }
        // Replaced twice and deleted inside one transaction, then aborted.
        let aborted = try engine.beginWrite()
        for i in 0..<20 {
            let key = Array("k\(i)".utf8)
            try aborted.put("t", key, random.bytes(4_000))
            try aborted.put("t", key, random.bytes(2_500))
            if i % 3 == 0 { try aborted.delete("t", key) }
        }
        XCTAssertFalse(aborted.writtenRaw.isEmpty)
        aborted.abort()
        XCTAssertEqual(try state(engine), committed)
        try assertSound(engine)
        // The same, committed: the pool's pages (written early, then freed) are reused.
        var model = committed
        try engine.write { txn in
            for i in 0..<20 {
                let key = Array("k\(i)".utf8)
                try txn.put("t", key, random.bytes(4_000))
                let value = random.bytes(2_500)
                try txn.put("t", key, value)
                model[key] = value
                XCTAssertEqual(try txn.get("t", key), value)
                if i % 3 == 0 {
                    try txn.delete("t", key)
                    model[key] = nil
                }
            }
        }
        XCTAssertEqual(try state(engine), model)
        try assertSound(engine)
        engine.close()
        let reopened = try StorageEngine.open(path: "/db", fileSystem: SimulatedFileSystem(disk: disk))
        XCTAssertEqual(try state(reopened), model)
        try assertSound(reopened)
        reopened.close()
    }

    func randomTransaction(_ txn: WriteTransaction, _ model: inout State, _ random: inout SeededRandom) throws {
        try txn.createTree("t")
        for _ in 0..<(1 + Int(random.next() % 12)) {
            let key = Array("k\(random.next() % 60)".utf8)
            if random.next() % 5 == 0 {
                try txn.delete("t", key)
                model[key] = nil
            } else {
                // Mostly values of several 1 KiB pages, so most of a commit's pages go out early.
                let length = random.next() % 4 == 0 ? Int(random.next() % 200) : 1_000 + Int(random.next() % 6_000)
                let value = random.bytes(length)
                try txn.put("t", key, value)
                model[key] = value
            }
        }
    }

    /// Power loss at random points while every overflow page is written as soon as it is stored,
    /// and leaves whenever two nodes are held:
    /// the reopened database holds the committed state, or the one in flight, and is sound.
    func testPowerLossWithOverflowWrittenEarly() throws {
        let outcomes = try runPowerLossTrials(
            trials: 300, seed: { UInt64($0) &* 104_729 &+ 3 }, crashWithin: 500, transactions: 30,
            options: options(held: 1, nodes: 2), reopenOptions: options(held: 1, nodes: 2), abortOneIn: 6,
            transaction: randomTransaction)
        XCTAssertGreaterThan(outcomes.previous, 0)
        XCTAssertGreaterThan(outcomes.inFlight, 0)
    }

    /// A failed early write spoils the transaction and latches the engine, as a failed commit does;
    /// the committed state stays readable and survives a reopen.
    func testAFailedEarlyWriteLatches() throws {
        for code in [EIO, ENOSPC] {
            let disk = SimulatedDisk()
            let fs = SimulatedFileSystem(disk: disk)
            let engine = try StorageEngine.open(path: "/db", options: options(held: 1), fileSystem: fs)
            var random = SeededRandom(seed: 3)
            var before: State = [:]
            try engine.write { try randomTransaction($0, &before, &random) }
            disk.fail(.write, nth: 1, errno: code)
            let txn = try engine.beginWrite()
            XCTAssertThrowsError(try txn.put("t", Array("big".utf8), random.bytes(5_000)))
            // Spoiled: nothing more goes through it.
            XCTAssertThrowsError(try txn.put("t", Array("small".utf8), [1]))
            txn.abort()
            XCTAssertNotNil(engine.readOnlyReason)
            XCTAssertEqual(try state(engine), before)
            engine.close()
            disk.clearFaults()
            let reopened = try StorageEngine.open(path: "/db", fileSystem: fs)
            XCTAssertEqual(try state(reopened), before)
            try assertSound(reopened)
            reopened.close()
        }
    }
}
