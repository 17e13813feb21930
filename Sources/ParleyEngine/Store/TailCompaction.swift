// Giving free pages back to the file system at a clean close.
//
// Copy-on-write leaves the old copy of every page a commit rewrites free where it was, so after a
// checkpoint the file is sprinkled with free pages (a quarter of a chat store's pages after its
// last one) and never gets shorter. At close, with no reader left to need an old page, three
// ordinary commits move the free pages to the end and cut them off:
//
//  1. Relocation: every page in use at or past the target (the pages the state needs) is written
//     again into the lowest free pages. A leaf moves by storing its first key again (which copies
//     the leaf and every ancestor: copy-on-write moves a page's whole path), a branch with one
//     leaf under it, an overflow chain by storing its value again. All free pages are handed out
//     lowest first.
//  2. Shrink: the page count becomes one past the highest page still used; the free pages past
//     it are left out of the freelist. The commit's own freelist chunks must fit in free pages
//     under the cut: one past it would be written over a page the durable state may still name
//     (its freelist's old chunk pages), so the cut stops higher when too few lie under it.
//  3. The same state again, so that both meta pages count the shorter file before close cuts it.
//
// Each step is a commit like any other: a crash between two leaves a state that opens (a meta page
// that counts more pages than a cut file holds is passed over at open, and the other counts
// fewer). Pages written before a commit go only to pages free in the committed state.

extension StorageEngine {
    /// Moves the pages in use at the end of the file into free pages and lowers the page count,
    /// when at least `minimumFreeFraction` of the pages are free and no read transaction is open.
    /// Returns how many pages the page count lost (close then cuts them from the file). Only for
    /// a close: from the call on, read transactions are refused, so that none starts on pages the
    /// cut is about to remove.
    @discardableResult
    func compactTail(minimumFreeFraction: Double) throws -> UInt64 {
        let (meta, readersOpen) = refuseReaders()
        guard !readersOpen, minimumFreeFraction < 1,
            Double(meta.freeCount) >= minimumFreeFraction * Double(meta.pageCount), meta.freeCount > 0
        else { return 0 }
        // A second pass moves what the first had to leave high: the first one's own copies of
        // ancestors took low free pages whose old copies are free only after it commits.
        for _ in 0..<2 {
            guard try relocateTail() else { break }
        }
        let before = meta.pageCount
        // The other meta page gets the lower count too, only when there is one to give it.
        if try shrinkPageCount() { try write { _ in } }
        // The relocation may have grown the file (copies of ancestors when few pages were free).
        let after = pageCount
        return before > after ? before - after : 0
    }

    /// One relocation commit; false when no page in use lies at or past the target.
    private func relocateTail() throws -> Bool {
        let transaction = try beginWrite()
        do {
            let target = transaction.takeEveryFreePageLowestFirst()
            let moves = try transaction.pagesToMove(atOrPast: target)
            guard !moves.isEmpty else {
                transaction.abort()
                return false
            }
            for (tree, key) in moves {
                guard let value = try transaction.get(tree, key) else {
                    throw EngineError.corruptPage(page: 0, reason: "a key of tree \"\(tree)\" vanished while it was moved")
                }
                // `put` writes changed leaves early past a bound, as in a checkpoint.
                try transaction.put(tree, key, value)
            }
            try transaction.commit()
            return true
        } catch {
            transaction.abort()
            throw error
        }
    }

    /// A commit whose page count ends after the highest page in use; false when the last page is
    /// in use already (nothing is committed then).
    private func shrinkPageCount() throws -> Bool {
        let transaction = try beginWrite()
        do {
            _ = transaction.takeEveryFreePageLowestFirst()
            guard transaction.cutFreePagesAtTheEnd() else {
                transaction.abort()
                return false
            }
            try transaction.commit()
            return true
        } catch {
            transaction.abort()
            throw error
        }
    }
}

