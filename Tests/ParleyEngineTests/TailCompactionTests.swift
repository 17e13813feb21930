import XCTest
@testable import ParleyEngine

/// A clean close moves the pages in use at the end of the file into its free pages and cuts the
/// file after the last one (`TailCompaction.swift`), losing nothing, whenever power is lost.
final class TailCompactionTests: XCTestCase {
    private let path = "/db"

    private func open(_ disk: SimulatedDisk, _ options: DatabaseOptions = testOptions(.full)) throws -> Engine {
        try Engine.open(path: path, options: options, fileSystem: SimulatedFileSystem(disk: disk))
    }

    /// Commits that rewrite and delete much of two trees between checkpoints, with values inline
    /// and in overflow chains, so that the checkpoints leave free pages all through the file.
    /// Every commit is durable (durability full): the returned model is what any reopen must hold.
    private func churn(_ engine: Engine, seed: UInt64, onto start: [String: [Bytes: Bytes]] = ["t": [:], "u": [:]]) throws
        -> [String: [Bytes: Bytes]]
    {
        var random = SeededRandom(seed: seed)
        var model = start
        try engine.write { transaction in for tree in ["t", "u"] { _ = try transaction.createTree(tree) } }
        for round in 0..<6 {
            try engine.write { transaction in
                for _ in 0..<(round < 2 ? 400 : 150) {
                    let tree = random.next() % 3 == 0 ? "u" : "t"
                    let key = Array("key-\(random.next() % 700)".utf8)
                    if round >= 2, random.next() % 3 == 0 {
                        try transaction.delete(tree, key)
                        model[tree]?[key] = nil
                    } else {
                        // Most values fit a 1 KiB page's leaf; one in eight takes an overflow chain.
                        let length = random.next() % 8 == 0 ? 600 + Int(random.next() % 2500) : 8 + Int(random.next() % 120)
                        let value = Bytes(repeating: UInt8(truncatingIfNeeded: random.next()), count: length)
                        try transaction.put(tree, key, value)
                        model[tree]?[key] = value
                    }
                }
            }
            try engine.checkpoint()
        }
        return model
    }

    private func assertHolds(_ engine: Engine, _ model: [String: [Bytes: Bytes]], _ label: String) throws {
        for (tree, entries) in model {
            let stored = try engineContents(engine, tree)
            // Compared key by key, so that a failure names keys rather than printing every value.
            XCTAssertEqual(stored.count, entries.count, "\(label): tree \(tree) entries")
            let wrong = entries.filter { stored[$0.key] != $0.value }.map { String(decoding: $0.key, as: UTF8.self) }
            XCTAssertEqual(wrong.sorted().prefix(10), [], "\(label): tree \(tree) keys with other values")
        }
        XCTAssertEqual(try engine.checkIntegrity().problems, [], label)
    }

    func testCloseCutsTheFreePagesAndKeepsEverything() throws {
        let disk = SimulatedDisk()
        let engine = try open(disk)
        let model = try churn(engine, seed: 1)
        let before = try engine.checkIntegrity()
        XCTAssertGreaterThan(before.freePages, before.pageCount / 5, "the churn leaves free pages to give back")
        try engine.close()

        let size = try XCTUnwrap(disk.liveBytes(path: path)).count
        let reopened = try open(disk)
        defer { try? reopened.close() }
        try assertHolds(reopened, model, "after the close")
        let after = try reopened.checkIntegrity()
        XCTAssertEqual(UInt64(size), after.pageCount * 1024, "the file ends at its last page")
        XCTAssertLessThan(after.pageCount, before.pageCount - before.freePages * 3 / 4, "most free pages were cut")
        XCTAssertLessThan(after.freePages, before.freePages / 4)
    }

    /// After a compaction the free pages are low in the file and the newest pages (the trees'
    /// upper levels, rewritten by every checkpoint) high: the next close moves those few pages,
    /// not every leaf under them, and cuts the file again to about what the state needs.
    func testTheNextCloseCutsAgain() throws {
        let disk = SimulatedDisk()
        var engine = try open(disk)
        let first = try churn(engine, seed: 6)
        try engine.close()
        engine = try open(disk)
        let model = try churn(engine, seed: 7, onto: first)
        let before = try engine.checkIntegrity()
        XCTAssertGreaterThan(before.freePages, before.pageCount / 10)
        try engine.close()
        let reopened = try open(disk)
        defer { try? reopened.close() }
        try assertHolds(reopened, model, "after the second close")
        let after = try reopened.checkIntegrity()
        let needed = before.pageCount - before.freePages - before.freelistPages
        XCTAssertLessThanOrEqual(after.pageCount, needed + 8, "cut to about the pages in use (\(needed))")
    }

