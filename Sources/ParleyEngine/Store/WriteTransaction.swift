// The write transaction: copy-on-write changes to the trees, then an atomic commit.
//
// Invariants:
// - A page of the committed state is never written: changing it allocates a new page
//   (`writablePage`) and frees the old one, which joins the freelist at commit.
// - Every page this transaction allocated and still holds is in exactly one of `changedNodes`,
//   `writtenNodes`, `changedRaw` and `writtenRaw`; a changed node's ancestors are changed too, so a
//   path stops copying at the first changed page.
// - Overflow pages and changed leaves may be written before the commit (`writeOverflowIfMany`,
//   `writeLeavesIfMany`), so a large transaction holds a bounded number of them in memory: they are
//   pages no durable meta and no live snapshot can reach (new, pooled, or taken from the freelist
//   under `reusableUpTo`), so a crash or an abort leaves them as unreferenced bytes, exactly as a
//   crash during `writePages` would. A written leaf changed again is read back into `changedNodes`.
// - Commit order: new pages written, fdatasync, meta page written, fdatasync. Until the second
//   sync completes the previous meta is the durable one, and none of its pages was touched.
// - Abort keeps nothing: the transaction's copy of the freelist and its changed pages are dropped.

/// The one write transaction of an engine. Not thread-safe: use it from one thread at a time.
public final class WriteTransaction {
    let engine: StorageEngine
    let base: CommittedState
    let reader: PageReader
    let pageSize: Int
    /// Freed pages from commits at or before this generation may be handed out.
    let reusableUpTo: UInt64

    var pageCount: UInt64
    var freelist: Freelist
    var catalog: TreeDescriptor
    var changedNodes: [PageID: Node] = [:]
    var changedRaw: [PageID: Bytes] = [:]
    /// Overflow pages of this transaction already written to the file (read back on demand).
    var writtenRaw: Set<PageID> = []
    /// Changed leaves already written to the file (read back into `changedNodes` on demand).
    var writtenNodes: Set<PageID> = []
    /// Nodes left in `changedNodes` by the last batch of leaf writes (the branches): the next batch
    /// waits for `heldNodes` more, so a transaction with many branches does not scan them per change.
    private var nodesKeptByLastWrite = 0
    /// Pages of the committed state this transaction no longer uses.
    var freedCommitted: [PageID] = []
    /// Pages this transaction allocated and then freed: reusable at once.
    var pool: [PageID] = []
    /// Trees opened so far, with their current descriptors.
    var trees: [String: TreeDescriptor] = [:]
    var changedTrees: Set<String> = []
    var droppedTrees: Set<String> = []
    /// Log sequence number to record at commit (the write-ahead log sets it).
    public var logSequence: UInt64
    /// Bumped by every change, so cursors can tell the tree moved under them.
    private(set) var version = 0
    private var finished = false
    /// Set when a change failed part-way: what it did cannot be undone piecemeal, so the
    /// transaction may only be aborted.
    private var failure: Error?

    /// `freelist`: the free pages of `base` (`base.freelist` may not have been read yet).
    init(engine: StorageEngine, base: CommittedState, freelist: Freelist, reusableUpTo: UInt64) {
        self.engine = engine
        self.base = base
        self.pageSize = engine.pageSize
        self.reusableUpTo = reusableUpTo
        self.reader = PageReader(
            file: engine.file, pageSize: engine.pageSize, pageCount: base.meta.pageCount, verified: engine.verifiedPages,
            shaped: engine.shapedPages)
        self.pageCount = base.meta.pageCount
        self.freelist = freelist
        self.catalog = base.meta.catalog
        self.logSequence = base.meta.logSequence
    }

    deinit {
        if !finished { abort() }
    }

    /// The generation this transaction will commit as.
    public var generation: UInt64 { base.meta.generation + 1 }

    // MARK: - Trees

    func descriptor(_ tree: String) throws -> TreeDescriptor? {
        if let descriptor = trees[tree] { return descriptor }
        if droppedTrees.contains(tree) { return nil }
        let descriptor = try treeDescriptor(named: tree, catalogRoot: catalog.root)
        if let descriptor { trees[tree] = descriptor }
        return descriptor
    }

    private func existing(_ tree: String) throws -> TreeDescriptor {
        guard let descriptor = try descriptor(tree) else { throw EngineError.treeNotFound(name: tree) }
        return descriptor
    }

    /// Creates an empty tree named `tree` unless it exists. Returns true when it was created.
    @discardableResult
    public func createTree(_ tree: String) throws -> Bool {
        try checkOpen()
        let key = Array(tree.utf8)
        guard !key.isEmpty, key.count <= maximumKeyLength else {
            throw EngineError.invalidArgument("a tree name must be 1 to \(maximumKeyLength) bytes")
        }
        if try descriptor(tree) != nil { return false }
        trees[tree] = .empty
        droppedTrees.remove(tree)
        changedTrees.insert(tree)
        version += 1
        return true
    }

