// The bench's own error: one readable sentence, printed by ArgumentParser as `Error: ...` with exit status 1.

import Glibc

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The text of errno, for messages about files and processes.
func errnoText(_ code: Int32) -> String {
    guard let text = strerror(code) else { return "errno \(code)" }
    return String(cString: text)
}