    /// Power lost at any point of the close: every commit is there, and the file is sound.
    func testPowerLossDuringTheCompactionLosesNothing() throws {
        // How many counted operations the close takes, from a run without a crash.
        let probe = SimulatedDisk()
        let probeEngine = try open(probe)
        _ = try churn(probeEngine, seed: 2)
        let start = probe.operationCount
        try probeEngine.close()
        let closeOperations = probe.operationCount - start
        XCTAssertGreaterThan(closeOperations, 10)

        var random = SeededRandom(seed: 5)
        for crashAfter in stride(from: 0, to: closeOperations + 1, by: max(1, closeOperations / 30)) {
            let disk = SimulatedDisk()
            let engine = try open(disk)
            let model = try churn(engine, seed: 2)
            disk.crash(afterOperations: crashAfter)
            try? engine.close()
            let survivor = disk.powerLoss(seed: random.next())
            let reopened = try open(survivor)
            try assertHolds(reopened, model, "power lost after \(crashAfter) of \(closeOperations) operations of the close")
            // And it closes (compacting again if it must) and opens once more.
            try reopened.close()
            let again = try open(survivor)
            try assertHolds(again, model, "reopened twice after \(crashAfter)")
            try again.close()
        }
    }

    /// The freelist's newest chunk can be the file's last page but one, below the only free page:
    /// the cut of the page count then drops the chunk (emptied by this commit, free only once it is
    /// durable). The commit needs a chunk of its own, no free page is left under the cut, and the
    /// page count grew back into the dropped chunk's page, which it overwrote while the durable
    /// meta still named it. Power lost before the new meta left a freelist chain that ended early.
    /// (Found by the model fuzzer: a close after a recovery, on a file of nine pages.)
    func testTheCutNeverReusesAChunkTheDurableFreelistStillNames() throws {
        let options = EngineOptions(pageSize: 4096, growthStep: 4096)
        func reopen(_ disk: SimulatedDisk) throws -> StorageEngine {
            try StorageEngine.open(path: path, options: options, fileSystem: SimulatedFileSystem(disk: disk))
        }
        func close(_ engine: StorageEngine) throws {
            try engine.compactTail(minimumFreeFraction: 0.1)
            engine.close()
        }
        /// Page by page, the state the fuzzer reached: a tree "a", trees "b" and "c" made and
        /// dropped, then "b" made again, with a compacting close after each step.
        func build(_ disk: SimulatedDisk) throws -> StorageEngine {
            var engine = try reopen(disk)
            try engine.write { try $0.createTree("a"); try $0.put("a", [1], [1]) }
            for step in 0..<3 {
                try close(engine)
                engine = try reopen(disk)
                try engine.write { transaction in
                    switch step {
                    case 0: for tree in ["b", "c"] { try transaction.createTree(tree); try transaction.put(tree, [2], [2]) }
                    case 1: for tree in ["b", "c"] { try transaction.dropTree(tree) }
                    default: try transaction.createTree("b"); try transaction.put("b", [3], [3])
                    }
                }
            }
            return engine
        }
        let shape = try build(SimulatedDisk())
        let freelist = try shape.committedFreelist()
        let lastPage = shape.pageCount - 1
        // The shape this test is about: the newest chunk just below the last page, its only entry.
        XCTAssertEqual(freelist.chunks.last?.page, lastPage - 1)
        XCTAssertEqual(freelist.allFreePages, [lastPage])
        shape.close()

        let probe = SimulatedDisk()
        let probed = try build(probe)
        let start = probe.operationCount
        try close(probed)
        let closeOperations = probe.operationCount - start
        for crashAfter in 0...closeOperations {
            for seed in UInt64(0)..<8 {
                let disk = SimulatedDisk()
                let engine = try build(disk)
                disk.crash(afterOperations: crashAfter)
                try? close(engine)
                let reopened = try reopen(disk.powerLoss(seed: seed))
                let label = "power lost after \(crashAfter) of \(closeOperations) operations of the close (seed \(seed))"
                XCTAssertEqual(try reopened.checkIntegrity().problems, [], label)
                XCTAssertEqual(try reopened.read { try $0.get("b", [3]) }, [3], label)
                reopened.close()
            }
        }
    }