    /// Deletes the tree named `tree` and every entry in it, freeing its pages.
    public func dropTree(_ tree: String) throws {
        try checkOpen()
        let descriptor = try existing(tree)
        try changing { try freeSubtree(descriptor.root) }
        trees[tree] = nil
        changedTrees.remove(tree)
        droppedTrees.insert(tree)
        version += 1
    }

    /// True when a tree of this name exists.
    public func treeExists(_ tree: String) throws -> Bool { try descriptor(tree) != nil }

    /// The value stored under `key` in `tree`, or nil.
    public func get(_ tree: String, _ key: Bytes) throws -> Bytes? {
        try checkOpen()
        return try lookup(key, root: try existing(tree).root)
    }

    /// Number of entries in `tree`.
    /// The values under `keys` in `tree`, in their order (nil where absent), as `get` answers each.
    public func getMany(_ tree: String, _ keys: [Bytes]) throws -> [Bytes?] {
        try checkOpen()
        return try lookupMany(keys, root: try existing(tree).root)
    }

    public func count(_ tree: String) throws -> UInt64 { try existing(tree).count }

    /// Stores `value` under `key` in `tree`, replacing any value there.
    public func put(_ tree: String, _ key: Bytes, _ value: Bytes) throws {
        try checkOpen()
        guard key.count <= maximumKeyLength else {
            throw EngineError.keyTooLarge(length: key.count, maximum: maximumKeyLength)
        }
        guard value.count <= Self.maximumValueLength else {
            throw EngineError.valueTooLarge(length: value.count, maximum: Self.maximumValueLength)
        }
        var descriptor = try existing(tree)
        try changing {
            try put(into: &descriptor, key: key, value: value)
            try writeLeavesIfMany()
        }
        trees[tree] = descriptor
        changedTrees.insert(tree)
        version += 1
    }

    /// Removes `key` from `tree`. Returns true when it was there.
    @discardableResult
    public func delete(_ tree: String, _ key: Bytes) throws -> Bool {
        try checkOpen()
        var descriptor = try existing(tree)
        let removed = try changing {
            let removed = try delete(from: &descriptor, key: key)
            try writeLeavesIfMany()
            return removed
        }
        if removed {
            trees[tree] = descriptor
            changedTrees.insert(tree)
            version += 1
        }
        return removed
    }

    /// A cursor over `tree` that sees this transaction's changes.
    public func cursor(_ tree: String) throws -> TreeCursor {
        try checkOpen()
        _ = try existing(tree)
        return TreeCursor(
            source: self, root: try existing(tree).root, version: { [unowned self] in self.version },
            currentRoot: { [unowned self] in self.trees[tree]?.root ?? 0 })
    }

    /// The longest key this database accepts.
    public var maximumKeyLength: Int { TreeLayout.maximumKeyLength(pageSize: pageSize) }

    /// The longest value this database accepts.
    public static let maximumValueLength = 1 << 30

    func checkOpen() throws {
        guard !finished else { throw EngineError.invalidArgument("the transaction has ended") }
        if let failure {
            throw EngineError.invalidArgument("an earlier change in this transaction failed (\(failure)); abort it")
        }
    }

    /// Runs a change; if it fails after its arguments were accepted, the transaction is spoiled.
    private func changing<R>(_ body: () throws -> R) throws -> R {
        do {
            return try body()
        } catch {
            failure = error
            throw error
        }
    }

    // MARK: - Pages

    /// Hands out a page: one this transaction freed, one from the freelist, or a new one at the end.
    func allocatePage() -> PageID {
        if let id = pool.popLast() { return id }
        var emptied: [PageID] = []
        let taken = freelist.take(reusableUpTo: reusableUpTo, emptiedChunks: &emptied)
        // An emptied chunk page was part of the committed freelist: free from this commit on.
        freedCommitted.append(contentsOf: emptied)
        if let taken { return taken }
        // A count lowered by `cutFreePagesAtTheEnd` leaves enough pooled pages under it that a
        // commit never grows back onto the pages it cut (some the durable state still names).
        defer { pageCount += 1 }
        return pageCount
    }

    /// Gives up a page this transaction no longer references.
    func freePage(_ id: PageID) {
        if changedNodes.removeValue(forKey: id) != nil || changedRaw.removeValue(forKey: id) != nil
            || writtenRaw.remove(id) != nil || writtenNodes.remove(id) != nil
        {
            pool.append(id)
        } else {
            freedCommitted.append(id)
        }
    }

    // MARK: - Commit and abort

