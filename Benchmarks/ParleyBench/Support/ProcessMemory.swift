// Resident memory of this process from /proc/self/status, and the reset of its high-water mark
// (writing 5 to /proc/self/clear_refs), for the `memory` row.

import Glibc

enum ProcessMemory {
    /// Resets VmHWM to the current resident size; false when the kernel refuses.
    static func resetPeak() -> Bool { Files.writeText("5", to: "/proc/self/clear_refs") }

    /// Peak resident bytes since start or the last reset (VmHWM).
    static func peakBytes() -> Int64? { statusField("VmHWM") }

    /// Resident bytes now (VmRSS).
    static func residentBytes() -> Int64? { statusField("VmRSS") }

    /// Resident bytes now, split: anonymous (heap, stacks) and file-backed (mapped files).
    static func residentSplit() -> (anonymous: Int64, file: Int64)? {
        guard let anonymous = statusField("RssAnon"), let file = statusField("RssFile") else { return nil }
        return (anonymous, file)
    }

    /// Gives the heap's free memory back to the kernel (glibc's malloc_trim, looked up at run
    /// time because the Glibc module does not export it), so the next engine's memory window
    /// does not start with the previous one's freed heap counted in.
    static func trimHeap() {
        guard let process = dlopen(nil, RTLD_NOW), let symbol = dlsym(process, "malloc_trim") else { return }
        typealias Trim = @convention(c) (Int) -> Int32
        _ = unsafeBitCast(symbol, to: Trim.self)(0)
    }

    static func statusField(_ name: String) -> Int64? { fieldOf(file: "/proc/self/status", name) }

    /// A `kB` field of a /proc file such as /proc/self/status or /proc/meminfo, in bytes.
    static func fieldOf(file: String, _ name: String) -> Int64? {
        guard let text = Files.readText(file) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(name + ":") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 2, let kilobytes = Int64(fields[1].trimmingSpaces) else { return nil }
            return kilobytes * 1024
        }
        return nil
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var text = self
        while let first = text.first, first == " " || first == "\t" { text = text.dropFirst() }
        while let last = text.last, last == " " || last == "\t" { text = text.dropLast() }
        return text
    }
}
