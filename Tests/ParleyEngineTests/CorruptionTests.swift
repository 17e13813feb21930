import XCTest
@testable import ParleyEngine

/// One changed byte anywhere in a page the database uses is reported as a typed error (at open,
/// at a read, or by the integrity walk), never a trap.
final class CorruptionTests: XCTestCase {
    func makeDatabase() throws -> (SimulatedDisk, pageSize: Int, pageCount: UInt64, free: Set<PageID>) {
        let disk = SimulatedDisk()
        let fs = SimulatedFileSystem(disk: disk)
        let engine = try StorageEngine.open(path: "/db", options: EngineOptions(pageSize: 1024, growthStep: 1024), fileSystem: fs)
        var random = SeededRandom(seed: 5)
        try engine.write { txn in
            try txn.createTree("a")
            try txn.createTree("b")
            for i in 0..<300 { try txn.put("a", Array("key\(i)".utf8), random.bytes(Int(random.next() % 80))) }
            try txn.put("b", [1], random.bytes(5000))
        }
        try engine.write { txn in
            for i in 0..<100 { try txn.delete("a", Array("key\(i * 3)".utf8)) }
        }
        let free = Set(try engine.committedFreelist().allFreePages)
        let pageCount = engine.pageCount
        engine.close()
        return (disk, 1024, pageCount, free)
    }

    /// Reads everything: every tree forward and backward, then the integrity walk.
    func readEverything(_ engine: StorageEngine) throws -> [String] {
        for name in try engine.read({ try $0.treeNames() }) {
            // Batched lookups first: once a cursor has thrown, they would not be reached.
            _ = try engine.read { try $0.getMany(name, (0..<300).map { Array("key\($0)".utf8) } + [[1]]) }
            _ = try contents(engine, name)
            try engine.read { txn in
                let cursor = try txn.cursor(name)
                var entry = try cursor.last()
                while entry != nil { entry = try cursor.previous() }
            }
        }
        return try engine.checkIntegrity().problems
    }

    func testEveryChangedByteIsATypedError() throws {
        let (disk, pageSize, pageCount, free) = try makeDatabase()
        var random = SeededRandom(seed: 11)
        var detected = 0
        for page in 0..<pageCount {
            // Free pages hold nothing anyone reads; the older meta page is the spare copy.
            if free.contains(page) || page == 1 || page == 2 { continue }
            for _ in 0..<6 {
                let offset = Int(page) * pageSize + Int(random.next() % UInt64(pageSize))
                let copy = disk.powerLoss(seed: 0)
                guard let original = copy.liveBytes(path: "/db") else { return XCTFail("no file") }
                copy.overwrite(path: "/db", at: offset, with: [original[offset] ^ UInt8(1 + random.next() % 255)])
                do {
                    let engine = try StorageEngine.open(path: "/db", fileSystem: SimulatedFileSystem(disk: copy))
                    defer { engine.close() }
                    let problems = try readEverything(engine)
                    XCTAssertFalse(problems.isEmpty, "byte \(offset) of page \(page) changed unnoticed")
                    if !problems.isEmpty { detected += 1 }
                } catch let error as EngineError {
                    XCTAssertTrue(error.isCorruption, "\(error)")
                    detected += 1
                }
            }
        }
        XCTAssertGreaterThan(detected, 0)
    }

    /// Reads check a page's checksum once per process (VerifiedPages); a byte that changes on disk
    /// after that must still be caught by the integrity walk, which checks every page every time.
    func testIntegrityWalkRechecksPagesReadersAlreadyChecked() throws {
        let (disk, pageSize, _, free) = try makeDatabase()
        let engine = try StorageEngine.open(path: "/db", fileSystem: SimulatedFileSystem(disk: disk))
        defer { engine.close() }
        XCTAssertEqual(try readEverything(engine), [])
        let target = (PageLayout.firstDataPage..<engine.pageCount).first { !free.contains($0) }
        let page = try XCTUnwrap(target)
        let offset = Int(page) * pageSize + pageSize / 2
        let original = try XCTUnwrap(disk.liveBytes(path: "/db"))
        disk.overwrite(path: "/db", at: offset, with: [original[offset] ^ 0x5A])
        let problems = try engine.checkIntegrity().problems
        XCTAssertTrue(problems.contains { $0.contains("page \(page)") || $0.contains("checksum") }, "\(problems)")
    }

    func testMetaPagesFallBackAndFailCleanly() throws {
        let (disk, pageSize, _, _) = try makeDatabase()
        // The newest meta is generation 3, in slot 1; break it and the older one (slot 2) is used.
        let copy = disk.powerLoss(seed: 0)
        copy.overwrite(path: "/db", at: pageSize + 20, with: [0xFF])
        let engine = try StorageEngine.open(path: "/db", fileSystem: SimulatedFileSystem(disk: copy))
        XCTAssertEqual(engine.generation, 2)
        XCTAssertEqual(try engine.read { try $0.count("a") }, 300)
        engine.close()
        // Both broken: a clear error.
        copy.overwrite(path: "/db", at: 2 * pageSize + 20, with: [0xFF])
        XCTAssertThrowsError(try StorageEngine.open(path: "/db", fileSystem: SimulatedFileSystem(disk: copy))) { error in
            guard case EngineError.corruptFile = error else { return XCTFail("\(error)") }
        }
    }

    func testGarbageAndTruncatedFilesFailCleanly() throws {
        var random = SeededRandom(seed: 99)
        for length in [0, 10, 100, 4096, 20_000] {
            let disk = SimulatedDisk()
            let fs = SimulatedFileSystem(disk: disk)
            let file = try fs.openFile(at: "/junk", .createIfMissing)
            let bytes = random.bytes(length)
            try bytes.withUnsafeBytes { try file.write($0, at: 0) }
            try file.sync()
            file.close()
            XCTAssertThrowsError(try StorageEngine.open(path: "/junk", fileSystem: fs)) { error in
                XCTAssertTrue((error as? EngineError)?.isCorruption ?? false, "\(error)")
            }
        }
        // A real database cut short.
        let (disk, pageSize, _, _) = try makeDatabase()
        let copy = disk.powerLoss(seed: 0)
        let fs = SimulatedFileSystem(disk: copy)
        let file = try fs.openFile(at: "/db", .existing)
        try file.truncate(to: UInt64(pageSize * 5))
        file.close()
        XCTAssertThrowsError(try StorageEngine.open(path: "/db", fileSystem: fs)) { error in
            XCTAssertTrue((error as? EngineError)?.isCorruption ?? false, "\(error)")
        }
    }
}
