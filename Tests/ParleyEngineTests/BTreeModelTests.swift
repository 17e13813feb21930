import Foundation
import XCTest
@testable import ParleyEngine

/// The B+tree against a plain in-memory model: random inserts, replaces, deletes, seeks and scans
/// both ways, with aborts and reopens; the whole contents and the integrity walk are compared at
/// every reopen.
final class BTreeModelTests: XCTestCase {
    struct Model {
        var trees: [String: [Bytes: Bytes]] = [:]

        func sortedKeys(_ tree: String) -> [Bytes] {
            (trees[tree] ?? [:]).keys.sorted { compareBytes($0, $1) < 0 }
        }
    }

    static let treeNames = ["alpha", "beta", "gamma"]

    func randomKey(_ random: inout SeededRandom) -> Bytes {
        // Short keys collide often (replaces); long ones exercise big cells.
        let length: Int
        switch random.next() % 10 {
        case 0..<6: length = 1 + Int(random.next() % 6)
        case 6..<9: length = 1 + Int(random.next() % 40)
        default: length = 1 + Int(random.next() % 200)
        }
        return (0..<length).map { _ in UInt8(truncatingIfNeeded: 0x30 + random.next() % 20) }
    }

    func randomValue(_ random: inout SeededRandom) -> Bytes {
        let length: Int
        switch random.next() % 100 {
        case 0..<88: length = Int(random.next() % 100)
        case 88..<98: length = Int(random.next() % 3000)
        default: length = Int(random.next() % (64 * 1024 + 1))
        }
        return random.bytes(length)
    }

    func run(
        operations: Int, seed: UInt64, fileSystem: any FileSystem, path: String, pageSize: Int, heldOverflowPages: Int = 256,
        heldNodes: Int = 1024
    ) throws {
        var random = SeededRandom(seed: seed)
        var model = Model()
        var committed = model
        var options = EngineOptions(pageSize: pageSize)
        options.heldOverflowPages = heldOverflowPages
        options.heldNodes = heldNodes
        var engine = try StorageEngine.open(path: path, options: options, fileSystem: fileSystem)
        var done = 0
        var transactions = 0
        while done < operations {
            let transaction = try engine.beginWrite()
            let size = 1 + Int(random.next() % 60)
            for _ in 0..<size {
                let tree = Self.treeNames[Int(random.next() % UInt64(Self.treeNames.count))]
                if model.trees[tree] == nil {
                    XCTAssertTrue(try transaction.createTree(tree))
                    model.trees[tree] = [:]
                }
                let existing = model.trees[tree] ?? [:]
                switch random.next() % 100 {
                case 0..<55:
                    let key = randomKey(&random)
                    let value = randomValue(&random)
                    try transaction.put(tree, key, value)
                    model.trees[tree]?[key] = value
                case 55..<70:
                    if let key = existing.keys.randomElement(using: &random) {
                        let value = randomValue(&random)
                        try transaction.put(tree, key, value)
                        model.trees[tree]?[key] = value
                    }
                case 70..<90:
                    let key = existing.keys.randomElement(using: &random) ?? randomKey(&random)
                    let removed = try transaction.delete(tree, key)
                    XCTAssertEqual(removed, existing[key] != nil)
                    model.trees[tree]?[key] = nil
                case 90..<93:
                    let key = randomKey(&random)
                    XCTAssertEqual(try transaction.get(tree, key), existing[key])
                case 93..<95:
                    // Present and absent keys together, through the transaction's changed nodes.
                    let keys = (0..<Int(random.next() % 10)).map { _ in
                        random.next() % 2 == 0 ? existing.keys.randomElement(using: &random) ?? randomKey(&random) : randomKey(&random)
                    }
                    XCTAssertEqual(try transaction.getMany(tree, keys), keys.map { existing[$0] })
                case 95..<99:
                    try compareSeek(transaction.cursor(tree), model: model, tree: tree, random: &random)
                default:
                    if random.next() % 20 == 0, model.trees[tree] != nil {
                        try transaction.dropTree(tree)
                        model.trees[tree] = nil
                    }
                }
                done += 1
            }
            transactions += 1
            if random.next() % 10 == 0 {
                transaction.abort()
                model = committed
            } else {
                try transaction.commit()
                committed = model
            }
            if transactions % 40 == 0 || done >= operations {
                try compareAll(engine, committed)
                try assertSound(engine)
                engine.close()
                engine = try StorageEngine.open(path: path, options: options, fileSystem: fileSystem)
                try compareAll(engine, committed)
                try assertSound(engine)
            } else if transactions % 7 == 0 {
                try engine.read { txn in
                    let tree = Self.treeNames[Int(random.next() % 3)]
                    if try txn.treeExists(tree) {
                        try compareSeek(txn.cursor(tree), model: committed, tree: tree, random: &random)
                        let keys = (0..<Int(random.next() % 16)).map { _ in randomKey(&random) }
                        XCTAssertEqual(try txn.getMany(tree, keys), keys.map { committed.trees[tree]?[$0] })
                    }
                }
            }
        }
        engine.close()
    }