    /// Makes the transaction's changes durable and visible to later transactions.
    ///
    /// `publishing`, when given, is called with the step that makes the new state visible, so a
    /// caller can make that step atomic with its own bookkeeping (the checkpointer drops the
    /// memtable layer it just wrote in the same instant).
    public func commit(publishing: ((() -> Void) -> Void)? = nil) throws {
        try checkOpen()
        do {
            try engine.checkWritable()
            try writeBackCatalog()
            let (chunks, newFreelist) = try finishFreelist()
            try writePages(chunks: chunks)
            try engine.file.sync()
            let meta = MetaPage(
                generation: generation, pageCount: pageCount, catalog: catalog,
                freelistHead: newFreelist.head, freelistTail: newFreelist.tail,
                freelistTailConsumed: UInt32(newFreelist.tailConsumed), freeCount: newFreelist.freeCount,
                logSequence: logSequence, identity: engine.identity)
            try meta.encode(pageSize: pageSize).withUnsafeBytes {
                try engine.file.write($0, at: meta.slot * UInt64(pageSize))
            }
            try engine.file.sync()
            finished = true
            let committed = CommittedState(meta: meta, freelist: newFreelist)
            let publish = { [engine] in engine.publish(committed) }
            if let publishing { publishing(publish) } else { publish() }
            engine.writerFinished(committed: nil)
        } catch let error as EngineError {
            latchIfWriteFailed(error)
            abort()
            throw error
        }
    }

    /// A write or sync may have half happened: refuse writes until a reopen re-reads the durable
    /// state. (Growth failures are latched too: the file is no longer as we know it.)
    private func latchIfWriteFailed(_ error: EngineError) {
        switch error {
        case .io, .diskFull, .simulatedCrash: engine.latch(error)
        default: break
        }
    }

    // MARK: - Pages written before the commit

    /// Writes the overflow pages this transaction holds once there are `heldOverflowPages` of them,
    /// so a transaction storing many large values (a checkpoint) holds a bounded number of pages.
    func writeOverflowIfMany() throws {
        guard changedRaw.count >= max(1, engine.options.heldOverflowPages) else { return }
        do {
            try growFile()
            let ids = changedRaw.keys.sorted()
            // Forget the old bytes' check before they change (see VerifiedPages).
            for id in ids {
                engine.verifiedPages.remove(id)
                engine.shapedPages.remove(id)
            }
            try writeRuns(ids) { changedRaw.removeValue(forKey: $0) ?? [] }
            writtenRaw.formUnion(ids)
        } catch let error as EngineError {
            latchIfWriteFailed(error)
            throw error
        }
    }

    /// Writes the changed leaves once `heldNodes` more nodes are held than the last batch left,
    /// keeping the branches (few, and on every path). Called between changes, when no node is taken
    /// out of `changedNodes`.
    func writeLeavesIfMany() throws {
        guard changedNodes.count - nodesKeptByLastWrite >= max(1, engine.options.heldNodes) else { return }
        var ids: [PageID] = []
        for (id, node) in changedNodes { if case .leaf = node { ids.append(id) } }
        ids.sort()
        do {
            try growFile()
            for id in ids {
                engine.verifiedPages.remove(id)
                engine.shapedPages.remove(id)
            }
            try writeRuns(ids) { id in changedNodes.removeValue(forKey: id)?.encode(pageSize: pageSize, number: id) ?? [] }
            writtenNodes.formUnion(ids)
            nodesKeptByLastWrite = changedNodes.count
        } catch let error as EngineError {
            latchIfWriteFailed(error)
            throw error
        }
    }

    /// Reads a leaf this transaction wrote early back into `changedNodes`, where it is owned and
    /// changed like any other; nothing for any other page.
    func bringBackWrittenNode(_ id: PageID) throws {
        guard writtenNodes.contains(id) else { return }
        let (offset, overflow) = id.multipliedReportingOverflow(by: UInt64(pageSize))
        guard !overflow else { throw EngineError.corruptPage(page: id, reason: "page offset overflows") }
        let node = try engine.file.withBytes(at: offset, count: pageSize) { page -> Node in
            if let problem = PageLayout.problem(in: page, number: id, expected: .leaf) {
                throw EngineError.corruptPage(page: id, reason: problem)
            }
            return .leaf(try LeafView(page, id: id).decode())
        }
        writtenNodes.remove(id)
        changedNodes[id] = node
    }

    /// An overflow page this transaction wrote early, read back and checked. Nil for any other page.
    private func writtenRawPage(_ id: PageID) throws -> Bytes? {
        guard writtenRaw.contains(id) else { return nil }
        let (offset, overflow) = id.multipliedReportingOverflow(by: UInt64(pageSize))
        guard !overflow else { throw EngineError.corruptPage(page: id, reason: "page offset overflows") }
        return try engine.file.withBytes(at: offset, count: pageSize) { page in
            if let problem = PageLayout.problem(in: page, number: id, expected: .overflow) {
                throw EngineError.corruptPage(page: id, reason: problem)
            }
            return Bytes(page)
        }
    }

