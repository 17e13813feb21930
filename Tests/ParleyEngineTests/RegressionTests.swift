import XCTest
@testable import ParleyEngine

/// Tests for bugs found in review, each failing before its fix.
final class RegressionTests: XCTestCase {
    /// A dropTree that failed on a corrupt page had already freed pages; a commit after it put
    /// live pages on the freelist. Now nothing is freed and the transaction cannot commit.
    func testFailedDropTreeSpoilsTheTransaction() throws {
        let disk = SimulatedDisk()
        let options = EngineOptions(pageSize: 1024, growthStep: 1024)
        var engine = try StorageEngine.open(path: "/db", options: options, fileSystem: SimulatedFileSystem(disk: disk))
        try engine.write { txn in
            try txn.createTree("t")
            try txn.createTree("u")
            for i in 0..<400 { try txn.put("t", Array("key\(1000 + i)".utf8), Bytes(repeating: 7, count: 40)) }
        }
        // The leftmost leaf is the last page the walk reaches.
        var leftmost: PageID = 0
        try engine.read { txn in
            guard var id = try txn.treeDescriptor(named: "t", catalogRoot: txn.meta.catalog.root)?.root else {
                return XCTFail("no tree")
            }
            while case .branch(let branch) = try txn.node(id) { id = branch.children[0] }
            leftmost = id
        }
        engine.close()
        let copy = disk.powerLoss(seed: 0)
        copy.overwrite(path: "/db", at: Int(leftmost) * 1024 + 100, with: [0xAB])
        engine = try StorageEngine.open(path: "/db", options: options, fileSystem: SimulatedFileSystem(disk: copy))
        defer { engine.close() }
        let txn = try engine.beginWrite()
        XCTAssertThrowsError(try txn.dropTree("t"))
        XCTAssertThrowsError(try txn.put("u", [1], [1]))
        XCTAssertThrowsError(try txn.commit())
        XCTAssertEqual(engine.freePageCount, 0)
        let problems = try engine.checkIntegrity().problems
        XCTAssertFalse(problems.contains { $0.contains("used twice") }, "\(problems.prefix(3))")
    }

    /// A read transaction of a closed engine read through a descriptor number that another open
    /// file had reused, returning the other database's data.
    func testReaderOfClosedEngineThrows() throws {
        let directory = try temporaryDirectory(self)
        for (name, value) in [("one", "ONE"), ("two", "TWO")] {
            let engine = try StorageEngine.open(path: directory + "/" + name)
            try engine.write { try $0.createTree("t"); try $0.put("t", [1], Array(value.utf8)) }
            engine.close()
        }
        let first = try StorageEngine.open(path: directory + "/one")
        let reader = try first.beginRead()
        let cursor = try reader.cursor("t")
        first.close()
        let second = try StorageEngine.open(path: directory + "/two")
        defer { second.close() }
        XCTAssertThrowsError(try reader.get("t", [1]))
        XCTAssertThrowsError(try cursor.first())
        // A cursor that outlives its transaction refuses too.
        let escaped = try second.read { try $0.cursor("t") }
        XCTAssertThrowsError(try escaped.first())
    }

    /// A checksum-valid branch with a key over the size limit crashed the process when a split
    /// pushed it past a page. Such a page is now refused when read.
    func testOversizedKeyOnDiskIsCorruptionNotATrap() throws {
        let directory = try temporaryDirectory(self)
        let engine = try StorageEngine.open(path: directory + "/db")
        defer { engine.close() }
        let k1: Bytes = [0x62] + Bytes(repeating: 0x10, count: 996)
        let k3: Bytes = [0x63] + Bytes(repeating: 0x10, count: 2999)
        let txn = try engine.beginWrite()
        try txn.createTree("t")
        let l0 = txn.allocatePage(), l1 = txn.allocatePage(), l2 = txn.allocatePage(), b = txn.allocatePage()
        txn.changedNodes[l0] = .leaf(LeafNode(keys: [[0x61]], values: [.inline([1])]))
        txn.changedNodes[l1] = .leaf(LeafNode(keys: [k1], values: [.inline([1])]))
        txn.changedNodes[l2] = .leaf(LeafNode(keys: [k3], values: [.inline([1])]))
        txn.changedNodes[b] = .branch(BranchNode(keys: [k1, k3], children: [l0, l1, l2]))
        txn.trees["t"] = TreeDescriptor(root: b, count: 3)
        txn.changedTrees.insert("t")
        try txn.commit()
        XCTAssertThrowsError(try engine.write { txn in
            for i in 1...4 { try txn.put("t", [0x62] + Bytes(repeating: 0x10 + UInt8(i), count: 996), [1]) }
        }) { error in
            XCTAssertTrue((error as? EngineError)?.isCorruption ?? false, "\(error)")
        }
        XCTAssertFalse(try engine.checkIntegrity().isSound)
    }

    /// The writer gate has no owner thread: a transaction begun on one thread may end on another,
    /// and a thread that opens a second write transaction gets an error instead of hanging.
    func testWriteTransactionEndsOnAnotherThreadAndReentryThrows() throws {
        let engine = try StorageEngine.open(path: "/db", fileSystem: SimulatedFileSystem())
        defer { engine.close() }
        let txn = try engine.beginWrite()
        XCTAssertThrowsError(try engine.beginWrite())
        try txn.createTree("t")
        let done = expectation(description: "committed elsewhere")
        let box = SharedLocked<WriteTransaction?>(txn)
        Thread.detachNewThread {
            if let txn = box.withLock({ $0 }) { try? txn.commit() }
            done.fulfill()
        }
        wait(for: [done], timeout: 10)
        box.withLock { $0 = nil }
        try engine.write { try $0.put("t", [1], [1]) }
        XCTAssertEqual(try engine.read { try $0.count("t") }, 1)
    }
}
