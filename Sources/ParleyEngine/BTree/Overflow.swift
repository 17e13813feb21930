// Values too large for a leaf live in a chain of overflow pages (docs/FORMAT.md, "Overflow pages").
// Each page: header(16) | next u64 | length u32 (bytes of value in this page) | reserved u32 | data.
// A chain is written once and never changed; replacing or deleting the value frees it whole. Any
// page will do as the next link, so a large value never needs adjacent free pages.

enum Overflow {
    static let nextOffset = 16
    static let lengthOffset = 24
    static let dataOffset = 32

    static func capacity(pageSize: Int) -> Int { pageSize - dataOffset }

    static func pagesNeeded(length: Int, pageSize: Int) -> Int {
        let per = capacity(pageSize: pageSize)
        return max(1, (length + per - 1) / per)
    }

    /// Sealed page images holding `value` across `ids`, in order.
    static func encode(_ value: Bytes, ids: [PageID], pageSize: Int) -> [Bytes] {
        let per = capacity(pageSize: pageSize)
        var pages: [Bytes] = []
        pages.reserveCapacity(ids.count)
        for (i, id) in ids.enumerated() {
            let start = min(value.count, i * per)
            let end = min(value.count, start + per)
            var page = Bytes(repeating: 0, count: pageSize)
            page.withUnsafeMutableBytes { p in
                p.storeLE(i + 1 < ids.count ? ids[i + 1] : 0, at: nextOffset)
                p.storeLE(UInt32(end - start), at: lengthOffset)
                p.copy(Array(value[start..<end]), at: dataOffset)
            }
            PageLayout.seal(&page, type: .overflow, number: id)
            pages.append(page)
        }
        return pages
    }

    /// Follows a chain of `length` bytes from `first`, handing each page to `visit`, with every link
    /// and length checked: the chain must have exactly the pages the length needs, each full but
    /// the last, and end with a zero link. Returns the chain's pages.
    @discardableResult
    static func walk(
        first: PageID, length: UInt32, pageSize: Int,
        withPage: (PageID, (UnsafeRawBufferPointer) throws -> Void) throws -> Void,
        visit: (UnsafeRawBufferPointer) -> Void = { _ in }
    ) throws -> [PageID] {
        try withoutActuallyEscaping(visit) { visit in
            try walkChain(first: first, length: length, pageSize: pageSize, withPage: withPage, visit: visit)
        }
    }

    /// Chains up to this many pages are checked for a cycle by a linear scan.
    static let linearCycleCheckLimit = 16

    private static func walkChain(
        first: PageID, length: UInt32, pageSize: Int,
        withPage: (PageID, (UnsafeRawBufferPointer) throws -> Void) throws -> Void,
        visit: @escaping (UnsafeRawBufferPointer) -> Void
    ) throws -> [PageID] {
        guard Int(length) <= WriteTransaction.maximumValueLength else {
            throw EngineError.corruptPage(page: first, reason: "overflow value of \(length) bytes exceeds the maximum")
        }
        let per = capacity(pageSize: pageSize)
        let expected = pagesNeeded(length: Int(length), pageSize: pageSize)
        var ids: [PageID] = []
        ids.reserveCapacity(expected)
        // A page met twice would be read (and freed) twice. Short chains, nearly all of them, are
        // checked by scanning the ids so far, with no set to allocate and hash per read; a set
        // takes over past `linearCycleCheckLimit` pages.
        var seen = Set<PageID>()
        var id = first
        var remaining = Int(length)
        for index in 0..<expected {
            let repeated: Bool
            if ids.count < linearCycleCheckLimit {
                repeated = ids.contains(id)
            } else {
                if seen.isEmpty { seen = Set(ids) }
                repeated = !seen.insert(id).inserted
            }
            guard !repeated else { throw EngineError.corruptPage(page: id, reason: "overflow chain has a cycle") }
            ids.append(id)
            var next: PageID = 0
            try withPage(id) { page in
                guard PageLayout.type(of: page) == .overflow else {
                    throw EngineError.corruptPage(page: id, reason: "expected an overflow page")
                }
                let count = Int(page.loadLE(UInt32.self, at: lengthOffset))
                let wanted = min(per, remaining)
                guard count == wanted else {
                    throw EngineError.corruptPage(page: id, reason: "overflow page holds \(count) bytes, expected \(wanted)")
                }
                next = page.loadLE(UInt64.self, at: nextOffset)
                visit(UnsafeRawBufferPointer(rebasing: page[dataOffset..<dataOffset + count]))
                remaining -= count
            }
            if index + 1 < expected {
                guard next != 0 else { throw EngineError.corruptPage(page: id, reason: "overflow chain ends early") }
                id = next
            } else if next != 0 {
                throw EngineError.corruptPage(page: id, reason: "overflow chain runs past its length")
            }
        }
        return ids
    }

    static func read(
        first: PageID, length: UInt32, pageSize: Int,
        withPage: (PageID, (UnsafeRawBufferPointer) throws -> Void) throws -> Void
    ) throws -> Bytes {
        var value = Bytes()
        // Reserved only up to a bound: the length is not trusted until the chain has been read.
        value.reserveCapacity(min(Int(length), 1 << 20))
        try walk(first: first, length: length, pageSize: pageSize, withPage: withPage) { value.append(contentsOf: $0) }
        return value
    }
}
