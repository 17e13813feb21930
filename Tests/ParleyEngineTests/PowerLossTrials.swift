import XCTest
@testable import ParleyEngine

/// How the trials of `runPowerLossTrials` ended: the last committed state recovered, the state of
/// the commit in flight when the power went, and how many trials lost power before any commit.
struct PowerLossOutcomes {
    var previous = 0
    var inFlight = 0
    var beforeAnyCommit = 0
}

/// Power loss at random points of a run of random transactions on tree "t", through the
/// fault-injecting file (unsynced writes dropped, applied or torn per sector). After each loss the
/// database must open and hold the last committed state, or that of the commit in flight (only
/// when the power went during it), and nothing else; it must be sound and take a new commit.
///
/// - Parameters:
///   - seed: the random seed of each trial.
///   - crashWithin: the power goes after a random number of file operations below this.
///   - abortOneIn: when set, about one transaction in this many is aborted instead of committed.
///   - transaction: makes random changes in a transaction and applies them to the model.
func runPowerLossTrials(
    trials: Int, seed: (Int) -> UInt64, crashWithin: UInt64, transactions: Int,
    options: EngineOptions, reopenOptions: EngineOptions = EngineOptions(), abortOneIn: UInt64? = nil,
    transaction: (WriteTransaction, inout [Bytes: Bytes], inout SeededRandom) throws -> Void,
    file: StaticString = #filePath, line: UInt = #line
) throws -> PowerLossOutcomes {
    func state(_ engine: StorageEngine) throws -> [Bytes: Bytes] {
        var out: [Bytes: Bytes] = [:]
        for (key, value) in try contents(engine, "t") { out[key] = value }
        return out
    }
    var outcomes = PowerLossOutcomes()
    for trial in 0..<trials {
        var random = SeededRandom(seed: seed(trial))
        let disk = SimulatedDisk()
        var committed: [Bytes: Bytes] = [:]
        var inFlight: [Bytes: Bytes]?
        disk.crash(afterOperations: Int(random.next() % crashWithin))
        do {
            let engine = try StorageEngine.open(path: "/db", options: options, fileSystem: SimulatedFileSystem(disk: disk))
            for _ in 0..<transactions {
                var model = committed
                let txn = try engine.beginWrite()
                try transaction(txn, &model, &random)
                if let abortOneIn, random.next() % abortOneIn == 0 {
                    txn.abort()
                    continue
                }
                inFlight = model
                try txn.commit()
                committed = model
                inFlight = nil
            }
            engine.close()
        } catch EngineError.simulatedCrash {
            // The power went.
        }
        let survivor = disk.powerLoss(seed: random.next())
        let reopened: StorageEngine
        do {
            reopened = try StorageEngine.open(path: "/db", options: reopenOptions, fileSystem: SimulatedFileSystem(disk: survivor))
        } catch {
            XCTFail("trial \(trial): reopen failed: \(error)", file: file, line: line)
            continue
        }
        let recovered = try state(reopened)
        if recovered == committed {
            outcomes.previous += 1
        } else if let inFlight, recovered == inFlight {
            outcomes.inFlight += 1
        } else {
            XCTFail("trial \(trial): recovered \(recovered.count) keys, neither the committed state (\(committed.count)) nor the one in flight", file: file, line: line)
        }
        try assertSound(reopened, file: file, line: line)
        // The recovered database takes new commits.
        var model = recovered
        try reopened.write { try transaction($0, &model, &random) }
        XCTAssertEqual(try state(reopened), model, file: file, line: line)
        try assertSound(reopened, file: file, line: line)
        reopened.close()
        if committed.isEmpty && inFlight == nil { outcomes.beforeAnyCommit += 1 }
    }
    return outcomes
}
