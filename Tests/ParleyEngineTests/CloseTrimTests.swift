import Foundation
import XCTest
@testable import ParleyEngine

/// A clean close cuts the file's growth allowance past its last page.
final class CloseTrimTests: XCTestCase {
    private func fill(_ engine: StorageEngine, from start: Int, count: Int) throws {
        try engine.write { txn in
            if try !txn.treeExists("t") { try txn.createTree("t") }
            for i in start..<(start + count) { try txn.put("t", Array("key-\(i)".utf8), Bytes(repeating: UInt8(i % 251), count: 300)) }
        }
    }

    func testCloseCutsTheFileToItsPagesAndReopens() throws {
        let path = try temporaryDirectory(self) + "/trim.parley"
        // A 4 MiB growth step leaves most of the file past the last page while open.
        let options = EngineOptions(pageSize: 4096, growthStep: 4 << 20)
        var engine = try StorageEngine.open(path: path, options: options)
        try fill(engine, from: 0, count: 3000)
        let pages = engine.pageCount
        XCTAssertGreaterThan(try FileManager.default.attributesOfItem(atPath: path)[.size] as? UInt64 ?? 0, pages * 4096)
        engine.close()
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: path)[.size] as? UInt64, pages * 4096)
        engine = try StorageEngine.open(path: path, options: options)
        XCTAssertEqual(try engine.read { try $0.count("t") }, 3000)
        try assertSound(engine)
        // It grows again from there.
        try fill(engine, from: 3000, count: 3000)
        XCTAssertEqual(try engine.read { try $0.get("t", Array("key-5999".utf8)) }, Bytes(repeating: UInt8(5999 % 251), count: 300))
        try assertSound(engine)
        engine.close()
        engine = try StorageEngine.open(path: path, options: options)
        defer { engine.close() }
        XCTAssertEqual(try engine.read { try $0.count("t") }, 6000)
        try assertSound(engine)
    }

    /// Power lost during the close (before, during or after the cut, whichever parts of it
    /// reached the disk) leaves every commit, and a sound file.
    func testPowerLossAroundTheCutLosesNothing() throws {
        let options = EngineOptions(pageSize: 4096, growthStep: 1 << 20)
        for seed in UInt64(0)..<8 {
            let disk = SimulatedDisk()
            let engine = try StorageEngine.open(path: "/db", options: options, fileSystem: SimulatedFileSystem(disk: disk))
            try fill(engine, from: 0, count: 2000)
            engine.close()
            let survived = disk.powerLoss(seed: seed)
            let reopened = try StorageEngine.open(path: "/db", options: options, fileSystem: SimulatedFileSystem(disk: survived))
            defer { reopened.close() }
            XCTAssertEqual(try reopened.read { try $0.count("t") }, 2000, "seed \(seed)")
            try assertSound(reopened)
        }
    }

    /// A latched engine (a failed write) leaves its file as it is.
    func testLatchedEngineDoesNotCut() throws {
        let disk = SimulatedDisk()
        let options = EngineOptions(pageSize: 4096, growthStep: 1 << 20)
        let fs = SimulatedFileSystem(disk: disk)
        let engine = try StorageEngine.open(path: "/db", options: options, fileSystem: fs)
        try fill(engine, from: 0, count: 500)
        let file = try fs.openFile(at: "/db", .existing)
        let before = try file.size()
        disk.fail(.write, nth: 1, errno: EIO)
        XCTAssertThrowsError(try fill(engine, from: 500, count: 500))
        disk.clearFaults()
        engine.close()
        XCTAssertEqual(try file.size(), before)
        file.close()
    }
}
