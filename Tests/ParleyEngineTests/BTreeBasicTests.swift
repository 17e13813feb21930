import XCTest
@testable import ParleyEngine

final class BTreeBasicTests: XCTestCase {
    func testPutGetReopenOnRealFile() throws {
        let directory = try temporaryDirectory(self)
        let path = directory + "/basic.parley"
        do {
            let engine = try StorageEngine.open(path: path)
            try engine.write { txn in
                try txn.createTree("t")
                for i in 0..<2000 {
                    try txn.put("t", Array("key-\(i)".utf8), Array("value-\(i)".utf8))
                }
            }
            XCTAssertEqual(try engine.read { try $0.get("t", Array("key-42".utf8)) }, Array("value-42".utf8))
            try assertSound(engine)
            engine.close()
        }
        let engine = try StorageEngine.open(path: path)
        defer { engine.close() }
        XCTAssertEqual(try engine.read { try $0.count("t") }, 2000)
        XCTAssertEqual(try engine.read { try $0.get("t", Array("key-1999".utf8)) }, Array("value-1999".utf8))
        XCTAssertNil(try engine.read { try $0.get("t", Array("key-2000".utf8)) })
        try assertSound(engine)
    }

    /// Keys that only grow fill their pages (the split at the right edge keeps the left page
    /// full); random keys fill them about three quarters.
    func testIncreasingKeysFillPages() throws {
        func pages(_ keys: [UInt64]) throws -> UInt64 {
            let engine = try StorageEngine.open(path: "/db", fileSystem: SimulatedFileSystem())
            defer { engine.close() }
            try engine.write { txn in
                try txn.createTree("t")
                for key in keys {
                    var bytes: Bytes = []
                    withUnsafeBytes(of: key.bigEndian) { bytes.append(contentsOf: $0) }
                    try txn.put("t", bytes, Bytes(repeating: 7, count: 24))
                }
            }
            try assertSound(engine)
            XCTAssertEqual(try engine.read { try $0.count("t") }, UInt64(keys.count))
            return try engine.checkIntegrity().treePages
        }
        let count = 20_000
        // 8-byte key + 24-byte value + cell and slot overhead: a lower bound on the bytes needed.
        let minimum = UInt64(count * 32 / 4096)
        let sequential = try pages((0..<UInt64(count)).map { $0 })
        XCTAssertLessThan(Double(sequential), Double(minimum) * 1.35, "sequential inserts: \(sequential) pages")
        var rng = SeededRandom(seed: 5)
        let random = try pages((0..<count).map { _ in rng.next() })
        XCTAssertGreaterThan(random, sequential)
    }

    func testCursorBothWaysAndSeeks() throws {
        let fs = SimulatedFileSystem()
        let engine = try StorageEngine.open(path: "/db", fileSystem: fs)
        let keys = (0..<500).map { Array(String(format: "%05d", $0 * 2).utf8) }
        try engine.write { txn in
            try txn.createTree("t")
            for key in keys.shuffled() { try txn.put("t", key, key) }
        }
        try engine.read { txn in
            let cursor = try txn.cursor("t")
            var forward: [Bytes] = []
            var entry = try cursor.first()
            while let (key, _) = entry { forward.append(key); entry = try cursor.next() }
            XCTAssertEqual(forward, keys)
            var backward: [Bytes] = []
            entry = try cursor.last()
            while let (key, _) = entry { backward.append(key); entry = try cursor.previous() }
            XCTAssertEqual(backward, keys.reversed())
            XCTAssertEqual(try cursor.seek(atOrAfter: Array("00003".utf8))?.key, Array("00004".utf8))
            XCTAssertEqual(try cursor.seek(atOrBefore: Array("00003".utf8))?.key, Array("00002".utf8))
            XCTAssertEqual(try cursor.seek(atOrAfter: Array("00004".utf8))?.key, Array("00004".utf8))
            XCTAssertNil(try cursor.seek(atOrAfter: Array("99999".utf8)))
            XCTAssertNil(try cursor.seek(atOrBefore: Array("".utf8)))
            XCTAssertEqual(try cursor.seek(atOrBefore: Array("99999".utf8))?.key, keys.last)
        }
    }

    func testLargeValuesUseOverflowAndAreFreed() throws {
        let fs = SimulatedFileSystem()
        let engine = try StorageEngine.open(path: "/db", fileSystem: fs)
        var random = SeededRandom(seed: 7)
        let big = random.bytes(64 * 1024)
        try engine.write { txn in
            try txn.createTree("t")
            try txn.put("t", [1], big)
            try txn.put("t", [2], [])
        }
        XCTAssertEqual(try engine.read { try $0.get("t", [1]) }, big)
        XCTAssertEqual(try engine.read { try $0.get("t", [2]) }, [])
        try assertSound(engine)
        try engine.write { txn in XCTAssertTrue(try txn.delete("t", [1])) }
        try engine.write { txn in try txn.put("t", [3], [9]) }
        try assertSound(engine)
        XCTAssertGreaterThan(engine.freePageCount, 10)
    }

    func testAbortLeavesNoTrace() throws {
        let fs = SimulatedFileSystem()
        let engine = try StorageEngine.open(path: "/db", fileSystem: fs)
        try engine.write { txn in try txn.createTree("t"); try txn.put("t", [1], [1]) }
        let generation = engine.generation
        struct Stop: Error {}
        XCTAssertThrowsError(try engine.write { txn in
            try txn.put("t", [2], [2])
            try txn.createTree("u")
            throw Stop()
        })
        XCTAssertEqual(engine.generation, generation)
        XCTAssertNil(try engine.read { try $0.get("t", [2]) })
        XCTAssertFalse(try engine.read { try $0.treeExists("u") })
        try assertSound(engine)
    }

