// Validated access to the pages of one snapshot. Every page the trees read comes through here:
// its number is checked against the snapshot's page count before any offset is computed, and its
// checksum, number and type before any byte of it is used.

/// Reads pages of the file, bounded by the page count of the state being read.
struct PageReader: Sendable {
    let file: any StorageFile
    let pageSize: Int
    /// Pages at or past this number do not exist in the state being read.
    let pageCount: UInt64

    /// Lends a validated data page to `body`. `expected` nil accepts any type (the caller checks).
    func withPage<R>(_ id: PageID, expecting expected: PageType?, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        guard id >= PageLayout.firstDataPage, id < pageCount else {
            throw EngineError.corruptPage(page: id, reason: "page number outside the file's pages 3..<\(pageCount)")
        }
        let (offset, overflow) = id.multipliedReportingOverflow(by: UInt64(pageSize))
        guard !overflow else { throw EngineError.corruptPage(page: id, reason: "page offset overflows") }
        return try file.withBytes(at: offset, count: pageSize) { page in
            if let problem = PageLayout.problem(in: page, number: id, expected: expected) {
                throw EngineError.corruptPage(page: id, reason: problem)
            }
            return try body(page)
        }
    }

    /// Reads a page into a fresh array (for decoding into a mutable node).
    func copyPage(_ id: PageID, expecting expected: PageType?) throws -> Bytes {
        try withPage(id, expecting: expected) { Bytes($0) }
    }
}