    func compareSeek(_ cursor: TreeCursor, model: Model, tree: String, random: inout SeededRandom) throws {
        let keys = model.sortedKeys(tree)
        let probe = random.next() % 2 == 0 && !keys.isEmpty ? keys[Int(random.next() % UInt64(keys.count))] : randomKey(&random)
        let forward = random.next() % 2 == 0
        var position: Int
        if forward {
            position = keys.firstIndex { compareBytes($0, probe) >= 0 } ?? keys.count
            XCTAssertEqual(try cursor.seek(atOrAfter: probe)?.key, position < keys.count ? keys[position] : nil)
        } else {
            position = (keys.lastIndex { compareBytes($0, probe) <= 0 }) ?? -1
            XCTAssertEqual(try cursor.seek(atOrBefore: probe)?.key, position >= 0 ? keys[position] : nil)
        }
        // Walk a few steps either way from there.
        for _ in 0..<Int(random.next() % 12) {
            if position < 0 || position >= keys.count { break }
            let step = random.next() % 2 == 0 ? 1 : -1
            position += step
            let entry = step == 1 ? try cursor.next() : try cursor.previous()
            if position >= 0, position < keys.count {
                XCTAssertEqual(entry?.key, keys[position])
                XCTAssertEqual(entry?.value, model.trees[tree]?[keys[position]])
            } else {
                XCTAssertNil(entry)
            }
        }
    }

    func compareAll(_ engine: StorageEngine, _ model: Model) throws {
        let names = try engine.read { try $0.treeNames() }
        XCTAssertEqual(names, model.trees.keys.sorted())
        for (tree, entries) in model.trees {
            let stored = try contents(engine, tree)
            let keys = model.sortedKeys(tree)
            XCTAssertEqual(stored.map(\.0), keys, "keys of \(tree)")
            XCTAssertEqual(stored.map(\.1), keys.map { entries[$0] ?? [] }, "values of \(tree)")
            XCTAssertEqual(try engine.read { try $0.count(tree) }, UInt64(entries.count))
            // Backward too.
            let backward: [Bytes] = try engine.read { txn in
                let cursor = try txn.cursor(tree)
                var out: [Bytes] = []
                var entry = try cursor.last()
                while let (key, _) = entry { out.append(key); entry = try cursor.previous() }
                return out
            }
            XCTAssertEqual(backward, keys.reversed())
        }
    }

    func testHundredThousandOperationsAgainstModelInSimulatedFile() throws {
        try run(operations: 100_000, seed: 0xC0FFEE, fileSystem: SimulatedFileSystem(), path: "/model.parley", pageSize: 4096)
    }

    func testSmallPagesDeepTreesAgainstModel() throws {
        try run(operations: 20_000, seed: 42, fileSystem: SimulatedFileSystem(), path: "/small.parley", pageSize: 1024)
    }

    /// Every overflow page written to the file as soon as it is stored, and changed leaves whenever
    /// more than three nodes are held: values and leaves read back, changed again, merged, deleted
    /// and dropped inside the transaction that wrote them, and aborts, must still match.
    func testPagesWrittenEarlyAgainstModel() throws {
        try run(
            operations: 20_000, seed: 77, fileSystem: SimulatedFileSystem(), path: "/early.parley", pageSize: 1024,
            heldOverflowPages: 1, heldNodes: 3)
    }

    func testAgainstModelOnRealFile() throws {
        let directory = try temporaryDirectory(self)
        try run(operations: 10_000, seed: 9, fileSystem: PosixFileSystem(), path: directory + "/model.parley", pageSize: 4096)
    }
}
