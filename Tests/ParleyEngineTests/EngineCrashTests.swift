import XCTest
@testable import ParleyEngine

/// The engine against a model through power losses across both files (database and log): in the
/// middle of commits, of checkpoints and of recovery itself. Every mode: the state after a crash
/// is the state after some prefix of the commits, never a partial one; in `full` mode it holds
/// every acknowledged commit.
final class EngineCrashTests: XCTestCase {
    typealias Model = [Bytes: Bytes]

    func mutate(_ txn: Transaction, _ model: inout Model, _ random: inout SeededRandom) throws {
        if !(try txn.treeExists("t")) { try txn.createTree("t") }
        for _ in 0..<(1 + Int(random.next() % 8)) {
            let key = Array("k\(random.next() % 120)".utf8)
            switch random.next() % 10 {
            case 0..<6:
                let value = random.bytes(random.next() % 30 == 0 ? Int(random.next() % 3000) : Int(random.next() % 60))
                try txn.put("t", key, value)
                model[key] = value
            case 6..<9:
                try txn.delete("t", key)
                model[key] = nil
            default:
                let start = Array("k\(random.next() % 120)".utf8)
                var end = start
                end.append(0xFF)
                try txn.deleteRange("t", from: start, to: end)
                for existing in model.keys where compareBytes(existing, start) >= 0 && compareBytes(existing, end) < 0 {
                    model[existing] = nil
                }
            }
        }
    }

    func testPowerLossAnywhereRecoversAPrefix() throws {
        var outcomes: [Durability: (exact: Int, earlier: Int)] = [:]
        for trial in 0..<240 {
            let mode = Durability.allCases[trial % 3]
            var random = SeededRandom(seed: UInt64(trial) &* 104_729 &+ 3)
            let disk = SimulatedDisk()
            let fs = SimulatedFileSystem(disk: disk)
            var states: [Model] = [[:]]  // states[i]: after commit i
            var acknowledged = 0
            disk.crash(afterOperations: 5 + Int(random.next() % 160))
            do {
                let engine = try Engine.open(path: "/db", options: testOptions(mode), fileSystem: fs)
                for round in 0..<60 {
                    var model = states[states.count - 1]
                    let txn = try engine.beginWrite()
                    try mutate(txn, &model, &random)
                    // Until commit returns, this commit may or may not survive.
                    states.append(model)
                    try txn.commit()
                    acknowledged = states.count - 1
                    if round % 9 == 4 { try engine.checkpoint() }
                    if round % 13 == 7 { try engine.flush() }
                }
                try engine.close()
            } catch EngineError.simulatedCrash {
            } catch EngineError.readOnly {
                // A background-less engine latched by the crash.
            }
            // Power loss, then a recovery that may itself lose power, then a full one.
            var survivor = disk.powerLoss(seed: random.next())
            if random.next() % 3 == 0 {
                survivor.crash(afterOperations: Int(random.next() % 12))
                if let engine = try? Engine.open(path: "/db", options: testOptions(mode), fileSystem: SimulatedFileSystem(disk: survivor)) {
                    try? engine.close()
                }
                survivor = survivor.powerLoss(seed: random.next())
            }
            let engine: Engine
            do {
                engine = try Engine.open(path: "/db", options: testOptions(mode), fileSystem: SimulatedFileSystem(disk: survivor))
            } catch {
                XCTFail("trial \(trial) (\(mode)): reopen failed: \(error)")
                continue
            }
            let recovered = try engineContents(engine, "t")
            guard let index = states.lastIndex(of: recovered) else {
                XCTFail("trial \(trial) (\(mode)): recovered state is no prefix of the commits")
                try? engine.close()
                continue
            }
            if mode == .full {
                XCTAssertGreaterThanOrEqual(index, acknowledged, "trial \(trial): lost an acknowledged commit")
            }
            var tally = outcomes[mode] ?? (0, 0)
            if index >= acknowledged { tally.exact += 1 } else { tally.earlier += 1 }
            outcomes[mode] = tally
            XCTAssertEqual(try engine.checkIntegrity().problems, [])
            // It carries on.
            var model = recovered
            try engine.write { try mutate($0, &model, &random) }
            XCTAssertEqual(try engineContents(engine, "t"), model)
            try engine.close()
        }
        XCTAssertGreaterThan(outcomes[.full]?.exact ?? 0, 0)
    }

    /// Fail the Nth write, sync or growth of either file, once or persistently, until the work
    /// completes: each failure latches the engine read-only, and a reopen recovers a prefix.
    func testCountdownFaultsAcrossBothFiles() throws {
        for kind in [SimulatedDisk.FaultKind.write, .sync, .grow] {
            for persistent in [false, true] {
                var n = 1
                while n < 400 {
                    let disk = SimulatedDisk()
                    let fs = SimulatedFileSystem(disk: disk)
                    var states: [Model] = [[:]]
                    var random = SeededRandom(seed: UInt64(n))
                    var failed = false
                    // A commit whose record was written but whose sync failed may or may not be there.
                    var inFlight: Model?
                    do {
                        let engine = try Engine.open(path: "/db", options: testOptions(.full), fileSystem: fs)
                        disk.fail(kind, nth: n, errno: EIO, persistent: persistent)
                        for round in 0..<12 {
                            var model = states[states.count - 1]
                            let txn = try engine.beginWrite()
                            try mutate(txn, &model, &random)
                            inFlight = model
                            try txn.commit()
                            inFlight = nil
                            states.append(model)
                            if round % 5 == 4 { try engine.checkpoint() }
                        }
                        try engine.close()
                    } catch let error as EngineError {
                        failed = true
                        switch error {
                        case .io, .readOnly, .diskFull: break
                        default: XCTFail("\(kind) #\(n): unexpected \(error)")
                        }
                    }
                    disk.clearFaults()
                    let engine = try Engine.open(path: "/db", options: testOptions(.full), fileSystem: fs)
                    let recovered = try engineContents(engine, "t")
                    XCTAssertTrue(states.contains(recovered) || recovered == inFlight, "\(kind) #\(n): not a prefix")
                    // Nothing acknowledged is lost: the last committed state or the one in flight.
                    XCTAssertTrue(recovered == states.last || recovered == inFlight, "\(kind) #\(n): lost a commit")
                    if !failed { XCTAssertEqual(recovered, states.last) }
                    XCTAssertEqual(try engine.checkIntegrity().problems, [])
                    try engine.close()
                    if !failed { break }
                    n += 1
                }
                XCTAssertGreaterThan(n, 1, "\(kind): the fault was never reached")
            }
        }
    }
}
