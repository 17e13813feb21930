import XCTest
@testable import ParleyEngine

/// `insertAbsent` and `deletePresent` skip the lookup `put` and `delete` make, trusting the
/// caller's claim that the key is absent or present. They must read, count and replay exactly
/// like `put` of a new key and `delete` of an old one, whether the key lives in the B+tree, in the
/// memtable or in the transaction's own changes; and debug builds must refuse a wrong claim.
final class KnownKeyWriteTests: XCTestCase {
    private func open(_ disk: SimulatedDisk) throws -> Engine {
        try Engine.open(path: "/db", options: testOptions(.full), fileSystem: SimulatedFileSystem(disk: disk))
    }

    private func key(_ i: Int) -> Bytes { Array("key\(1000 + i)".utf8) }

    /// Keys 0..<10 in the B+tree, 10..<20 in the memtable only.
    private func fill(_ engine: Engine) throws {
        try engine.write { transaction in
            _ = try transaction.createTree("t")
            for i in 0..<10 { try transaction.put("t", key(i), [UInt8(i)]) }
        }
        try engine.checkpoint()
        try engine.write { transaction in
            for i in 10..<20 { try transaction.put("t", key(i), [UInt8(i)]) }
        }
    }

    func testKnownKeyWritesReadCountAndReplayLikePutAndDelete() throws {
        let disk = SimulatedDisk()
        let engine = try open(disk)
        try fill(engine)
        var model: [Bytes: Bytes] = [:]
        for i in 0..<20 { model[key(i)] = [UInt8(i)] }
        try engine.write { transaction in
            // Present in the B+tree, in the memtable, and in this transaction's own changes.
            try transaction.deletePresent("t", key(2))
            try transaction.deletePresent("t", key(12))
            try transaction.insertAbsent("t", key(30), [30])
            try transaction.deletePresent("t", key(30))
            // Absent everywhere, and absent after this transaction deleted it.
            try transaction.insertAbsent("t", key(31), [31])
            try transaction.insertAbsent("t", key(2), [2, 2])
            // Replaced where present in the B+tree, the memtable and this transaction.
            try transaction.replacePresent("t", key(3), [3, 3])
            try transaction.replacePresent("t", key(13), [13, 13])
            try transaction.replacePresent("t", key(31), [31, 31])
            XCTAssertEqual(try transaction.get("t", key(2)), [2, 2])
            XCTAssertNil(try transaction.get("t", key(12)))
            XCTAssertEqual(try transaction.count("t"), 20)
        }
        model[key(12)] = nil
        model[key(31)] = [31, 31]
        model[key(2)] = [2, 2]
        model[key(3)] = [3, 3]
        model[key(13)] = [13, 13]
        XCTAssertEqual(try engineContents(engine, "t"), model)
        XCTAssertEqual(try engine.read { try $0.count("t") }, UInt64(model.count))

        // Replayed from the log after a power loss (every commit was durable), then checkpointed.
        let survivor = disk.powerLoss(seed: 3)
        try engine.close()
        let recovered = try open(survivor)
        XCTAssertEqual(try engineContents(recovered, "t"), model)
        XCTAssertEqual(try recovered.read { try $0.count("t") }, UInt64(model.count))
        try recovered.checkpoint()
        XCTAssertEqual(try engineContents(recovered, "t"), model)
        XCTAssertEqual(try recovered.read { try $0.count("t") }, UInt64(model.count))
        try recovered.close()
    }

    func testKnownKeyWritesNeedTheTree() throws {
        let engine = try open(SimulatedDisk())
        defer { try? engine.close() }
        try fill(engine)
        try engine.write { transaction in
            XCTAssertThrowsError(try transaction.insertAbsent("missing", key(1), [1]))
            XCTAssertThrowsError(try transaction.deletePresent("missing", key(1)))
            XCTAssertThrowsError(try transaction.replacePresent("missing", key(1), [1]))
            // A tree this transaction already changed (so its own layer holds an overlay) and
            // then dropped: the overlay's answer is the drop's, not the earlier change's.
            try transaction.insertAbsent("t", key(30), [1])
            try transaction.dropTree("t")
            XCTAssertThrowsError(try transaction.insertAbsent("t", key(40), [1]))
            XCTAssertThrowsError(try transaction.put("t", key(41), [1]))
            XCTAssertTrue(try transaction.createTree("t"))
            try transaction.insertAbsent("t", key(42), [1])
            XCTAssertEqual(try transaction.count("t"), 1)
        }
    }

    #if DEBUG
    func testDebugBuildsRefuseAWrongClaimAndChangeNothing() throws {
        let engine = try open(SimulatedDisk())
        defer { try? engine.close() }
        try fill(engine)
        try engine.write { transaction in
            XCTAssertThrowsError(try transaction.insertAbsent("t", key(1), [9]))
            XCTAssertThrowsError(try transaction.insertAbsent("t", key(11), [9]))
            XCTAssertThrowsError(try transaction.deletePresent("t", key(50)))
            try transaction.put("t", key(51), [51])
            try transaction.delete("t", key(51))
            XCTAssertThrowsError(try transaction.deletePresent("t", key(51)))
            XCTAssertThrowsError(try transaction.replacePresent("t", key(51), [9]))
            XCTAssertThrowsError(try transaction.replacePresent("t", key(52), [9]))
            XCTAssertEqual(try transaction.get("t", key(1)), [1])
            XCTAssertEqual(try transaction.count("t"), 20)
        }
        XCTAssertEqual(try engine.read { try $0.count("t") }, 20)
    }
    #endif
}
