import XCTest
@testable import ParleyEngine

/// The layer replay builds against a model that applies each logged operation one at a time, with
/// tables of recent keys so small that keys keep sharing (and stealing) slots: a write that
/// replaces a collected entry in place must replace its own key's newest write and no other, and
/// trees dropped, created or range-deleted in between must not leave slots pointing at entries
/// that are gone.
final class RecoveredLayerBuilderTests: XCTestCase {
    /// One tree as the operations leave it, set one operation at a time.
    private struct ModelTree {
        var exists: Bool?
        var hidesBelow = false
        var entries = PersistentMap()
        var countDelta: Int64 = 0
    }

    /// Keys that tie on the sort's 24-byte integer prefix (zero bytes at the end, lengths around
    /// 24, differences past the prefix).
    private let stems: [Bytes] = [
        [], [0], [0, 0], Bytes(repeating: 7, count: 23), Bytes(repeating: 7, count: 24), Bytes(repeating: 7, count: 25),
        Bytes(repeating: 7, count: 24) + [0], Bytes(repeating: 7, count: 24) + [1], Bytes(repeating: 0xFF, count: 30), [1, 2, 3],
    ]

    private func randomKey(_ random: inout SeededRandom) -> Bytes {
        var key = stems[Int(random.next() % UInt64(stems.count))]
        if random.next() % 2 == 0 { key.append(UInt8(truncatingIfNeeded: random.next() % 3)) }
        return key
    }

    private func randomOperation(_ trees: [String], _ model: inout [String: ModelTree], _ random: inout SeededRandom) -> LogOperation {
        let tree = trees[Int(random.next() % UInt64(trees.count))]
        let key = randomKey(&random)
        switch random.next() % 40 {
        case 0:
            model[tree] = ModelTree(exists: true, hidesBelow: true)
            return .createTree(tree)
        case 1:
            model[tree] = ModelTree(exists: false, hidesBelow: true)
            return .dropTree(tree)
        case 2..<4:
            var end = randomKey(&random)
            if compareBytes(end, key) < 0 { end = key + [0xFF] }
            // The base is empty: the tree holds what this log put in it, when it exists.
            if model[tree] == nil { model[tree] = ModelTree() }
            if model[tree]?.exists == true, var current = model[tree] {
                for (existing, value) in current.entries.entries(from: key) where compareBytes(existing, end) < 0 {
                    guard case .put = value else { continue }
                    current.entries.set(existing, .tombstone)
                    current.countDelta -= 1
                }
                model[tree] = current
            }
            return .deleteRange(tree: tree, start: key, end: end)
        case 4..<14:
            model[tree, default: ModelTree()].entries.set(key, .tombstone)
            model[tree, default: ModelTree()].countDelta -= 1
            return .delete(tree: tree, key: key)
        case 14..<24:
            let value = random.bytes(Int(random.next() % 6))
            model[tree, default: ModelTree()].entries.set(key, .put(value))
            model[tree, default: ModelTree()].countDelta += 1
            return .insert(tree: tree, key: key, value: value)
        default:
            let value = random.bytes(Int(random.next() % 6))
            model[tree, default: ModelTree()].entries.set(key, .put(value))
            return .put(tree: tree, key: key, value: value)
        }
    }

    func testReplayWithTinySlotTablesEqualsOneOperationAtATime() throws {
        let storage = try StorageEngine.open(path: "/db", options: EngineOptions(pageSize: 1024, growthStep: 8192),
                                             fileSystem: SimulatedFileSystem(disk: SimulatedDisk()))
        defer { storage.close() }
        let trees = ["a", "b", "c"]
        for round in 0..<300 {
            var random = SeededRandom(seed: UInt64(round) &* 31 &+ 5)
            var model: [String: ModelTree] = [:]
            var body = Bytes()
            var spans: [LogFormat.Span] = []
            for sequence in 1...(1 + UInt64(random.next() % 40)) {
                var operations: [LogOperation] = []
                for _ in 0..<(1 + Int(random.next() % 12)) { operations.append(randomOperation(trees, &model, &random)) }
                let payload = LogOperation.encode(operations)
                spans.append(LogFormat.Span(sequence: sequence, payload: body.count..<(body.count + payload.count)))
                body.append(contentsOf: payload)
            }
            let slotBits = [0, 1, 2, 3, RecoveredLayerBuilder.defaultSlotBits][round % 5]
            let base = try storage.beginRead()
            defer { base.close() }
            let layer = try body.withUnsafeBytes {
                try Engine.recoveredLayer(body: $0, spans: spans[...], base: base, logPath: "/db-wal", slotBits: slotBits)
            }
            XCTAssertEqual(layer.lastSequence, spans.last?.sequence)
            XCTAssertEqual(Set(layer.trees.keys), Set(model.keys), "round \(round)")
            for (name, expected) in model {
                let built = try XCTUnwrap(layer.trees[name], "round \(round), tree \(name)")
                XCTAssertEqual(built.exists, expected.exists, "round \(round), tree \(name)")
                XCTAssertEqual(built.hidesBelow, expected.hidesBelow, "round \(round), tree \(name)")
                XCTAssertEqual(built.countDelta, expected.countDelta, "round \(round), tree \(name)")
                XCTAssertEqual(built.entries.entries().map(\.0), expected.entries.entries().map(\.0), "round \(round), tree \(name)")
                XCTAssertEqual(built.entries.entries().map(\.1), expected.entries.entries().map(\.1), "round \(round), tree \(name)")
                XCTAssertEqual(built.entries.count, expected.entries.count, "round \(round), tree \(name)")
                }
        }
    }
}
