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
    private func churn(_ engine: Engine, seed: UInt64) throws -> [String: [Bytes: Bytes]] {
        var random = SeededRandom(seed: seed)
        var model: [String: [Bytes: Bytes]] = ["t": [:], "u": [:]]
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
            XCTAssertEqual(try engineContents(engine, tree), entries, "\(label): tree \(tree)")
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
