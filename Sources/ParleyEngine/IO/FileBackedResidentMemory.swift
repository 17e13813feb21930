// How much of this process's memory is pages of mapped files, as the kernel counts it: the third
// field of /proc/self/statm (resident pages backed by a file or shared memory). It covers every
// mapped file, so callers compare two readings. The kernel keeps the count in per-CPU shares; some
// kernels sum them for a reading, others read the global figure alone, which may lag the truth by
// up to max(32, 2 × CPUs) pages per CPU: `isPreciseEnough` tells whether that error is small
// against a limit.

import Glibc

enum FileBackedResidentMemory {
    /// Whether a reading's worst error, on a kernel that does not sum the per-CPU shares, fits in
    /// the reserve `ResidentAccount` keeps below `limit` (an eighth): 256 KiB on two CPUs with 4 KiB
    /// pages, 32 MiB on 64.
    static func isPreciseEnough(forLimit limit: Int) -> Bool {
        let cpus = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_CONF))))
        let pageSize = max(1, Int(sysconf(Int32(_SC_PAGESIZE))))
        let (perCPU, o1) = max(32, cpus.multipliedReportingOverflow(by: 2).partialValue).multipliedReportingOverflow(by: pageSize)
        let (error, o2) = perCPU.multipliedReportingOverflow(by: cpus)
        return !o1 && !o2 && error <= limit / ResidentAccount.reserveDivisor
    }

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