extension WriteTransaction {
    /// Moves every free page of the freelist into this transaction's pool, lowest handed out
    /// first, and returns the number of pages the state needs (those neither free nor freelist
    /// chunks). Only for a transaction that no reader constrains: every free page must be reusable.
    func takeEveryFreePageLowestFirst() -> UInt64 {
        var emptied: [PageID] = []
        var free: [PageID] = []
        while let id = freelist.take(reusableUpTo: reusableUpTo, emptiedChunks: &emptied) { free.append(id) }
        // Emptied chunk pages belong to the committed freelist until this commit: not reusable here.
        freedCommitted.append(contentsOf: emptied)
        pool = (pool + free).sorted(by: >)
        // The freelist was checked against the file when read; still, no arithmetic on its count traps.
        let unused = UInt64(pool.count) + UInt64(freedCommitted.count)
        return pageCount > unused ? max(pageCount - unused, PageLayout.firstDataPage) : PageLayout.firstDataPage
    }

    /// The (tree, key) pairs whose storing again moves every page in use at or past `target`: the
    /// first key of each leaf on such a page and of one leaf under each such branch, and each key
    /// whose overflow chain has such a page. Every tree counts as changed, so the commit rewrites
    /// the whole catalog too.
    func pagesToMove(atOrPast target: UInt64) throws -> [(String, Bytes)] {
        var moves: [(String, Bytes)] = []
        for name in try treeNames(catalogRoot: catalog.root) {
            guard let descriptor = try descriptor(name), descriptor.root != 0 else { continue }
            changedTrees.insert(name)
            // Depth first, leftmost leaf first: (page, its ancestors at or past the target). Storing
            // a leaf's key again copies the leaf and its whole path, so a branch past the target
            // moves with the first leaf under it that is touched; the rest of its leaves stay.
            var stack: [(PageID, [PageID])] = [(descriptor.root, [])]
            var covered = Set<PageID>()
            var visited: UInt64 = 0
            while let (id, highAncestors) = stack.popLast() {
                visited += 1
                guard visited <= pageCount else {
                    throw EngineError.corruptPage(page: id, reason: "tree \"\(name)\" reaches more pages than the file has")
                }
                switch try node(id) {
                case .branch(let branch):
                    let above = id >= target ? highAncestors + [id] : highAncestors
                    for child in branch.children.reversed() { stack.append((child, above)) }
                case .leaf(let leaf):
                    guard let first = leaf.keys.first else { continue }
                    let moveLeaf = id >= target || highAncestors.contains { !covered.contains($0) }
                    if moveLeaf {
                        moves.append((name, first))
                        covered.formUnion(highAncestors)
                    }
                    for (key, value) in zip(leaf.keys, leaf.values) {
                        guard case .overflow(let start, let length) = value else { continue }
                        if moveLeaf && key == first { continue }
                        let chain = try Overflow.walk(first: start, length: length, pageSize: pageSize) { page, body in
                            try withRawPage(page, body)
                        }
                        if chain.contains(where: { $0 >= target }) { moves.append((name, key)) }
                    }
                }
            }
        }
        return moves
    }

    /// Lowers the page count past the last pages when no tree uses them (free pages, in `pool`
    /// after `takeEveryFreePageLowestFirst`, and the committed freelist's chunk pages, which this
    /// commit frees, in `freedCommitted`); false when the last page cannot go. The pages past the
    /// new count are left out of the freelist (the file is cut there at close).
    ///
    /// The commit then writes its freelist chunks into pages it allocates: from the pool under
    /// the cut, or, when that runs out, by growing the count again, onto the first pages past the
    /// cut. Such a page is written before the commit's meta, while the durable meta may still name
    /// it as a freelist chunk (a crash then leaves the durable freelist broken). So the cut stops
    /// where the pool under it holds every chunk the commit needs.
    func cutFreePagesAtTheEnd() -> Bool {
        let free = Set(pool)
        let unused = free.union(freedCommitted)
        var end = pageCount
        while end > PageLayout.firstDataPage, unused.contains(end - 1) { end -= 1 }
        let capacity = Freelist.capacity(pageSize: pageSize)
        var freeUnder = pool.count { $0 < end }
        var freedUnder = freedCommitted.count { $0 < end }
        // Chunks needed for what is under the cut (as `finishFreelist` counts them, before the
        // chunks' own pages leave the pool: that count only falls as they do).
        while end < pageCount, freeUnder < (freeUnder + freedUnder + capacity - 1) / capacity {
            if free.contains(end) { freeUnder += 1 } else { freedUnder += 1 }
            end += 1
        }
        guard end < pageCount else { return false }
        pool = pool.filter { $0 < end }
        freedCommitted = freedCommitted.filter { $0 < end }
        pageCount = end
        return true
    }
}
