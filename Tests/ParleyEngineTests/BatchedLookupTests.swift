import Foundation
import XCTest
@testable import ParleyEngine

/// `getMany` looks several keys up in two passes (down the branches for every key, then each
/// leaf). It must answer exactly what `get` answers key by key: through the memtable's layers and
/// a transaction's own changes, over trees of every depth, for keys present, absent, repeated
/// and given in any order; and it must fail as `get` fails.
final class BatchedLookupTests: XCTestCase {
    private func key(_ i: Int) -> Bytes { Array("key\(100_000 + i)".utf8) }

    /// Asks `getMany` for random mixes of keys and checks each answer against `get`.
    private func assertAgrees(
        _ getMany: ([Bytes]) throws -> [Bytes?], _ get: (Bytes) throws -> Bytes?, keySpace: Int, rounds: Int,
        random: inout SeededRandom, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        for _ in 0..<rounds {
            // Now and then more than one batch of `lookupMany`.
            let count = random.next() % 8 == 0 ? 60 + Int(random.next() % 100) : Int(random.next() % 24)
            // Keys in and beyond the key space, in random order, some asked for twice.
            let keys = (0..<count).map { _ in key(Int(random.next() % UInt64(keySpace + keySpace / 4))) }
            let batched = try getMany(keys)
            XCTAssertEqual(batched.count, keys.count, file: file, line: line)
            for (key, value) in zip(keys, batched) {
                XCTAssertEqual(value, try get(key), "key \(String(decoding: key, as: UTF8.self))", file: file, line: line)
            }
        }
    }

    /// Random puts and deletes (a third of them) of keys in the key space.
    private func churn(_ transaction: Transaction, changes: Int, keySpace: Int, random: inout SeededRandom) throws {
        for _ in 0..<changes {
            let i = Int(random.next() % UInt64(keySpace))
            if random.next() % 3 == 0 {
                _ = try transaction.delete("t", key(i))
            } else {
                try transaction.put("t", key(i), random.bytes(Int(random.next() % 40)))
            }
        }
    }

    func testGetManyAgreesWithGetThroughLayersAndTransactions() throws {
        let disk = SimulatedDisk()
        let engine = try Engine.open(path: "/db", options: testOptions(.normal), fileSystem: SimulatedFileSystem(disk: disk))
        defer { try? engine.close() }
        var random = SeededRandom(seed: 41)
        let keySpace = 3000
        // A tree several levels deep in the B+tree (small pages; some values in overflow chains),
        // then changes and deletions that stay in the memtable over it.
        try engine.write { transaction in
            _ = try transaction.createTree("t")
            for i in 0..<keySpace where i % 3 != 0 {
                try transaction.put("t", key(i), random.bytes(i % 97 == 0 ? 2000 : Int(random.next() % 60)))
            }
        }
        try engine.checkpoint()
        for _ in 0..<5 {
            try engine.write { try churn($0, changes: 200, keySpace: keySpace, random: &random) }
        }
        try engine.read { snapshot in
            try assertAgrees({ try snapshot.getMany("t", $0) }, { try snapshot.get("t", $0) }, keySpace: keySpace, rounds: 200, random: &random)
        }
        // A transaction's own changes over the memtable and the B+tree.
        let transaction = try engine.beginWrite()
        try churn(transaction, changes: 300, keySpace: keySpace, random: &random)
        try assertAgrees({ try transaction.getMany("t", $0) }, { try transaction.get("t", $0) }, keySpace: keySpace, rounds: 200, random: &random)
        transaction.abort()

        // The same after a checkpoint moved everything into the B+tree.
        try engine.checkpoint()
        try engine.read { snapshot in
            try assertAgrees({ try snapshot.getMany("t", $0) }, { try snapshot.get("t", $0) }, keySpace: keySpace, rounds: 200, random: &random)
        }
    }

