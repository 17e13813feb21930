// Fuzz target `log`: a valid log (LogScenarios), edited by the input, replayed at open. Recovery
// must give exactly the store after some prefix of the logged commits (a damaged record ends
// the replay; it never changes what is replayed), integrity intact, and the same store again
// after a checkpoint and a reopen. With checksums repaired after the edits, the damaged records
// do replay: then only a typed error or an answer is required (and agreeing answers when sound).
//
// Input: scenario byte · flags byte · crash budget byte · edits (LogEdits).
//   flags & 1: repair the log's checksums after editing;
//   flags & 2: lose power during the first recovery, after `budget` disk operations, then
//              recover what the power loss left (the log is synced, so the same rule holds).

import FuzzSupport
import Glibc
import Parley

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutableRawPointer?, _ argv: UnsafeMutableRawPointer?) -> Int32 {
    SeedMode.runIfRequested(LogSeeds.make)
    _ = LogScenarios.all
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLog(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzReader(data, size)
    let scenario = LogScenarios.all[Int(input.byte()) % LogScenarios.all.count]
    let flags = input.byte()
    let budget = Int(input.byte())
    var log = scenario.log
    LogEdits.apply(&input, to: &log)
    let repaired = flags & 1 != 0
    if repaired { ChecksumRepair.repairLog(&log) }
    var disk = FuzzDatabase.disk(holding: [(FuzzDatabase.path, scenario.database), (FuzzDatabase.logPath, log)])
    if flags & 2 != 0 {
        disk.crash(afterOperations: budget)
        if let interrupted = attempt("open with power failing", { try Database.open(path: FuzzDatabase.path, options: FuzzDatabase.options(disk: disk)) }) {
            try? interrupted.close()
        }
        disk = disk.powerLoss(seed: UInt64(budget))
    }
    let options = FuzzDatabase.options(disk: disk)
    guard let database = attempt("open", { try Database.open(path: FuzzDatabase.path, options: options) }) else {
        if repaired { return 0 }
        fuzzFailure("\(scenario.name): a log whose damage its checksums show made open fail")
    }
    guard !repaired else {
        if attempt("checkIntegrity", { try database.checkIntegrity() })?.isSound == true {
            let problems = ChatSurvey.inconsistencies(database)
            if !problems.isEmpty { fuzzFailure("sound after replaying a repaired log, but: \(problems)") }
        }
        _ = attempt("checkpoint", { try database.checkpoint() })
        try? database.close()
        return 0
    }
    let prefix = matchingPrefix(database, scenario, "after recovery")
    guard let result = attempt("checkIntegrity", { try database.checkIntegrity() }), result.isSound else {
        fuzzFailure("\(scenario.name): not sound after replaying \(prefix) commits")
    }
    guard attempt("checkpoint", { try database.checkpoint() }) != nil else {
        fuzzFailure("\(scenario.name): a checkpoint failed after replaying \(prefix) commits")
    }
    if matchingPrefix(database, scenario, "after a checkpoint") != prefix { fuzzFailure("a checkpoint changed the store") }
    guard attempt("close", { try database.close() }) != nil else {
        fuzzFailure("\(scenario.name): close failed after replaying \(prefix) commits")
    }
    guard let reopened = attempt("reopen", { try Database.open(path: FuzzDatabase.path, options: options) }) else {
        fuzzFailure("\(scenario.name): the recovered store does not reopen")
    }
    if matchingPrefix(reopened, scenario, "after reopening") != prefix { fuzzFailure("reopening changed the store") }
    try? reopened.close()
    return 0
}

/// The number of commits whose store `database` holds; a failure when it holds none of them.
func matchingPrefix(_ database: Database, _ scenario: LogScenario, _ when: String) -> Int {
    guard let dump = attempt("dump", { try ChatSurvey.dump(database, stateKeys: scenario.stateKeys) }) else {
        fuzzFailure("\(scenario.name) \(when): a query failed")
    }
    if let index = scenario.dumps.lastIndex(of: dump) { return index }
    let nearest = scenario.dumps.last { $0.conversations.count == dump.conversations.count } ?? scenario.dumps[0]
    fuzzFailure("\(scenario.name) \(when): the store is no prefix of the logged commits; against the nearest:\n"
        + dump.difference(from: nearest))
}

/// Runs `body`; an error must be a `ParleyError`.
func attempt<R>(_ what: String, _ body: () throws -> R) -> R? {
    do {
        return try body()
    } catch let error as ParleyError {
        if getenv("PARLEY_FUZZ_VERBOSE") != nil { printError("\(what): \(error)\n") }
        return nil
    } catch {
        fuzzFailure("\(what) threw \(type(of: error)), not ParleyError: \(error)")
    }
}
