// Standard error without Glibc's `stderr` global (not concurrency-safe in Swift 6): progress and
// error messages go to descriptor 2, the table to standard output.

import Glibc

func printError(_ text: String) {
    let bytes = Array((text + "\n").utf8)
    var offset = 0
    while offset < bytes.count {
        let written = bytes[offset...].withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        if written < 0 && errno == EINTR { continue }
        guard written > 0 else { return }
        offset += written
    }
}
