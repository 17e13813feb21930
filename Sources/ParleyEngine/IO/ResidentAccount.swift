// When a file's mapped reads should give their pages back. What a run of reads left resident is
// known only from the kernel's count (one fault maps anything from a page to a whole large folio,
// up to a page table's span, see `TouchedSpans`), so a read that touches a page for the first time
// since the last release is charged the most it can have mapped, the page-table spans ("windows")
// it lies in, each at most once between two readings (a window holds no more than its span), and
// when the charges since the kernel's count was last read pass what the limit still
// allowed then, the count is read again (`FileBackedResidentMemory`): the pages are dropped once it
// has grown by seven eighths of the limit since the last release. A page read again is not charged,
// since it is normally still mapped; when a reading shows fewer resident bytes than the pages read
// since the release (the kernel reclaimed some), the record of read pages is cleared, so they are
// charged again. The count is read at least every `checkInterval` counted reads as well. So a
// working set smaller than the limit but spread over the whole file, such as the records and state
// values short write transactions read, stays mapped instead of being dropped and faulted back
// every few dozen reads.
//
// The count is the whole process's: several files open in one process share it, each dropping its
// own pages when the process's file-backed memory has grown by its limit since its own last release
// (a file may drop its pages for another's growth; together they stay near the limit). A reading
// below the baseline (another mapping let go) lowers the baseline, so that room is not given away.

/// The resident-memory account of one mapped file's counted reads.
struct ResidentAccount {
    /// Under this share of the limit left, the pages are dropped rather than the count read again
    /// after every few reads.
    static let reserveDivisor = 8
    /// Counted reads between two readings of the kernel's count at most, whatever they were charged.
    static let checkInterval = 4096

    /// Bytes of the file the process may hold resident through mapped reads.
    let limit: Int
    /// Log2 of the machine's page size, and of the address space one page table maps (the most one
    /// fault can map: 2 MiB with 4 KiB pages).
    let pageShift: Int
    let windowShift: Int
    /// The pages touched since the last release (or since the kernel was found to have taken
    /// some back): a page touched again is still mapped.
    private var pages: TouchedSpans
    /// The windows touched since the last release: what the reads can have mapped at most.
    private(set) var windows: TouchedSpans
    /// The windows charged since the last reading began: whatever is read in them meanwhile, they
    /// cannot map more than their span.
    private var chargedWindows: TouchedSpans
    /// At most what the counted reads since the last reading began have mapped.
    private var charged = 0
    /// Counted reads since the last reading began.
    private var reads = 0
    /// What the pages may still add before the limit, as of the last reading.
    private var allowance: Int
    /// A reading is being taken (by the thread that was told `.measure`).
    private var measuring = false
    /// Releases so far: a reading taken before a release is stale after it.
    private(set) var epoch = 0
    /// The process's file-backed resident bytes just after the last release (or lower, see above);
    /// nil when the kernel's count cannot be read or is too coarse for this limit, and then the
    /// touched windows alone decide.
    private(set) var baseline: Int?

    init(limit: Int, baseline: Int?, pageSize: Int = 4096) {
        self.limit = limit
        self.allowance = limit
        self.baseline = baseline
        let page = max(1, pageSize)
        // A page table is one page of 8-byte entries.
        pageShift = Int.bitWidth - 1 - page.leadingZeroBitCount
        windowShift = pageShift + max(0, pageShift - 3)
        pages = TouchedSpans(shift: pageShift)
        windows = TouchedSpans(shift: windowShift)
        chargedWindows = TouchedSpans(shift: windowShift)
    }

    enum Step: Equatable {
        case none
        /// Read the kernel's count and pass it to `measured(_:epoch:)` with this epoch.
        case measure(epoch: Int)
        /// Drop the mapping's pages.
        case release
    }

    /// Charges a read of `length` bytes at `offset` (in the mapping's memory alignment).
    mutating func charge(offset: UInt64, length: Int) -> Step {
        guard length > 0 else { return .none }
        let freshPages = pages.touch(offset: offset, length: length)
        windows.touch(offset: offset, length: length)
        guard baseline != nil else { return windows.bytes > limit ? .release : .none }
        reads += 1
        if freshPages > 0 {
            let fresh = chargedWindows.touch(offset: offset, length: length)
            let (cost, costOverflow) = fresh.multipliedReportingOverflow(by: 1 << windowShift)
            let (total, overflow) = charged.addingReportingOverflow(cost)
            charged = costOverflow || overflow ? Int.max : total
        }
        guard !measuring, charged > allowance || reads >= Self.checkInterval else { return .none }
        // The charges so far are what this reading covers; later ones count toward the next.
        measuring = true
        charged = 0
        reads = 0
        chargedWindows.reset()
        return .measure(epoch: epoch)
    }

    /// Takes a reading of the process's file-backed resident bytes, begun at `epoch`; true when the
    /// pages should go.
    mutating func measured(_ reading: Int?, epoch readingEpoch: Int) -> Bool {
        guard readingEpoch == epoch else { return false }
        measuring = false
        guard let reading, let start = baseline else { return windows.bytes > limit }
        // Another mapping let go since the release: start from the lower figure.
        let base = min(start, reading)
        baseline = base
        let growth = reading - base
        // Each page read since the release maps at least itself; less growth than that means the
        // kernel took some back, and a read of those would fault again.
        let (pageBytes, overflow) = pages.count.multipliedReportingOverflow(by: 1 << pageShift)
        if overflow || growth < pageBytes { pages.reset() }
        let left = limit - growth
        guard left > limit / Self.reserveDivisor else { return true }
        allowance = left
        return false
    }

    /// Starts again as the pages are dropped (called before and after the drop: pages read while
    /// it ran may have been dropped too).
    mutating func reset() {
        pages.reset()
        windows.reset()
        chargedWindows.reset()
        charged = 0
        reads = 0
        allowance = limit
        measuring = false
    }

    /// Ends a release: the reading taken just after the pages were dropped (nil: none could be
    /// taken), and a new epoch, so readings begun before it are ignored.
    mutating func released(baseline reading: Int?) {
        reset()
        epoch &+= 1
        baseline = reading
    }
}
