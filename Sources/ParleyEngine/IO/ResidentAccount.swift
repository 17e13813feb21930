// When a file's mapped reads should give their pages back. What a run of reads left resident is
// known only from the kernel's count (one fault maps anything from a page to a 2 MiB folio, see
// `TouchedSpans`), so a read that touches a page for the first time since the last release is
// charged the most it can have mapped, its 2 MiB windows, and when the charges since the kernel's
// count was last read pass what the limit still allowed then, the count is read again
// (`FileBackedResidentMemory`): the pages are dropped only when they really near the limit. A page
// read again is not charged: it is still mapped. So a working set smaller than the limit but spread
// over the whole file, such as the records and state values short write transactions read, stays
// mapped instead of being dropped and faulted back every few dozen reads.

/// The resident-memory account of one mapped file's counted reads.
struct ResidentAccount {
    /// Log2 of the largest span one read fault can map: a page table's 2 MiB.
    static let windowShift = 21
    /// Log2 of the pages the mapping is made of.
    static let pageShift = 12
    /// Under this share of the limit left, the pages are dropped rather than the count read again
    /// after every few reads.
    static let reserveDivisor = 8

    /// Bytes of the file the process may hold resident through mapped reads.
    let limit: Int
    /// The pages touched since the last release: a page touched again is still mapped.
    private var pages = TouchedSpans(shift: pageShift)
    /// The windows touched since the last release: what the reads can have mapped at most.
    private(set) var windows = TouchedSpans(shift: windowShift)
    /// At most what the reads since the last reading of the kernel's count have mapped.
    private var charged = 0
    /// What the pages may still add before the limit, as of the last reading.
    private var allowance: Int
    /// The process's file-backed resident bytes just after the last release; nil when the kernel's
    /// count cannot be read, and then the touched windows alone decide.
    private(set) var baseline: Int?

    init(limit: Int, baseline: Int?) {
        self.limit = limit
        self.allowance = limit
        self.baseline = baseline
    }

    enum Step: Equatable {
        case none
        /// Read the kernel's count and pass it to `measured`.
        case measure
        /// Drop the mapping's pages.
        case release
    }

    /// Charges a read of `length` bytes at `offset` (in the mapping's memory alignment).
    mutating func charge(offset: UInt64, length: Int) -> Step {
        guard length > 0 else { return .none }
        let freshPages = pages.touch(offset: offset, length: length)
        windows.touch(offset: offset, length: length)
        guard baseline != nil else { return windows.bytes > limit ? .release : .none }
        guard freshPages > 0 else { return .none }
        let spanned = Int(clamping: (offset + UInt64(length) - 1) >> UInt64(Self.windowShift) - offset >> UInt64(Self.windowShift)) + 1
        let (cost, costOverflow) = spanned.multipliedReportingOverflow(by: 1 << Self.windowShift)
        let (total, overflow) = charged.addingReportingOverflow(cost)
        charged = costOverflow || overflow ? Int.max : total
        return charged > allowance ? .measure : .none
    }

    /// Takes a reading of the process's file-backed resident bytes; true when the pages should go.
    mutating func measured(_ reading: Int?) -> Bool {
        guard let reading, let baseline else { return windows.bytes > limit }
        let growth = max(0, reading - baseline)
        let left = limit - growth
        guard left > limit / Self.reserveDivisor else { return true }
        allowance = left
        charged = 0
        return false
    }

    /// Starts again as the pages are dropped.
    mutating func reset() {
        pages.reset()
        windows.reset()
        charged = 0
        allowance = limit
    }

    /// The reading taken just after the pages were dropped (nil: none could be taken).
    mutating func rebase(_ reading: Int?) { baseline = reading }
}
