import XCTest
@testable import ParleyEngine

/// A merged cursor shows a tree as its layers say: the B+tree under the memtable's layers and a
/// transaction's own changes, each key once, the newest version winning, tombstones hidden.
/// Against a sorted model, random seeks both ways and walks that turn around must give exactly
/// the model's keys and values.
final class MergedCursorModelTests: XCTestCase {
    private func randomKey(_ random: inout SeededRandom) -> Bytes {
        // Few distinct short keys, so that layers often shadow and delete each other's keys.
        (0..<(1 + Int(random.next() % 3))).map { _ in UInt8(truncatingIfNeeded: 0x61 + random.next() % 6) }
    }

    /// Puts and deletes of random keys into `transaction` and `model`.
    private func change(_ transaction: Transaction, _ model: inout [Bytes: Bytes], count: Int, random: inout SeededRandom) throws {
        for _ in 0..<count {
            let key = randomKey(&random)
            if random.next() % 3 == 0 {
                _ = try transaction.delete("t", key)
                model[key] = nil
            } else {
                let value = random.bytes(Int(random.next() % 6))
                try transaction.put("t", key, value)
                model[key] = value
            }
        }
    }

    private func walk(_ cursor: MergedCursor, _ model: [Bytes: Bytes], random: inout SeededRandom) throws {
        let keys = model.keys.sorted { compareBytes($0, $1) < 0 }
        func entry(_ position: Int) -> (Bytes, Bytes)? {
            guard position >= 0, position < keys.count else { return nil }
            return (keys[position], model[keys[position]] ?? [])
        }
        func check(_ got: (key: Bytes, value: Bytes)?, _ position: Int, _ what: String) {
            let want = entry(position)
            XCTAssertEqual(got?.key, want?.0, what)
            XCTAssertEqual(got?.value, want?.1, what)
        }
        for _ in 0..<40 {
            var position: Int
            switch random.next() % 4 {
            case 0:
                position = 0
                check(try cursor.first(), position, "first")
            case 1:
                position = keys.count - 1
                check(try cursor.last(), position, "last")
            case 2:
                let probe = randomKey(&random)
                position = keys.firstIndex { compareBytes($0, probe) >= 0 } ?? keys.count
                check(try cursor.seek(atOrAfter: probe), position, "seek at or after \(probe)")
            default:
                let probe = randomKey(&random)
                position = keys.lastIndex { compareBytes($0, probe) <= 0 } ?? -1
                check(try cursor.seek(atOrBefore: probe), position, "seek at or before \(probe)")
            }
            // Steps either way, turning around now and then, until the walk falls off an end.
            for _ in 0..<Int(random.next() % 30) {
                guard position >= 0, position < keys.count else { break }
                let forward = random.next() % 3 != 0
                position += forward ? 1 : -1
                check(forward ? try cursor.next() : try cursor.previous(), position, forward ? "next" : "previous")
            }
        }
    }

    func testMergedWalksMatchAModelThroughLayersAndTransactions() throws {
        var random = SeededRandom(seed: 23)
        for round in 0..<6 {
            let engine = try Engine.open(
                path: "/db", options: testOptions(.normal), fileSystem: SimulatedFileSystem(disk: SimulatedDisk()))
            defer { try? engine.close() }
            var model: [Bytes: Bytes] = [:]
            try engine.write { transaction in
                _ = try transaction.createTree("t")
                try change(transaction, &model, count: 150, random: &random)
            }
            // The B+tree, then (in most rounds) memtable layers over it.
            try engine.checkpoint()
            for _ in 0..<(round % 3 + 1) {
                try engine.write { try change($0, &model, count: 40, random: &random) }
            }
            if round == 5 { try engine.checkpoint() }
            try engine.read { try walk($0.cursor("t"), model, random: &random) }
            // A transaction's own changes on top of all of them.
            let transaction = try engine.beginWrite()
            var local = model
            try change(transaction, &local, count: 30, random: &random)
            try walk(transaction.cursor("t"), local, random: &random)
            transaction.abort()
        }
    }
}
