// A read transaction: a snapshot of one committed state. Later commits do not change what it sees,
// because the pages it can reach are neither overwritten (copy-on-write) nor reused while it is
// registered with the engine (see Freelist).

import Synchronization

/// A consistent, read-only view of the database as of one commit.
///
/// Close it (or let `StorageEngine.read` do so) when done: while it is open, pages it can reach
/// are not reused, so a forgotten transaction makes the file grow.
public final class ReadTransaction: @unchecked Sendable {
    let engine: StorageEngine
    let meta: MetaPage
    let reader: PageReader
    /// Set once by `close`. An atomic, not a lock: every page a query visits checks it.
    private let closed = Atomic<Bool>(false)
    private let descriptors: DescriptorCache

    init(
        engine: StorageEngine, meta: MetaPage, descriptors: DescriptorCache, checkingEveryPage: Bool = false,
        readingInPlace: Bool = true
    ) {
        self.engine = engine
        self.meta = meta
        self.descriptors = descriptors
        self.reader = PageReader(
            file: engine.file, pageSize: engine.pageSize, pageCount: meta.pageCount,
            verified: checkingEveryPage ? nil : engine.verifiedPages, shaped: engine.shapedPages, mapOnce: readingInPlace)
    }

    deinit { close() }

    /// The generation of the commit this transaction reads.
    public var generation: UInt64 { meta.generation }

    /// The log sequence number the snapshot's trees include.
    public var logSequence: UInt64 { meta.logSequence }

    /// Ends the transaction. Idempotent.
    public func close() {
        let wasOpen = !closed.exchange(true, ordering: .acquiringAndReleasing)
        if wasOpen { engine.readerFinished(generation: meta.generation) }
    }

    /// True while the transaction may be read: not closed, and its engine not closed.
    var isUsable: Bool { !closed.load(ordering: .acquiring) && !engine.isClosed }

    func checkUsable() throws {
        guard !closed.load(ordering: .acquiring) else { throw EngineError.invalidArgument("the read transaction has ended") }
        guard !engine.isClosed else { throw EngineError.closed }
    }

    private func cachedDescriptor(_ tree: String) throws -> TreeDescriptor? {
        try checkUsable()
        return try descriptors.descriptor(tree) { try treeDescriptor(named: tree, catalogRoot: meta.catalog.root) }
    }

    private func descriptor(_ tree: String) throws -> TreeDescriptor {
        guard let descriptor = try cachedDescriptor(tree) else { throw EngineError.treeNotFound(name: tree) }
        return descriptor
    }

    /// True when a tree of this name exists.
    public func treeExists(_ tree: String) throws -> Bool {
        try cachedDescriptor(tree) != nil
    }

    /// The names of every tree, in byte order.
    public func treeNames() throws -> [String] {
        try checkUsable()
        return try treeNames(catalogRoot: meta.catalog.root)
    }

    /// The value stored under `key` in `tree`, or nil.
    public func get(_ tree: String, _ key: Bytes) throws -> Bytes? {
        try lookup(key, root: try descriptor(tree).root)
    }

    /// The values under `keys` in `tree`, in their order (nil where absent): what `get` answers
    /// for each, with the leaves fetched side by side (`lookupMany`).
    public func getMany(_ tree: String, _ keys: [Bytes]) throws -> [Bytes?] {
        try lookupMany(keys, root: try descriptor(tree).root)
    }

    /// Whether `tree` exists and, when it does, the value under `key`: one catalog lookup for both.
    func getIfTreeExists(_ tree: String, _ key: Bytes) throws -> (exists: Bool, value: Bytes?) {
        guard let descriptor = try cachedDescriptor(tree) else { return (false, nil) }
        return (true, try lookup(key, root: descriptor.root))
    }

    /// `getIfTreeExists` for several keys at once, their leaves fetched side by side.
    func getManyIfTreeExists(_ tree: String, _ keys: [Bytes]) throws -> (exists: Bool, values: [Bytes?]) {
        guard let descriptor = try cachedDescriptor(tree) else { return (false, [Bytes?](repeating: nil, count: keys.count)) }
        return (true, try lookupMany(keys, root: descriptor.root))
    }

    /// Number of entries in `tree`.
    public func count(_ tree: String) throws -> UInt64 { try descriptor(tree).count }

    /// A cursor over `tree`, positioned nowhere until a seek.
    public func cursor(_ tree: String) throws -> TreeCursor {
        TreeCursor(source: self, root: try descriptor(tree).root)
    }
}

extension ReadTransaction: NodeSource {
    var pageReader: PageReader { reader }
    func checkSourceUsable() throws { try checkUsable() }
    var maximumDepth: Int { engine.options.maximumDepth }
    func changedNode(_ id: PageID) -> Node? { nil }
    func changedRawPage(_ id: PageID) -> Bytes? { nil }
}