    func testErrorsForBadArguments() throws {
        let engine = try StorageEngine.open(path: "/db", fileSystem: SimulatedFileSystem())
        try engine.write { txn in
            try txn.createTree("t")
            let tooLong = Bytes(repeating: 1, count: txn.maximumKeyLength + 1)
            XCTAssertThrowsError(try txn.put("t", tooLong, [])) { error in
                guard case EngineError.keyTooLarge = error else { return XCTFail("\(error)") }
            }
            XCTAssertThrowsError(try txn.put("missing", [1], [])) { error in
                XCTAssertEqual(error as? EngineError, .treeNotFound(name: "missing"))
            }
        }
        XCTAssertThrowsError(try StorageEngine.open(path: "/other", options: EngineOptions(pageSize: 3000), fileSystem: SimulatedFileSystem()))
    }

    func testDropTreeFreesItsPages() throws {
        let engine = try StorageEngine.open(path: "/db", fileSystem: SimulatedFileSystem())
        try engine.write { txn in
            try txn.createTree("a")
            try txn.createTree("b")
            for i in 0..<3000 { try txn.put("a", Array("k\(i)".utf8), Bytes(repeating: 1, count: 100)) }
            try txn.put("b", [1], [1])
        }
        try engine.write { txn in try txn.dropTree("a") }
        XCTAssertEqual(try engine.read { try $0.treeNames() }, ["b"])
        try assertSound(engine)
        XCTAssertGreaterThan(engine.freePageCount, 50)
    }

    func testWriteCursorSeesItsOwnChanges() throws {
        let engine = try StorageEngine.open(path: "/db", fileSystem: SimulatedFileSystem())
        try engine.write { txn in
            try txn.createTree("t")
            for i in 0..<100 { try txn.put("t", [UInt8(i)], [UInt8(i)]) }
            let cursor = try txn.cursor("t")
            var seen: [UInt8] = []
            var entry = try cursor.first()
            while let (key, _) = entry {
                seen.append(key[0])
                // Deleting the next even key while walking must not derail the cursor.
                if key[0] % 2 == 0, key[0] < 98 { try txn.delete("t", [key[0] + 2]) }
                entry = try cursor.next()
            }
            // Keys 0, 4, 8, ... delete 2, 6, 10, ...: the walk skips exactly those.
            let expected = (0..<100).filter { $0 % 4 != 2 }.map(UInt8.init)
            XCTAssertEqual(seen, expected)
            XCTAssertEqual(try txn.count("t"), UInt64(expected.count))
        }
    }
}

final class MappedReadTests: XCTestCase {
    /// Readers of a real file take the mapping once and read every page in place; work that
    /// belongs to writing, and every read of the simulated file (no mapping), asks the file for
    /// each page. All read the same.
    func testReadersOfARealFileReadPagesInPlace() throws {
        let path = try temporaryDirectory(self) + "/mapped.parley"
        for reopen in [false, true] {
            let engine = try StorageEngine.open(path: path)
            if !reopen {
                try engine.write { txn in
                    try txn.createTree("t")
                    for i in 0..<3000 { try txn.put("t", Array("key-\(i)".utf8), Array("value-\(i)".utf8)) }
                }
            }
            let reader = try engine.beginRead()
            XCTAssertNotNil(reader.pageReader.mapped, "reopened: \(reopen)")
            XCTAssertEqual(try reader.get("t", Array("key-2999".utf8)), Array("value-2999".utf8))
            reader.close()
            engine.close()
        }
        // Work that belongs to writing reads page by page, so that the resident limit counts it.
        let engine = try StorageEngine.open(path: path)
        let counted = try engine.beginRead(checkingEveryPage: false, readingInPlace: false)
        XCTAssertNil(counted.pageReader.mapped)
        XCTAssertEqual(try counted.get("t", Array("key-2999".utf8)), Array("value-2999".utf8))
        counted.close()
        engine.close()
        let disk = SimulatedDisk()
        let simulated = try StorageEngine.open(path: "/sim.parley", fileSystem: SimulatedFileSystem(disk: disk))
        defer { simulated.close() }
        try simulated.write { txn in
            try txn.createTree("t")
            try txn.put("t", [1], [2])
        }
        let reader = try simulated.beginRead()
        defer { reader.close() }
        XCTAssertNil(reader.pageReader.mapped)
        XCTAssertEqual(try reader.get("t", [1]), [2])
    }
}

final class EngineReadModeTests: XCTestCase {
    /// Readers' snapshots read in place; a write transaction's snapshot reads page by page, so
    /// the resident limit bounds what ingest keeps mapped.
    func testWriteTransactionsReadPageByPage() throws {
        let path = try temporaryDirectory(self) + "/modes.parley"
        let engine = try Engine.open(path: path)
        try engine.write { txn in
            try txn.createTree("t")
            try txn.put("t", [1], [2])
        }
        try engine.checkpoint()
        let reader = try engine.snapshot()
        XCTAssertNotNil(reader.view.base.pageReader.mapped)
        reader.close()
        let transaction = try engine.beginWrite()
        XCTAssertNil(try XCTUnwrap(transaction.snapshot).view.base.pageReader.mapped)
        XCTAssertEqual(try transaction.get("t", [1]), [2])
        transaction.abort()
        try engine.close()
    }
}
