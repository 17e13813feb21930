// Fuzz target `repl`: arbitrary lines into the shell's tokenizer, argument parser and commands, in
// process, on a small in-memory sample store (a fresh copy per input). A command may fail; it
// must then print one `error: ...` line and leave the session working. It must never trap or
// hang, and the store it leaves must be sound.
//
// Input: lines (split at "\n"). Placeholders give the fuzzer conversation ids it cannot guess:
// `%0` `%1` `%2` the sample's conversations, `%n` the last id any output printed.
// `.import` and `.export` read and write real files, so lines that could name them are skipped
// (the `import` target covers the importer); everything else stays on the simulated disk.
// `.backup` and `.compact` copy the whole file (tens of milliseconds): one of them per input.

import FuzzShell
import FuzzSupport
import Parley

struct ReplTemplate: Sendable {
    let disk: SimulatedDisk
    let conversations: [ConversationID]

    static let shared: ReplTemplate = {
        let disk = SimulatedDisk()
        let clock = FuzzClock()
        do {
            let database = try Database.open(path: FuzzDatabase.path, options: FuzzDatabase.options(disk: disk, clock: clock))
            let ids = try SampleChat.fill(database, clock: clock, messages: 12)
            try database.close()
            return ReplTemplate(disk: disk, conversations: ids)
        } catch {
            fatalError("harness: making the sample store failed: \(error)")
        }
    }()
}

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutableRawPointer?, _ argv: UnsafeMutableRawPointer?) -> Int32 {
    SeedMode.runIfRequested(ReplSeeds.make)
    _ = ReplTemplate.shared
    return 0
}

/// Lines per input and bytes per line: enough for any command, few enough for 10 s.
let maximumLines = 64
let maximumLineBytes = 2048

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRepl(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let template = ReplTemplate.shared
    let text = String(decoding: fuzzBytes(data, size), as: UTF8.self)
    var output = ""
    var errors = ""
    let shell: Shell
    do {
        shell = try Shell(
            path: FuzzDatabase.path, options: FuzzDatabase.options(disk: FuzzDatabase.copy(template.disk)),
            output: { output += $0 }, errorOutput: { errors += $0 })
    } catch {
        fuzzFailure("the shell does not open the sample store: \(error)")
    }
    shell.width = 60
    var lastSeen = template.conversations[0].description
    var copied = false
    for raw in text.split(separator: "\n", omittingEmptySubsequences: false).prefix(maximumLines) {
        var line = String(decoding: raw.utf8.prefix(maximumLineBytes), as: UTF8.self)
        for (index, id) in template.conversations.enumerated() { line = line.replacing("%\(index)", with: id.description) }
        line = line.replacing("%n", with: lastSeen)
        if mayTouchRealFiles(line) { continue }
        if copiesTheFile(line) {
            if copied { continue }
            copied = true
        }
        output = ""
        errors = ""
        let succeeded = shell.execute(line)
        if !succeeded {
            let lines = errors.split(separator: "\n")
            guard errors.hasSuffix("\n"), let last = lines.last, last.hasPrefix("error: ") else {
                fuzzFailure("a failed command did not end with an error line: \(line.debugDescription) printed \(errors.debugDescription)")
            }
        }
        if let id = lastConversationID(in: output) { lastSeen = id }
    }
    _ = shell.completionWords()
    do {
        let result = try shell.database.checkIntegrity()
        if !result.isSound { fuzzFailure("the shell left an unsound store: \(result.problems)") }
        let problems = ChatSurvey.inconsistencies(shell.database)
        if !problems.isEmpty { fuzzFailure("the shell left a store whose answers disagree: \(problems)") }
    } catch let error as ParleyError {
        // `.compact` closes the database and reopens it; a failed reopen leaves it closed.
        guard case .storage(.closed) = error else { fuzzFailure("checking the shell's store failed: \(error)") }
    } catch {
        fuzzFailure("checking the shell's store threw \(type(of: error)): \(error)")
    }
    try? shell.close()
    return 0
}

/// True when the line could run `.import` or `.export`: the tokenizer only drops quotes and
/// backslashes between a word's characters, so without them the name would be in the line.
func mayTouchRealFiles(_ line: String) -> Bool {
    let bare = String(line.unicodeScalars.filter { $0 != "'" && $0 != "\"" && $0 != "\\" })
    return bare.contains("import") || bare.contains("export")
}

func copiesTheFile(_ line: String) -> Bool {
    let bare = String(line.unicodeScalars.filter { $0 != "'" && $0 != "\"" && $0 != "\\" })
    return bare.contains("backup") || bare.contains("compact")
}

/// The last conversation id (36-character UUID) in `text`.
func lastConversationID(in text: String) -> String? {
    let bytes = Array(text.utf8)
    guard bytes.count >= 36 else { return nil }
    var start = bytes.count - 36
    while start >= 0 {
        if bytes[start + 8] == UInt8(ascii: "-"), bytes[start + 13] == UInt8(ascii: "-"),
            let candidate = String(validating: bytes[start..<(start + 36)], as: UTF8.self), ConversationID(candidate) != nil
        {
            return candidate
        }
        start -= 1
    }
    return nil
}
