// Validated access to the pages of one snapshot. Every page the trees read comes through here:
// its number is checked against the snapshot's page count before any offset is computed, and its
// checksum, number and type before any byte of it is used.

import CParleySupport
import Glibc

/// Reads pages of the file, bounded by the page count of the state being read.
final class PageReader: Sendable {
    let file: any StorageFile
    let pageSize: Int
    /// Pages at or past this number do not exist in the state being read.
    let pageCount: UInt64
    /// Pages already checked by this process; nil checks every page on every read.
    private let verified: VerifiedPages?
    /// Tree pages whose cell layout this process already validated (bytes that passed the
    /// checksum do not change until the writer forgets them in both sets).
    private let shaped: VerifiedPages?
    /// The mapped file covering every page below `pageCount`, when there is one: pages are then
    /// read in place with no lock or call per page.
    let mapped: MappedBytes?
    /// `mapped`'s first byte: binding `mapped` itself copies it and retains its owner, at every
    /// page visited. The owner lives as long as this reader, which holds `mapped`; the bytes are
    /// only read, from any thread, as `mapped`'s are (`MappedBytes` is `@unchecked Sendable`).
    nonisolated(unsafe) private let mappedBase: UnsafeRawPointer?
    /// The C sets under `verified` and `shaped`, which this reader keeps alive: tested through
    /// these at every page visited, with no retain and release of the Swift objects each time.
    private let verifiedBits: PageBits?
    private let shapedBits: PageBits?

    /// `mapOnce`: take the file's mapping now for every later page (read transactions, whose
    /// pages all exist already); otherwise each page is asked of the file.
    init(
        file: any StorageFile, pageSize: Int, pageCount: UInt64, verified: VerifiedPages?, shaped: VerifiedPages? = nil,
        mapOnce: Bool = false
    ) {
        self.file = file
        self.pageSize = pageSize
        self.pageCount = pageCount
        self.verified = verified
        self.shaped = verified == nil ? nil : shaped
        self.verifiedBits = verified?.handle
        self.shapedBits = verified == nil ? nil : shaped?.handle
        let (bytes, overflow) = pageCount.multipliedReportingOverflow(by: UInt64(pageSize))
        self.mapped = mapOnce && !overflow ? file.mappedBytes(covering: bytes) : nil
        self.mappedBase = mapped?.base
    }

    /// Lends a validated data page to `body`. `expected` nil accepts any type (the caller checks).
    func withPage<R>(_ id: PageID, expecting expected: PageType?, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        guard id >= PageLayout.firstDataPage, id < pageCount else {
            throw EngineError.corruptPage(page: id, reason: "page number outside the file's pages 3..<\(pageCount)")
        }
        let (offset, overflow) = id.multipliedReportingOverflow(by: UInt64(pageSize))
        guard !overflow else { throw EngineError.corruptPage(page: id, reason: "page offset overflows") }
        if let mappedBase {
            // id < pageCount, so the page lies inside the mapped length (checked at init). The
            // mapping lives while its owner does, which this reader holds (a constant) for as
            // long as any caller holds the reader.
            return try checked(UnsafeRawBufferPointer(start: mappedBase + Int(offset), count: pageSize), id, expected, body)
        }
        return try file.withBytes(at: offset, count: pageSize) { page in try checked(page, id, expected, body) }
    }

    private func checked<R>(
        _ page: UnsafeRawBufferPointer, _ id: PageID, _ expected: PageType?, _ body: (UnsafeRawBufferPointer) throws -> R
    ) throws -> R {
        let known = verifiedBits?.contains(id) ?? false
        if let problem = PageLayout.problem(in: page, number: id, expected: expected, checksum: !known) {
            throw EngineError.corruptPage(page: id, reason: problem)
        }
        if !known { verifiedBits?.insert(id) }
        return try body(page)
    }

    /// True when this process has already checked page `id`'s checksum (a read of it now costs
    /// no checksum pass).
    func hasVerified(_ id: PageID) -> Bool { verifiedBits?.contains(id) ?? false }

    /// A leaf view of `page` (lent by `withPage`), validating its cells once per process.
    func leafView(_ page: UnsafeRawBufferPointer, id: PageID) throws -> LeafView {
        if shapedBits?.contains(id) ?? false {
            return LeafView(validated: page, id: id, count: Int(page.loadLE(UInt16.self, at: TreeLayout.countOffset)))
        }
        let view = try LeafView(page, id: id)
        shapedBits?.insert(id)
        return view
    }

    /// A branch view of `page` (lent by `withPage`), validating its cells once per process.
    func branchView(_ page: UnsafeRawBufferPointer, id: PageID) throws -> BranchView {
        if shapedBits?.contains(id) ?? false { return BranchView(validated: page, id: id) }
        let view = try BranchView(page, id: id)
        shapedBits?.insert(id)
        return view
    }

    /// The machine's page size: madvise takes addresses aligned to it.
    private static let osPageSize = max(4096, Int(sysconf(Int32(_SC_PAGESIZE))))

    /// Asks the kernel to start reading up to `count` pages from `first` at once (the rest of an
    /// overflow chain that lies in a row), so a cold read waits for one request rather than one
    /// per page: the mapping is advised MADV_RANDOM, so faults read no neighbours. Only a hint: no
    /// byte is used here, pages past this snapshot are left out, and without a mapping it does
    /// nothing.
    func prefetch(_ first: PageID, count: Int) {
        guard let mappedBase, count > 1, first >= PageLayout.firstDataPage, first < pageCount else { return }
        let pages = Int(min(pageCount - first, UInt64(count)))
        // Inside the mapping: first + pages <= pageCount, whose bytes the mapping covers.
        let osPage = Self.osPageSize
        let start = Int(first) * pageSize
        let alignedStart = start / osPage * osPage
        let end = start + pages * pageSize
        _ = madvise(UnsafeMutableRawPointer(mutating: mappedBase + alignedStart), end - alignedStart, MADV_WILLNEED)
    }

    /// Asks the CPU to start fetching the bytes of page `id` into its caches, so that a read of
    /// several pages, warmed first, waits for them side by side rather than one after another.
    /// Only a hint: no byte is used or checked here, and without a mapping it does nothing.
    func warm(_ id: PageID) {
        guard let mappedBase, id >= PageLayout.firstDataPage, id < pageCount else { return }
        // Inside the mapping: id < pageCount, whose bytes the mapping covers.
        parley_prefetch_range(mappedBase + Int(id) * pageSize, pageSize)
    }

    /// Reads a page into a fresh array (for decoding into a mutable node).
    func copyPage(_ id: PageID, expecting expected: PageType?) throws -> Bytes {
        try withPage(id, expecting: expected) { Bytes($0) }
    }
}
