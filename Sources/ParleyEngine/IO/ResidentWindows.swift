// Which parts of a mapped file this process may hold resident. A read fault on a shared file
// mapping maps not only the faulting page but the page cache's pages around it: 64 KiB of small
// pages (the kernel's fault-around, which madvise does not turn off), or a whole large folio of up
// to 2 MiB (ext4 caches a file written in large runs that way). Measured on Linux 6.18 / ext4:
// touching one 4 KiB page in sixteen mapped the whole file. So `PosixFile` counts touched 2 MiB
// windows, an upper bound, and lets go of the mapping's pages when they pass its limit.

/// The 2 MiB windows of a file touched since the last release.
struct ResidentWindows {
    static let shift = 21
    private var bits: [UInt64] = []
    /// Windows touched since the last `reset`.
    private(set) var count = 0

    /// Bytes those windows may hold resident.
    var bytes: Int { count << Self.shift }

    /// Marks the windows that `offset ..< offset + length` lies in.
    mutating func touch(offset: UInt64, length: Int) {
        guard length > 0 else { return }
        let first = Int(clamping: offset >> UInt64(Self.shift))
        let last = Int(clamping: (offset + UInt64(length) - 1) >> UInt64(Self.shift))
        for window in first...last {
            let word = window >> 6
            if word >= bits.count { bits.append(contentsOf: repeatElement(0, count: word + 1 - bits.count)) }
            let mask = UInt64(1) << UInt64(window & 63)
            if bits[word] & mask == 0 {
                bits[word] |= mask
                count += 1
            }
        }
    }

    mutating func reset() {
        for i in bits.indices { bits[i] = 0 }
        count = 0
    }
}
