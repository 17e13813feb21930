// How much of this process's memory is pages of mapped files, as the kernel counts it: the third
// field of /proc/self/statm (resident pages backed by a file or shared memory). The count is the
// kernel's own, O(1) to read, and covers every mapped file, so callers compare two readings.

import Glibc

enum FileBackedResidentMemory {
    /// Bytes of mapped files resident in this process now; nil where /proc cannot be read or its
    /// contents are not what Linux writes there.
    static func bytes() -> Int? {
        // Opened afresh each time: a descriptor kept open would keep reporting its opener after a
        // fork.
        var descriptor: Int32
        repeat {
            descriptor = open("/proc/self/statm", O_RDONLY | O_CLOEXEC)
        } while descriptor < 0 && errno == EINTR
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: 160)
        let count = buffer.withUnsafeMutableBytes { raw -> Int in
            var n: Int
            repeat { n = read(descriptor, raw.baseAddress, raw.count) } while n < 0 && errno == EINTR
            return n
        }
        guard count > 0 else { return nil }
        guard let pages = field(2, of: buffer.prefix(count)) else { return nil }
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        guard pageSize > 0 else { return nil }
        let (bytes, overflow) = pages.multipliedReportingOverflow(by: pageSize)
        return overflow ? nil : bytes
    }

    /// The decimal field at `index` (from 0) of a line of space-separated numbers.
    static func field(_ index: Int, of text: ArraySlice<UInt8>) -> Int? {
        var current = 0
        var value = 0
        var digits = 0
        for byte in text {
            if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n") {
                if current == index { return digits > 0 ? value : nil }
                current += 1
                value = 0
                digits = 0
                continue
            }
            guard current == index else { continue }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(Int(byte - UInt8(ascii: "0")))
            guard !o1, !o2 else { return nil }
            value = sum
            digits += 1
        }
        return current == index && digits > 0 ? value : nil
    }
}
