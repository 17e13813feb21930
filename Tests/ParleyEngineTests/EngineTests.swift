import Foundation
import XCTest
@testable import ParleyEngine

func testOptions(_ durability: Durability = .full, background: Bool = false) -> DatabaseOptions {
    var options = DatabaseOptions()
    options.storage = EngineOptions(pageSize: 1024, growthStep: 8192)
    options.durability = durability
    options.logPreallocation = 64 * 1024
    options.logGrowthStep = 32 * 1024
    options.backgroundWork = background
    options.syncInterval = 0.01
    return options
}

func engineContents(_ engine: Engine, _ tree: String) throws -> [Bytes: Bytes] {
    try engine.read { snapshot in
        guard try snapshot.treeExists(tree) else { return [:] }
        var out: [Bytes: Bytes] = [:]
        let cursor = try snapshot.cursor(tree)
        var entry = try cursor.first()
        while let (key, value) = entry {
            out[key] = value
            entry = try cursor.next()
        }
        return out
    }
}

final class EngineTests: XCTestCase {
    func testCommitsLiveInTheLogUntilACheckpointAndACleanCloseLeavesOneFile() throws {
        let directory = try temporaryDirectory(self)
        let path = directory + "/e.parley"
        var engine = try Engine.open(path: path, options: testOptions())
        try engine.write { txn in
            try txn.createTree("t")
            for i in 0..<100 { try txn.put("t", Array("k\(i)".utf8), Array("v\(i)".utf8)) }
        }
        XCTAssertEqual(try engine.read { try $0.count("t") }, 100)
        XCTAssertEqual(engine.storage.logSequence, 0, "nothing checkpointed yet")
        XCTAssertGreaterThan(engine.logBytes, 0)
        try engine.write { txn in
            XCTAssertTrue(try txn.delete("t", Array("k5".utf8)))
            XCTAssertEqual(try txn.deleteRange("t", from: Array("k7".utf8), to: Array("k8".utf8)), 11)
        }
        XCTAssertEqual(try engine.read { try $0.count("t") }, 88)
        try engine.checkpoint()
        XCTAssertEqual(engine.storage.logSequence, 2)
        XCTAssertEqual(engine.logBytes, 0)
        XCTAssertEqual(try engine.read { try $0.count("t") }, 88)
        try engine.close()
        XCTAssertFalse(FileManager.default.fileExists(atPath: Engine.logPath(for: path)))
        engine = try Engine.open(path: path, options: testOptions())
        XCTAssertEqual(try engineContents(engine, "t").count, 88)
        XCTAssertNil(try engine.read { try $0.get("t", Array("k71".utf8)) })
        try engine.close()
    }

    func testEveryDurabilityModeCommitsAndFlushes() throws {
        for mode in Durability.allCases {
            let directory = try temporaryDirectory(self)
            let engine = try Engine.open(path: directory + "/m.parley", options: testOptions(mode, background: true))
            _ = try engine.write { try $0.createTree("t") }
            for i in 0..<200 {
                try engine.write(durability: i % 3 == 0 ? .full : nil) { try $0.put("t", [UInt8(i % 256)], [UInt8(i % 7)]) }
            }
            try engine.flush()
            let (appended, durable) = engine.log.sequences
            XCTAssertEqual(appended, durable, "\(mode)")
            XCTAssertEqual(try engine.read { try $0.count("t") }, 200)
            try engine.close()
        }
    }

    func testConcurrentFullCommittersShareSyncs() throws {
        let directory = try temporaryDirectory(self)
        let engine = try Engine.open(path: directory + "/g.parley", options: testOptions(.full, background: true))
        _ = try engine.write { try $0.createTree("t") }
        let failures = SharedLocked<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 4) { thread in
            for i in 0..<100 {
                do {
                    try engine.write { try $0.put("t", Array("\(thread)-\(i)".utf8), [1]) }
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
        }
        XCTAssertEqual(failures.withLock { $0 }, [])
        XCTAssertEqual(try engine.read { try $0.count("t") }, 400)
        try engine.close()
    }

    func testSnapshotsAreIsolatedFromLaterCommitsAndCheckpoints() throws {
        let engine = try Engine.open(path: "/s", options: testOptions(), fileSystem: SimulatedFileSystem())
        try engine.write { txn in
            try txn.createTree("t")
            for i in 0..<50 { try txn.put("t", [UInt8(i)], [0]) }
        }
        let snapshot = try engine.snapshot()
        try engine.write { txn in for i in 0..<50 { try txn.put("t", [UInt8(i)], [1]) } }
        try engine.checkpoint()
        try engine.write { txn in try txn.dropTree("t") }
        try engine.checkpoint()
        XCTAssertEqual(try snapshot.count("t"), 50)
        let cursor = try snapshot.cursor("t")
        var entry = try cursor.first()
        var seen = 0
        while let (_, value) = entry { XCTAssertEqual(value, [0]); seen += 1; entry = try cursor.next() }
        XCTAssertEqual(seen, 50)
        snapshot.close()
        XCTAssertFalse(try engine.read { try $0.treeExists("t") })
        try engine.close()
    }
}

final class EngineDiskFullTests: XCTestCase {
    /// ENOSPC while the log grows fails that commit with "disk full" and loses nothing acknowledged
    /// before it; once space is back, commits and reopens work.
    func testLogGrowthOnAFullDisk() throws {
        let disk = SimulatedDisk()
        let fs = SimulatedFileSystem(disk: disk)
        let engine = try Engine.open(path: "/db", options: testOptions(.full), fileSystem: fs)
        _ = try engine.write { try $0.createTree("t") }
        var committed = 0
        // Fill the preallocated log (64 KiB in these options), then refuse every growth.
        disk.fail(.grow, nth: 1, errno: ENOSPC, persistent: true)
        var sawDiskFull = false
        for i in 0..<400 {
            do {
                try engine.write { try $0.put("t", Array("k\(i)".utf8), Bytes(repeating: 1, count: 400)) }
                committed += 1
            } catch EngineError.diskFull {
                sawDiskFull = true
                break
            }
        }
        XCTAssertTrue(sawDiskFull)
        XCTAssertEqual(try engine.read { try $0.count("t") }, UInt64(committed))
        // Space is back: the next commit goes through without a reopen.
        disk.clearFaults()
        try engine.write { try $0.put("t", Array("after".utf8), [2]) }
        try engine.close()
        let reopened = try Engine.open(path: "/db", options: testOptions(.full), fileSystem: fs)
        XCTAssertEqual(try reopened.read { try $0.count("t") }, UInt64(committed + 1))
        try reopened.close()
    }
}
