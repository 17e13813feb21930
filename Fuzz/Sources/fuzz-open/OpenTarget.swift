// Fuzz target `open`: arbitrary bytes as a database file and its log, on a simulated disk. Open,
// integrity check, queries, a write and a checkpoint must each give a typed error or an answer;
// never a trap, a hang or a leak. When the integrity check finds the file sound, the answers must
// also agree with one another (ChatSurvey), and the file must survive a checkpoint, close and
// reopen still sound.
//
// Input: flags byte · database length (u32 LE) · database bytes · log bytes (the rest; none: no log).
//   flags & 1: repair every page's checksum, so the parsers behind it see the mutation;
//   flags & 2: repair the log's header and record checksums, and give it the database's identity.

import FuzzSupport
import Glibc
import Parley

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutableRawPointer?, _ argv: UnsafeMutableRawPointer?) -> Int32 {
    SeedMode.runIfRequested(OpenSeeds.make)
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOpen(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzReader(data, size)
    let flags = input.byte()
    var database = input.take(Int(input.u32()))
    var log = input.rest()
    if flags & 1 != 0 { ChecksumRepair.repairPages(&database) }
    if flags & 2 != 0 {
        if let identity = ChecksumRepair.identity(of: database) { ChecksumRepair.adoptIdentity(identity, log: &log) }
        ChecksumRepair.repairLog(&log)
    }
    var files = [(path: FuzzDatabase.path, bytes: database)]
    if !log.isEmpty { files.append((FuzzDatabase.logPath, log)) }
    let disk = FuzzDatabase.disk(holding: files)
    let options = FuzzDatabase.options(disk: disk)
    guard let opened = typed("open", { try Database.open(path: FuzzDatabase.path, options: options) }) else { return 0 }
    let sound = typed("checkIntegrity", { try opened.checkIntegrity() })?.isSound ?? false
    let problems = ChatSurvey.inconsistencies(opened)
    if sound && !problems.isEmpty {
        fuzzFailure("the integrity check passed, but the answers disagree:\n  " + problems.joined(separator: "\n  "))
    }
    // Writing over whatever was read: the tree mutator, the sealer and the freelist on these pages.
    _ = typed("upsertUser", { try opened.upsertUser("fuzz", displayName: "F") })
    if let first = typed("conversations", { try opened.read { try $0.conversations(limit: 1) } })?.first,
        let member = first.participants.first
    {
        _ = typed("append", { try opened.append(NewMessage(sender: member, text: "fuzz"), to: first.id) })
    }
    let checkpointed = typed("checkpoint", { try opened.checkpoint() }) != nil
    let closed = typed("close", { try opened.close() }) != nil
    guard sound else { return 0 }
    guard checkpointed, closed else { fuzzFailure("a sound database failed to checkpoint or close (see the error above)") }
    guard let reopened = typed("reopen", { try Database.open(path: FuzzDatabase.path, options: options) }) else {
        fuzzFailure("a sound database, checkpointed and closed, does not open again")
    }
    let again = typed("checkIntegrity after reopening", { try reopened.checkIntegrity() })
    if again?.isSound != true {
        fuzzFailure("a sound database is no longer sound after a write, checkpoint and reopen: \(again?.problems ?? [])")
    }
    try? reopened.close()
    return 0
}

/// Runs `body`; an error is fine when it is a `ParleyError` (the documented error type), and
/// anything else is a failure. Set PARLEY_FUZZ_VERBOSE to see each error.
func typed<R>(_ what: String, _ body: () throws -> R) -> R? {
    do {
        return try body()
    } catch let error as ParleyError {
        if verbose { printError("\(what): \(error)\n") }
        return nil
    } catch {
        fuzzFailure("\(what) threw \(type(of: error)), not ParleyError: \(error)")
    }
}

let verbose = getenv("PARLEY_FUZZ_VERBOSE") != nil
