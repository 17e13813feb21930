// Fuzz target `import`: arbitrary bytes as JSON Lines (plain, or gzip when they start with
// 1f 8b) into an in-memory chat store, bad lines skipped. Whatever the input:
// - the import ends or throws a documented error (InterchangeError, ParleyError), never traps;
// - the store it leaves is sound, its answers agree, and its counts match the import's summary;
// - sealing blocks changes no exported byte (export before and after a checkpoint);
// - the export imports again into an empty store, whole, and exports to the same bytes (the
//   round trip Exporter documents).

import FuzzSupport
import Glibc
import Parley
import ParleyInterchange

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutableRawPointer?, _ argv: UnsafeMutableRawPointer?) -> Int32 {
    SeedMode.runIfRequested(ImportSeeds.make)
    _ = FuzzDatabase.emptyStore
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzImport(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = fuzzBytes(data, size)
    let database = openEmpty()
    defer { try? database.close() }
    var summary: ImportSummary?
    do {
        summary = try Importer.importLines(bytes, into: database, options: ImportOptions(skipBad: true))
    } catch is InterchangeError {
        // Damaged gzip: the lines before the damage stay imported.
    } catch let error as ParleyError {
        fuzzFailure("an in-memory import failed in the store: \(error)")
    } catch {
        fuzzFailure("the import threw \(type(of: error)): \(error)")
    }
    check(database, "after the import")
    if let summary {
        let stats = must("stats") { try database.stats() }
        if stats.conversations != summary.conversations || stats.messages != summary.messages {
            fuzzFailure("the summary counts \(summary.conversations) conversations and \(summary.messages) messages, "
                + "the store \(stats.conversations) and \(stats.messages)")
        }
    }
    let exported = must("export") { try Exporter.exportBytes(from: database) }
    must("checkpoint") { try database.checkpoint() }
    check(database, "after a checkpoint")
    let sealed = must("export after a checkpoint") { try Exporter.exportBytes(from: database) }
    if sealed != exported { fuzzFailure("sealing blocks changed the export:\n\(text(exported))\nversus\n\(text(sealed))") }

    let copy = openEmpty()
    defer { try? copy.close() }
    must("importing the export") { _ = try Importer.importLines(exported, into: copy, options: ImportOptions(skipBad: false)) }
    let again = must("exporting the copy") { try Exporter.exportBytes(from: copy) }
    if again != exported { fuzzFailure("export → import → export changed the bytes:\n\(text(exported))\nversus\n\(text(again))") }
    return 0
}

func openEmpty() -> Database {
    must("open") { try Database.open(path: FuzzDatabase.path, options: FuzzDatabase.options(disk: FuzzDatabase.copy(FuzzDatabase.emptyStore))) }
}

func check(_ database: Database, _ when: String) {
    let result = must("checkIntegrity \(when)") { try database.checkIntegrity() }
    if !result.isSound { fuzzFailure("the store is not sound \(when): \(result.problems)") }
    let problems = ChatSurvey.inconsistencies(database, limit: 16)
    if !problems.isEmpty { fuzzFailure("the store's answers disagree \(when): \(problems)") }
}

/// Runs `body`, which must not fail on a sound in-memory store.
@discardableResult
func must<R>(_ what: String, _ body: () throws -> R) -> R {
    do {
        return try body()
    } catch {
        fuzzFailure("\(what) failed: \(error)")
    }
}

func text(_ bytes: [UInt8]) -> String { String(decoding: bytes.prefix(4000), as: UTF8.self) }
