// Which fixed-size, aligned spans of a mapped file reads have touched since the mapping's pages were
// last dropped: its pages, to know a page read again (still mapped) from one read for the first time,
// and its windows (a page table's span, 2 MiB with 4 KiB pages), the most one read fault can map
// (below). One bit per span, up to the highest span touched: for 4 KiB pages, one byte of memory per
// 32 KiB of file.
//
// A read fault on a shared file mapping maps not only the faulting page but the page cache's pages
// around it: 64 KiB of small pages (the kernel's fault-around, which madvise does not turn off), or
// the whole large folio the page is in, up to 2 MiB and never past the page table's 2 MiB of
// address space (ext4 caches a file written in large runs in large folios). Measured on Linux 6.18 /
// ext4: touching one 4 KiB page in sixteen mapped the whole file, and in a file written in one call,
// one page mapped 256 KiB.

/// The spans of 2^`shift` bytes touched since the last reset.
struct TouchedSpans {
    let shift: Int
    private var bits: [UInt64] = []
    /// Spans touched since the last `reset`.
    private(set) var count = 0

    init(shift: Int) { self.shift = shift }

    /// Bytes those spans cover.
    var bytes: Int { count << shift }

    /// Marks the spans that `offset ..< offset + length` lies in; returns how many were new.
    @discardableResult
    mutating func touch(offset: UInt64, length: Int) -> Int {
        guard length > 0 else { return 0 }
        var fresh = 0
        let first = Int(clamping: offset >> UInt64(shift))
        let last = Int(clamping: (offset + UInt64(length) - 1) >> UInt64(shift))
        for span in first...last {
            let word = span >> 6
            if word >= bits.count { bits.append(contentsOf: repeatElement(0, count: word + 1 - bits.count)) }
            let mask = UInt64(1) << UInt64(span & 63)
            if bits[word] & mask == 0 {
                bits[word] |= mask
                count += 1
                fresh += 1
            }
        }
        return fresh
    }

    mutating func reset() {
        for i in bits.indices { bits[i] = 0 }
        count = 0
    }
}
