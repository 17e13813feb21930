import XCTest
@testable import ParleyEngine

/// Open leaves the freelist to the first write transaction, the only user of it: an open that
/// only reads never reads its chunk pages, and a writer still checks every chunk and entry before
/// it hands out a page.
final class LazyFreelistTests: XCTestCase {
    private let options = EngineOptions(pageSize: 1024, growthStep: 1024)

    /// A closed database with free pages: its disk, the freelist's chunk pages and its free count.
    private func makeDatabase() throws -> (disk: SimulatedDisk, chunks: [PageID], free: UInt64) {
        let disk = SimulatedDisk()
        let engine = try StorageEngine.open(path: "/db", options: options, fileSystem: SimulatedFileSystem(disk: disk))
        var random = SeededRandom(seed: 21)
        try engine.write { txn in
            try txn.createTree("a")
            for i in 0..<400 { try txn.put("a", Array("key\(i)".utf8), random.bytes(Int(random.next() % 90))) }
            try txn.put("a", Array("large".utf8), random.bytes(6000))
        }
        for round in 0..<3 {
            try engine.write { txn in
                for i in stride(from: round, to: 400, by: 4) { try txn.delete("a", Array("key\(i)".utf8)) }
            }
        }
        let list = try engine.committedFreelist()
        engine.close()
        XCTAssertGreaterThan(list.freeCount, 0, "the deletes freed pages")
        return (disk, list.chunks.map(\.page), list.freeCount)
    }

    func testAnOpenThatOnlyReadsNeverReadsTheFreelist() throws {
        let (disk, chunks, free) = try makeDatabase()
        let expected = try {
            let engine = try StorageEngine.open(path: "/db", options: options, fileSystem: SimulatedFileSystem(disk: disk))
            defer { engine.close() }
            return try contents(engine, "a")
        }()
        // Every chunk page damaged: an open that read the list would fail.
        for page in chunks {
            let offset = Int(page) * options.pageSize + options.pageSize / 2
            let original = try XCTUnwrap(disk.liveBytes(path: "/db"))
            disk.overwrite(path: "/db", at: offset, with: [original[offset] ^ 0x41])
        }
        let damaged = try XCTUnwrap(disk.liveBytes(path: "/db"))
        let engine = try StorageEngine.open(path: "/db", options: options, fileSystem: SimulatedFileSystem(disk: disk))
        defer { engine.close() }
        let read = try contents(engine, "a")
        XCTAssertEqual(read.map(\.0), expected.map(\.0))
        XCTAssertEqual(read.map(\.1), expected.map(\.1))
        XCTAssertEqual(engine.freePageCount, free, "before the list is read, the meta page's count")

        // The writer reads the list first and refuses it, before writing anything; every time.
        for _ in 0..<2 {
            XCTAssertThrowsError(try engine.write { try $0.put("a", [1], [2]) }) { error in
                XCTAssertTrue((error as? EngineError)?.isCorruption ?? false, "\(error)")
            }
        }
        XCTAssertEqual(disk.liveBytes(path: "/db"), damaged, "a refused writer wrote nothing")
        XCTAssertEqual(try contents(engine, "a").count, expected.count, "readers go on")
        let problems = try engine.checkIntegrity().problems
        XCTAssertTrue(problems.contains { $0.hasPrefix("freelist") }, "\(problems)")
    }

    func testTheFirstWriterReusesTheFreePages() throws {
        let (disk, _, free) = try makeDatabase()
        let engine = try StorageEngine.open(path: "/db", options: options, fileSystem: SimulatedFileSystem(disk: disk))
        defer { engine.close() }
        let pageCount = engine.pageCount
        try engine.write { txn in
            for i in 0..<40 { try txn.put("a", Array("new\(i)".utf8), Bytes(repeating: UInt8(i), count: 60)) }
        }
        XCTAssertEqual(engine.pageCount, pageCount, "the commit's pages came from the freelist")
        XCTAssertLessThan(engine.freePageCount, free)
        try assertSound(engine)
        XCTAssertEqual(try engine.read { try $0.get("a", Array("new7".utf8)) }, Bytes(repeating: 7, count: 60))
    }
}
