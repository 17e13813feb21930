// Interactive line input through libedit: editing, history kept in ~/.parley_history, and tab
// completion of command names and conversation ids.

import CEditLine
import Glibc

/// Completion candidates. libedit calls back through C function pointers, which cannot capture
/// context, so the one interactive session keeps its candidates here; only the main thread
/// touches them (before `readline` and inside its callbacks).
nonisolated(unsafe) private var completionCandidates: [String] = []
nonisolated(unsafe) private var completionMatches: [String] = []
nonisolated(unsafe) private var completionIndex = 0

/// libedit's generator: called with state 0 first, then until it returns nil.
private func completionGenerator(_ text: UnsafePointer<CChar>?, _ state: Int32) -> UnsafeMutablePointer<CChar>? {
    if state == 0 {
        let prefix = text.map { String(cString: $0) } ?? ""
        completionMatches = completionCandidates.filter { $0.hasPrefix(prefix) }
        completionIndex = 0
    }
    guard completionIndex < completionMatches.count else { return nil }
    defer { completionIndex += 1 }
    // libedit frees the string it is given.
    return strdup(completionMatches[completionIndex])
}

private func attemptCompletion(_ text: UnsafePointer<CChar>?, _ start: Int32, _ end: Int32) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? {
    rl_completion_matches(text, completionGenerator)
}

final class LineEditor {
    private let historyPath: String?

    init() {
        if let home = getenv("HOME") {
            historyPath = String(cString: home) + "/.parley_history"
        } else {
            historyPath = nil
        }
        stifle_history(5000)
        if let historyPath { _ = read_history(historyPath) }
        parley_set_completion(attemptCompletion)
    }

    /// Words offered by tab: command names (each word of them) and conversation ids.
    func setCandidates(_ words: [String]) { completionCandidates = Array(Set(words)).sorted() }

    /// The next line, or nil at end of input (Ctrl-D).
    func readLine(prompt: String) -> String? {
        guard let raw = readline(prompt) else { return nil }
        defer { free(raw) }
        let line = String(cString: raw)
        if !line.trimmingSpaces.isEmpty {
            add_history(raw)
            if let historyPath { _ = write_history(historyPath) }
        }
        return line
    }
}

extension String {
    var trimmingSpaces: Substring { drop { $0 == " " || $0 == "\t" } }
}
