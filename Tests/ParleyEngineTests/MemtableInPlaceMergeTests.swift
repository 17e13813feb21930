import XCTest
@testable import ParleyEngine

/// A commit lays its changes over the active memtable layer. When no reader holds that layer, the
/// merge must change the layer's nodes in place: the committing transaction's own snapshot used to
/// hold the layer until after the merge, so every commit copied the path to each key it set (a
/// fifth of a state set's instructions at the benchmark's standard scale). A reader that does hold
/// the layer must still see its own version.
final class MemtableInPlaceMergeTests: XCTestCase {
    private func openEngine() throws -> Engine {
        var options = DatabaseOptions()
        options.durability = .normal
        options.backgroundWork = false
        return try Engine.open(path: try temporaryDirectory(self) + "/merge.parley", options: options)
    }

    /// Tree "t" holding keys 1, 2 and 3 (value = key), each put by its own commit.
    private func fillKeysOneToThree(_ engine: Engine) throws {
        try engine.write { _ = try $0.createTree("t") }
        for key: UInt8 in 1...3 { try engine.write { try $0.put("t", [key], [key]) } }
    }

    func testACommitWithNoReaderChangesTheActiveLayerInPlace() throws {
        let engine = try openEngine()
        defer { try? engine.close() }
        try fillKeysOneToThree(engine)
        // Keys 1, 2, 3 sit in one leaf, the root; key 4 fits in it without a split.
        weak let root = engine.activeMapRoot("t")
        XCTAssertNotNil(root)
        try engine.write { transaction in
            try transaction.put("t", [4], [4])
            try transaction.put("t", [2], [20])
        }
        XCTAssertNotNil(root, "the root node was replaced by a copy")
        XCTAssertTrue(root === engine.activeMapRoot("t"))
        let snapshot = try engine.snapshot()
        defer { snapshot.close() }
        XCTAssertEqual(try snapshot.get("t", [2]), [20])
        XCTAssertEqual(try snapshot.get("t", [4]), [4])
        XCTAssertEqual(try snapshot.count("t"), 4)
    }

    func testAReaderHoldingTheActiveLayerKeepsItsVersion() throws {
        let engine = try openEngine()
        defer { try? engine.close() }
        try fillKeysOneToThree(engine)
        let reader = try engine.snapshot()
        defer { reader.close() }
        try engine.write { transaction in
            try transaction.put("t", [4], [4])
            try transaction.put("t", [2], [20])
            try transaction.delete("t", [1])
        }
        XCTAssertEqual(try reader.get("t", [1]), [1])
        XCTAssertEqual(try reader.get("t", [2]), [2])
        XCTAssertNil(try reader.get("t", [4]))
        XCTAssertEqual(try reader.count("t"), 3)
        try engine.read { latest in
            XCTAssertNil(try latest.get("t", [1]))
            XCTAssertEqual(try latest.get("t", [2]), [20])
            XCTAssertEqual(try latest.get("t", [4]), [4])
            XCTAssertEqual(try latest.count("t"), 3)
        }
    }

    /// A transaction lets go of its snapshot when it ends, and refuses reads afterwards.
    func testAnEndedTransactionHoldsNoSnapshot() throws {
        let engine = try openEngine()
        defer { try? engine.close() }
        try engine.write { _ = try $0.createTree("t") }
        let committed = try engine.beginWrite()
        XCTAssertNotNil(committed.snapshot)
        try committed.put("t", [1], [1])
        try committed.commit()
        XCTAssertNil(committed.snapshot)
        XCTAssertThrowsError(try committed.get("t", [1]))
        XCTAssertThrowsError(try committed.treeExists("t"))
        let aborted = try engine.beginWrite()
        aborted.abort()
        XCTAssertNil(aborted.snapshot)
    }
}