    func testGetManyOnMissingEmptyAndDroppedTrees() throws {
        let disk = SimulatedDisk()
        let engine = try Engine.open(path: "/db", options: testOptions(.normal), fileSystem: SimulatedFileSystem(disk: disk))
        defer { try? engine.close() }
        try engine.write { transaction in
            _ = try transaction.createTree("empty")
            _ = try transaction.createTree("gone")
            try transaction.put("gone", [1], [1])
        }
        try engine.checkpoint()
        try engine.write { try $0.dropTree("gone") }
        try engine.read { snapshot in
            XCTAssertEqual(try snapshot.getMany("empty", [[1], [2]]), [nil, nil])
            XCTAssertEqual(try snapshot.getMany("empty", []), [])
            for tree in ["gone", "never"] {
                XCTAssertThrowsError(try snapshot.getMany(tree, [[1], [2]])) { error in
                    XCTAssertEqual(error as? EngineError, .treeNotFound(name: tree))
                }
                XCTAssertThrowsError(try snapshot.getMany(tree, [])) { error in
                    XCTAssertEqual(error as? EngineError, .treeNotFound(name: tree))
                }
            }
        }
        // A tree a transaction created itself, with keys only in its own changes.
        try engine.write { transaction in
            _ = try transaction.createTree("new")
            try transaction.put("new", [2], [2])
            XCTAssertEqual(try transaction.getMany("new", [[1], [2], [2]]), [nil, [2], [2]])
        }
    }

    /// On the B+tree alone (no log), read and write transactions alike, trees one to four levels
    /// deep: keys of the tree, and keys between and beyond them.
    func testStorageTransactionsGetManyAtEveryDepth() throws {
        var random = SeededRandom(seed: 7)
        for size in [1, 5, 60, 700, 6000, 40000] {
            let engine = try StorageEngine.open(
                path: "/db", options: EngineOptions(pageSize: 1024, growthStep: 1 << 16),
                fileSystem: SimulatedFileSystem(disk: SimulatedDisk()))
            defer { engine.close() }
            try engine.write { transaction in
                _ = try transaction.createTree("t")
                for i in 0..<size { try transaction.put("t", key(i * 2), random.bytes(Int(random.next() % 60))) }
            }
            try engine.read { transaction in
                try assertAgrees({ try transaction.getMany("t", $0) }, { try transaction.get("t", $0) }, keySpace: size * 2, rounds: 50, random: &random)
            }
            // A write transaction whose changed nodes the lookups read instead of the pages.
            try engine.write { transaction in
                for i in 0..<(size / 3 + 1) { try transaction.put("t", key(i * 6 + 1), [1]) }
                try assertAgrees({ try transaction.getMany("t", $0) }, { try transaction.get("t", $0) }, keySpace: size * 2, rounds: 50, random: &random)
            }
        }
    }

    /// A tree deeper than the engine allows is damage: `getMany` reports it as `get` does.
    func testGetManyReportsATreeTooDeep() throws {
        let disk = SimulatedDisk()
        var random = SeededRandom(seed: 9)
        let engine = try StorageEngine.open(
            path: "/db", options: EngineOptions(pageSize: 1024, growthStep: 1 << 16), fileSystem: SimulatedFileSystem(disk: disk))
        try engine.write { transaction in
            _ = try transaction.createTree("t")
            for i in 0..<6000 { try transaction.put("t", key(i), random.bytes(40)) }
        }
        engine.close()
        var shallow = EngineOptions(pageSize: 1024, growthStep: 1 << 16)
        shallow.maximumDepth = 2
        let limited = try StorageEngine.open(path: "/db", options: shallow, fileSystem: SimulatedFileSystem(disk: disk))
        defer { limited.close() }
        try limited.read { transaction in
            XCTAssertThrowsError(try transaction.get("t", key(1))) { XCTAssertTrue(($0 as? EngineError)?.isCorruption ?? false, "\($0)") }
            XCTAssertThrowsError(try transaction.getMany("t", [key(1), key(5000), key(7)])) { error in
                XCTAssertTrue((error as? EngineError)?.isCorruption ?? false, "\(error)")
            }
        }
    }
}
