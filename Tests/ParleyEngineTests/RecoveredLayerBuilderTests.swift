import XCTest
@testable import ParleyEngine

/// The layer replay builds, read over the trees below it, against a model of what the logged
/// operations leave, with tables of recent keys so small that keys keep sharing (and stealing)
/// slots: a write that replaces a collected entry in place must replace its own key's newest write
/// and no other; trees dropped, created or range-deleted in between must not leave slots pointing
/// at entries that are gone; and a key inserted then deleted within the log may lose its tombstone
/// only when it is absent below (the trees below hold some of the same keys).
final class RecoveredLayerBuilderTests: XCTestCase {
    typealias Model = [String: [Bytes: Bytes]]
    private let trees = ["a", "b", "c"]

    /// Keys that tie on the sort's 24-byte integer prefix (zero bytes at the end, lengths around
    /// 24, differences past the prefix).
    private let stems: [Bytes] = [
        [], [0], [0, 0], Bytes(repeating: 7, count: 23), Bytes(repeating: 7, count: 24), Bytes(repeating: 7, count: 25),
        Bytes(repeating: 7, count: 24) + [0], Bytes(repeating: 7, count: 24) + [1], Bytes(repeating: 0xFF, count: 30), [1, 2, 3],
    ]
    /// Above every key the stems make.
    private let top = Bytes(repeating: 0xFF, count: 40)

    private func randomKey(_ random: inout SeededRandom) -> Bytes {
        var key = stems[Int(random.next() % UInt64(stems.count))]
        if random.next() % 2 == 0 { key.append(UInt8(truncatingIfNeeded: random.next() % 3)) }
        return key
    }

    /// An operation a transaction could have logged on `model` (as `Transaction` logs them: an
    /// insert for a key that was absent, a delete only of a key that was there), applied to it.
    private func randomOperation(_ model: inout Model, _ random: inout SeededRandom) -> LogOperation {
        let tree = trees[Int(random.next() % UInt64(trees.count))]
        guard var entries = model[tree] else {
            model[tree] = [:]
            return .createTree(tree)
        }
        let key = randomKey(&random)
        let roll = random.next() % 40
        if roll == 0 {
            model[tree] = nil
            return .dropTree(tree)
        }
        if roll < 3 {
            var end = randomKey(&random)
            if compareBytes(end, key) < 0 { end = key + [0xFF] }
            for existing in entries.keys where compareBytes(existing, key) >= 0 && compareBytes(existing, end) < 0 {
                entries[existing] = nil
            }
            model[tree] = entries
            return .deleteRange(tree: tree, start: key, end: end)
        }
        if roll < 20, entries[key] != nil {
            entries[key] = nil
            model[tree] = entries
            return .delete(tree: tree, key: key)
        }
        let value = random.bytes(Int(random.next() % 6))
        let existed = entries[key] != nil
        entries[key] = value
        model[tree] = entries
        return existed ? .put(tree: tree, key: key, value: value) : .insert(tree: tree, key: key, value: value)
    }

    /// Whether the later half of `spans` (from `Engine.halfway`) range-deletes a tree it did not
    /// create or drop first: a tree its worker must leave to a replay of the whole log.
    private func laterHalfDefers(_ body: Bytes, _ spans: [LogFormat.Span]) -> Bool {
        var hidden: Set<Bytes> = []
        var defers = false
        body.withUnsafeBytes { raw in
            for span in spans[Engine.halfway(spans[...])...] {
                LogOperation.forEach(UnsafeRawBufferPointer(rebasing: raw[span.payload])) { fields in
                    switch fields.kind {
                    case .createTree, .dropTree: hidden.insert(Bytes(fields.tree))
                    case .deleteRange: if !hidden.contains(Bytes(fields.tree)) { defers = true }
                    case .put, .insert, .delete: break
                    }
                }
            }
        }
        return defers
    }

    func testReplayOverTreesWithTinySlotTablesEqualsTheModel() throws {
        var splitRounds = 0
        var deferringRounds = 0
        for round in 0..<300 {
            var random = SeededRandom(seed: UInt64(round) &* 31 &+ 5)
            let storage = try StorageEngine.open(path: "/db", options: EngineOptions(pageSize: 1024, growthStep: 8192),
                                                 fileSystem: SimulatedFileSystem(disk: SimulatedDisk()))
            defer { storage.close() }
            // The trees below: "a" and "b" with some of the keys, "c" missing.
            var model: Model = [:]
            try storage.write { txn in
                for tree in ["a", "b"] {
                    _ = try txn.createTree(tree)
                    model[tree] = [:]
                    for _ in 0..<Int(random.next() % 12) {
                        let key = randomKey(&random)
                        let value = random.bytes(Int(random.next() % 6))
                        try txn.put(tree, key, value)
                        model[tree]?[key] = value
                    }
                }
            }
            var body = Bytes()
            var spans: [LogFormat.Span] = []
            for sequence in 1...(1 + UInt64(random.next() % 40)) {
                var operations: [LogOperation] = []
                for _ in 0..<(1 + Int(random.next() % 12)) { operations.append(randomOperation(&model, &random)) }
                let payload = LogOperation.encode(operations)
                spans.append(LogFormat.Span(sequence: sequence, payload: body.count..<(body.count + payload.count)))
                body.append(contentsOf: payload)
            }
            let slotBits = [0, 1, 2, 3, RecoveredLayerBuilder.defaultSlotBits][round % 5]
            // Every third round drops a tree's table after a window of one to three writes.
            let tallyWindow = round % 3 == 0 ? 1 + (round / 3) % 3 : RecoveredLayerBuilder.defaultTallyWindow
            // Odd rounds split the records between two workers, each with its own snapshot below;
            // some of them defer a tree range-deleted in the later half to a replay of the whole log.
            let workers = 1 + round % 2
            if workers == 2, spans.count >= 2 {
                splitRounds += 1
                if laterHalfDefers(body, spans) { deferringRounds += 1 }
            }
            let layer = try body.withUnsafeBytes {
                try Engine.recoveredLayer(
                    body: $0, spans: spans[...], openBase: { try storage.beginRead() }, logPath: "/db-wal", slotBits: slotBits,
                    tallyWindow: tallyWindow, workers: workers, minimumRecords: 0)
            }
            XCTAssertEqual(layer.lastSequence, spans.last?.sequence)
            let base = try storage.beginRead()
            defer { base.close() }
            let view = LayeredView(layers: [layer], base: base)
            for tree in trees {
                let context = "round \(round) (slot bits \(slotBits), window \(tallyWindow), \(workers) workers), tree \(tree)"
                XCTAssertEqual(try view.treeExists(tree), model[tree] != nil, context)
                guard let expected = model[tree] else { continue }
                var found: [(Bytes, Bytes)] = []
                let cursor = try view.cursor(tree)
                var entry = try cursor.first()
                while let (key, value) = entry {
                    found.append((key, value))
                    entry = try cursor.next()
                }
                let sorted = expected.sorted { compareBytes($0.key, $1.key) < 0 }
                XCTAssertEqual(found.map(\.0), sorted.map(\.key), context)
                XCTAssertEqual(found.map(\.1), sorted.map(\.value), context)
                XCTAssertEqual(try view.count(tree), UInt64(expected.count), context)
            }
        }
        // The two-worker rounds must really have split the log, and some must have deferred a tree.
        XCTAssertGreaterThan(splitRounds, 30)
        XCTAssertGreaterThan(deferringRounds, 10)
    }
}
