import XCTest
@testable import ParleyEngine

/// Random transactions over several trees (puts, inserts, deletes, range deletes, trees dropped and
/// created again) against a model, through session after session that loses power at a random
/// operation, mostly without a checkpoint in between: every recovery must give a state some prefix
/// of the commits made, holding every commit known durable, with the entry counts that state has.
final class RecoveryModelTests: XCTestCase {
    typealias Model = [String: [Bytes: Bytes]]
    let trees = ["a", "b"]

    private func mutate(_ txn: Transaction, _ model: inout Model, _ random: inout SeededRandom) throws {
        for _ in 0..<(1 + Int(random.next() % 6)) {
            let tree = trees[Int(random.next() % 2)]
            guard model[tree] != nil else {
                try txn.createTree(tree)
                model[tree] = [:]
                continue
            }
            let key = Array("k\(random.next() % 40)".utf8)
            switch random.next() % 20 {
            case 0..<11:
                let value = random.bytes(Int(random.next() % 40))
                try txn.put(tree, key, value)
                model[tree]?[key] = value
            case 11..<16:
                try txn.delete(tree, key)
                model[tree]?[key] = nil
            case 16..<19:
                var end = key
                end.append(0xFF)
                try txn.deleteRange(tree, from: key, to: end)
                for existing in model[tree, default: [:]].keys
                where compareBytes(existing, key) >= 0 && compareBytes(existing, end) < 0 {
                    model[tree]?[existing] = nil
                }
            default:
                try txn.dropTree(tree)
                model[tree] = nil
            }
        }
    }

    private func state(of engine: Engine) throws -> Model {
        var out: Model = [:]
        for tree in trees {
            guard try engine.read({ try $0.treeExists(tree) }) else { continue }
            out[tree] = try engineContents(engine, tree)
        }
        return out
    }

    func testRandomTransactionsThroughRepeatedPowerLossAgainstAModel() throws {
        for trial in 0..<12 {
            var random = SeededRandom(seed: UInt64(trial) &* 7_777 &+ 1)
            var disk = SimulatedDisk()
            var states: [Model] = [[:]]
            var durable = 0
            var checkpoints = 0
            for cycle in 0..<25 {
                let mode = Durability.allCases[Int(random.next() % 3)]
                let engine: Engine
                do {
                    engine = try Engine.open(path: "/db", options: testOptions(mode), fileSystem: SimulatedFileSystem(disk: disk))
                } catch {
                    XCTFail("trial \(trial), cycle \(cycle): open failed: \(error)")
                    return
                }
                let found = try state(of: engine)
                guard let index = states.lastIndex(of: found) else {
                    XCTFail("trial \(trial), cycle \(cycle): the recovered state is no prefix of the commits")
                    return
                }
                XCTAssertGreaterThanOrEqual(index, durable, "trial \(trial), cycle \(cycle): lost a durable commit")
                for (tree, entries) in found {
                    XCTAssertEqual(try engine.read { try $0.count(tree) }, UInt64(entries.count), "trial \(trial), cycle \(cycle), \(tree)")
                }
                XCTAssertEqual(try engine.read { try $0.treeNames() }, found.keys.sorted())
                XCTAssertEqual(try engine.checkIntegrity().problems, [])
                // What this session builds on is what it found.
                states = [found]
                durable = 0
                disk.crash(afterOperations: Int(random.next() % 40))
                do {
                    for _ in 0..<(1 + Int(random.next() % 12)) {
                        var model = states[states.count - 1]
                        let txn = try engine.beginWrite()
                        try mutate(txn, &model, &random)
                        states.append(model)
                        try txn.commit()
                        if mode == .full { durable = states.count - 1 }
                        if random.next() % 5 == 0 {
                            try engine.flush()
                            durable = states.count - 1
                        }
                        // Rarely: most sessions recover a log that earlier sessions continued.
                        if random.next() % 40 == 0 {
                            try engine.checkpoint()
                            checkpoints += 1
                        }
                    }
                } catch EngineError.simulatedCrash {
                } catch EngineError.readOnly {
                }
                disk = disk.powerLoss(seed: random.next())
            }
            XCTAssertLessThan(checkpoints, 25, "most cycles recover without a checkpoint")
        }
    }

    /// The values of the layer replay builds (sorted and deduplicated per tree) against the same
    /// operations set one by one, with keys that share long prefixes, end in zero bytes or are empty, so the
    /// sort's integer prefixes tie and the full comparison decides.
    func testTheReplayedLayerEqualsOneSetPerOperation() throws {
        var random = SeededRandom(seed: 99)
        let storage = try StorageEngine.open(path: "/db", options: EngineOptions(pageSize: 1024, growthStep: 8192),
                                             fileSystem: SimulatedFileSystem(disk: SimulatedDisk()))
        defer { storage.close() }
        let stems: [Bytes] = [[], [0], [0, 0], Bytes(repeating: 7, count: 23), Bytes(repeating: 7, count: 24),
                              Bytes(repeating: 7, count: 25), Bytes(repeating: 7, count: 24) + [0], Bytes(repeating: 0xFF, count: 30)]
        for round in 0..<20 {
            var body = Bytes()
            var spans: [LogFormat.Span] = []
            var expected = PersistentMap()
            for sequence in 1...(1 + UInt64(random.next() % 30)) {
                var operations: [LogOperation] = []
                for _ in 0..<(1 + Int(random.next() % 20)) {
                    var key = stems[Int(random.next() % UInt64(stems.count))]
                    if random.next() % 2 == 0 { key.append(UInt8(truncatingIfNeeded: random.next() % 3)) }
                    // As a transaction logs them: an insert only of a key that was absent.
                    let absent = expected.get(key) == nil || expected.get(key) == .tombstone
                    if random.next() % 4 == 0 {
                        operations.append(.delete(tree: "t", key: key))
                        expected.set(key, .tombstone)
                    } else {
                        let value = random.bytes(Int(random.next() % 5))
                        operations.append(absent && random.next() % 2 == 0 ? .insert(tree: "t", key: key, value: value) : .put(tree: "t", key: key, value: value))
                        expected.set(key, .put(value))
                    }
                }
                let payload = LogOperation.encode(operations)
                spans.append(LogFormat.Span(sequence: sequence, payload: body.count..<(body.count + payload.count)))
                body.append(contentsOf: payload)
            }
            let layer = try body.withUnsafeBytes {
                try Engine.recoveredLayer(body: $0, spans: spans[...], openBase: { try storage.beginRead() }, logPath: "/db-wal")
            }
            // The values; tombstones (nothing below here) may be left out for keys inserted and
            // then deleted, and are checked over trees that hold keys in `RecoveredLayerBuilderTests`.
            let built = try XCTUnwrap(layer.trees["t"]).entries.entries().filter { $0.1 != .tombstone }
            let values = expected.entries().filter { $0.1 != .tombstone }
            XCTAssertEqual(built.map(\.0), values.map(\.0), "round \(round)")
            XCTAssertEqual(built.map(\.1), values.map(\.1), "round \(round)")
            XCTAssertEqual(layer.lastSequence, spans.last?.sequence)
        }
    }
}