    /// Drops every change. Idempotent.
    public func abort() {
        guard !finished else { return }
        finished = true
        changedNodes.removeAll()
        changedRaw.removeAll()
        writtenRaw.removeAll()
        writtenNodes.removeAll()
        engine.writerFinished(committed: nil)
    }

    /// Records every changed tree's descriptor in the catalog.
    private func writeBackCatalog() throws {
        for name in droppedTrees.sorted() where trees[name] == nil {
            _ = try delete(from: &catalog, key: Array(name.utf8))
        }
        for name in changedTrees.sorted() {
            guard let descriptor = trees[name] else { continue }
            try put(into: &catalog, key: Array(name.utf8), value: descriptor.encode())
        }
    }

    /// Writes this commit's freed pages into new freelist chunks. Returns the chunks' page images.
    private func finishFreelist() throws -> ([PageID: Bytes], Freelist) {
        let capacity = Freelist.capacity(pageSize: pageSize)
        var chunkPages: [PageID] = []
        // Allocating a chunk page can change what there is to record (it may take a pooled page,
        // or empty an old chunk), so allocate until the chunks can hold it all.
        while true {
            let pending = freedCommitted.count + pool.count
            let needed = (pending + capacity - 1) / capacity
            if chunkPages.count >= needed { break }
            chunkPages.append(allocatePage())
        }
        var toRecord = freedCommitted + pool
        toRecord.sort()
        var list = freelist
        var previous = list.head
        var images: [PageID: Bytes] = [:]
        for (i, page) in chunkPages.enumerated() {
            let start = toRecord.count * i / chunkPages.count
            let end = toRecord.count * (i + 1) / chunkPages.count
            let chunk = FreelistChunk(page: page, generation: generation, ids: Array(toRecord[start..<end]))
            images[page] = Freelist.encode(chunk, next: previous, pageSize: pageSize)
            if list.chunks.isEmpty { list.tailConsumed = 0 }
            list.chunks.append(chunk)
            previous = page
        }
        return (images, list)
    }

    /// Grows the file if needed, then writes the freelist chunks and every changed page, coalescing
    /// runs of adjacent pages. Each node is encoded only when its run is written and dropped then:
    /// a checkpoint changes thousands of pages, and holding every image beside every decoded node
    /// doubled its memory. (A commit that fails after this aborts, so nothing needs them again.)
    private func writePages(chunks: [PageID: Bytes]) throws {
        try growFile()
        var ids = Array(chunks.keys) + Array(changedNodes.keys) + Array(changedRaw.keys)
        ids.sort()
        // Forget the old bytes' check before they change (see VerifiedPages).
        for id in ids {
            engine.verifiedPages.remove(id)
            engine.shapedPages.remove(id)
        }
        try writeRuns(ids) { id in
            if let node = changedNodes.removeValue(forKey: id) { return node.encode(pageSize: pageSize, number: id) }
            return changedRaw.removeValue(forKey: id) ?? chunks[id] ?? []
        }
    }

    /// Grows the file to hold every page this transaction may write.
    private func growFile() throws {
        let size = try engine.file.size()
        let target = engine.growthTarget(forPages: pageCount, currentSize: size)
        if target > size { try engine.file.grow(to: target) }
    }

    /// Writes the pages `ids` (sorted), coalescing runs of adjacent pages into one write each.
    private func writeRuns(_ ids: [PageID], image: (PageID) -> Bytes) throws {
        var index = 0
        var buffer = Bytes()
        while index < ids.count {
            let first = ids[index]
            var end = index + 1
            while end < ids.count, ids[end] == ids[end - 1] + 1, end - index < 256 { end += 1 }
            if end - index == 1 {
                try image(first).withUnsafeBytes { try engine.file.write($0, at: first * UInt64(pageSize)) }
            } else {
                buffer.removeAll(keepingCapacity: true)
                for i in index..<end { buffer.append(contentsOf: image(ids[i])) }
                try buffer.withUnsafeBytes { try engine.file.write($0, at: first * UInt64(pageSize)) }
            }
            index = end
        }
    }
}

extension WriteTransaction: NodeSource {
    var pageReader: PageReader { reader }
    func checkSourceUsable() throws { try checkOpen() }
    var maximumDepth: Int { engine.options.maximumDepth }
    func changedNode(_ id: PageID) throws -> Node? {
        try bringBackWrittenNode(id)
        return changedNodes[id]
    }
    func changedRawPage(_ id: PageID) throws -> Bytes? {
        if let bytes = changedRaw[id] { return bytes }
        return try writtenRawPage(id)
    }
}