    /// An open snapshot may still read any page: the close leaves the file's pages where they are.
    func testAnOpenSnapshotKeepsThePages() throws {
        let disk = SimulatedDisk()
        let engine = try open(disk)
        let model = try churn(engine, seed: 3)
        let pages = try engine.checkIntegrity().pageCount
        let snapshot = try engine.snapshot()
        try engine.close()
        snapshot.close()
        let reopened = try open(disk)
        defer { try? reopened.close() }
        XCTAssertEqual(try reopened.checkIntegrity().pageCount, pages)
        try assertHolds(reopened, model, "after a close with a snapshot open")
    }

    /// A compacted file whose next checkpoint rewrote a sixth of a large tree's leaves (and so its
    /// root and the branches above them, now the file's last pages): the close must move those
    /// pages, not every leaf under the moved root.
    func testACheckpointAfterACompactionIsCutBackToWhatTheTreeNeeds() throws {
        let disk = SimulatedDisk()
        var engine = try open(disk)
        func key(_ i: Int) -> Bytes { Array(String(format: "row-%06d", i).utf8) }
        var model: [Bytes: Bytes] = [:]
        try engine.write { transaction in
            _ = try transaction.createTree("t")
            for i in 0..<20_000 {
                try transaction.put("t", key(i), Bytes(repeating: UInt8(i % 251), count: 40))
                model[key(i)] = Bytes(repeating: UInt8(i % 251), count: 40)
            }
        }
        try engine.checkpoint()
        try engine.write { transaction in
            for i in stride(from: 0, to: 20_000, by: 2) { try transaction.delete("t", key(i)) }
        }
        for i in stride(from: 0, to: 20_000, by: 2) { model[key(i)] = nil }
        try engine.close()
        engine = try open(disk)
        XCTAssertLessThan(try engine.checkIntegrity().freePages, 10, "the first close compacted")
        try engine.write { transaction in
            // A sixth of the key space, in one range: its leaves and the path above them change.
            for i in stride(from: 1, to: 3_400, by: 2) {
                try transaction.put("t", key(i), [7])
                model[key(i)] = [7]
            }
        }
        try engine.checkpoint()
        let before = try engine.checkIntegrity()
        XCTAssertGreaterThan(before.freePages, before.pageCount / 10)
        // What the close will store again: no more keys than there are pages past the target.
        let transaction = try engine.storage.beginWrite()
        let target = transaction.takeEveryFreePageLowestFirst()
        let moves = try transaction.pagesToMove(atOrPast: target)
        transaction.abort()
        XCTAssertLessThanOrEqual(moves.count, Int(before.pageCount - target), "moves only what lies past the target")
        try engine.close()
        let reopened = try open(disk)
        defer { try? reopened.close() }
        try assertHolds(reopened, ["t": model], "after the second close")
        let after = try reopened.checkIntegrity()
        let needed = before.pageCount - before.freePages - before.freelistPages
        XCTAssertLessThanOrEqual(after.pageCount, needed + 8, "cut to about the pages in use (\(needed))")
    }

    /// From the compaction on, no read transaction starts: none may begin on pages the cut is
    /// about to remove.
    func testTheCompactionRefusesNewReaders() throws {
        let engine = try open(SimulatedDisk())
        _ = try churn(engine, seed: 8)
        XCTAssertGreaterThan(try engine.storage.compactTail(minimumFreeFraction: 0.1), 0)
        XCTAssertThrowsError(try engine.storage.beginRead()) { error in
            XCTAssertEqual(error as? EngineError, EngineError.closed)
        }
        try engine.close()
    }

    /// A fraction of 1 turns the compaction off.
    func testTheOptionTurnsItOff() throws {
        var options = testOptions(.full)
        options.storage.closeCompactionFreeFraction = 1
        let disk = SimulatedDisk()
        let engine = try open(disk, options)
        let model = try churn(engine, seed: 4)
        let pages = try engine.checkIntegrity().pageCount
        try engine.close()
        let reopened = try open(disk, options)
        defer { try? reopened.close() }
        XCTAssertEqual(try reopened.checkIntegrity().pageCount, pages)
        try assertHolds(reopened, model, "with the compaction off")
    }
}
