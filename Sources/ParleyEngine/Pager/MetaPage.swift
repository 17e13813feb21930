// The two meta pages (1 and 2). Commit N writes slot 1 + N % 2, so the slot it overwrites holds
// commit N - 2 while commit N - 1 stays intact: a torn meta write leaves the previous commit
// readable. Open picks the valid meta with the highest generation.

/// A tree's root and size, as the catalog and the meta page record them.
public struct TreeDescriptor: Equatable, Sendable {
    /// Root page, or 0 for an empty tree.
    public var root: PageID
    /// Number of entries.
    public var count: UInt64

    public static let empty = TreeDescriptor(root: 0, count: 0)

    static let encodedSize = 16

    func encode() -> Bytes {
        var out = Bytes()
        out.reserveCapacity(Self.encodedSize)
        out.appendLE(root)
        out.appendLE(count)
        return out
    }

    static func decode(_ bytes: Bytes) -> TreeDescriptor? {
        guard bytes.count == encodedSize else { return nil }
        return bytes.withUnsafeBytes { p in
            TreeDescriptor(root: p.loadLE(UInt64.self, at: 0), count: p.loadLE(UInt64.self, at: 8))
        }
    }
}

/// The contents of a meta page: everything needed to find the committed state.
struct MetaPage: Equatable, Sendable {
    static let generationOffset = 16
    static let pageCountOffset = 24
    static let catalogRootOffset = 32
    static let catalogCountOffset = 40
    static let freelistHeadOffset = 48
    static let freelistTailOffset = 56
    static let freelistTailConsumedOffset = 64
    static let freeCountOffset = 72
    static let logSequenceOffset = 80
    static let identityOffset = 88
    static let endOffset = 104

    /// Commit counter; the database's first meta has generation 1.
    var generation: UInt64
    /// Pages 0..<pageCount are in use or free; pages past it were never handed out.
    var pageCount: UInt64
    /// The catalog tree: names of trees to their descriptors.
    var catalog: TreeDescriptor
    /// Newest freelist chunk page (0 when the freelist is empty).
    var freelistHead: PageID
    /// Oldest freelist chunk page still holding unconsumed entries (0 when empty).
    var freelistTail: PageID
    /// Entries of the tail chunk already handed out.
    var freelistTailConsumed: UInt32
    /// Free pages recorded in the freelist.
    var freeCount: UInt64
    /// Last log sequence number whose effects these trees include (used by the write-ahead log).
    var logSequence: UInt64
    /// The database identity from the file header.
    var identity: [UInt8]

    /// The meta slot this generation is written to.
    var slot: PageID { generation % 2 == 1 ? PageLayout.metaPages.0 : PageLayout.metaPages.1 }

    func encode(pageSize: Int) -> Bytes {
        var page = Bytes(repeating: 0, count: pageSize)
        page.withUnsafeMutableBytes { p in
            p.storeLE(generation, at: Self.generationOffset)
            p.storeLE(pageCount, at: Self.pageCountOffset)
            p.storeLE(catalog.root, at: Self.catalogRootOffset)
            p.storeLE(catalog.count, at: Self.catalogCountOffset)
            p.storeLE(freelistHead, at: Self.freelistHeadOffset)
            p.storeLE(freelistTail, at: Self.freelistTailOffset)
            p.storeLE(freelistTailConsumed, at: Self.freelistTailConsumedOffset)
            p.storeLE(freeCount, at: Self.freeCountOffset)
            p.storeLE(logSequence, at: Self.logSequenceOffset)
            for (i, b) in identity.prefix(16).enumerated() { p[Self.identityOffset + i] = b }
        }
        PageLayout.seal(&page, type: .meta, number: slot)
        return page
    }

    /// Decodes a meta page, or throws why it is not a valid one. (Not a `Result`: its type would
    /// be built at run time, with a search of every loaded image for `EngineError: Error`, in
    /// every process's first open.)
    static func decode(_ page: UnsafeRawBufferPointer, number: PageID) throws(EngineError) -> MetaPage {
        if let problem = PageLayout.problem(in: page, number: number, expected: .meta) {
            throw .corruptPage(page: number, reason: "meta: " + problem)
        }
        let meta = MetaPage(
            generation: page.loadLE(UInt64.self, at: generationOffset),
            pageCount: page.loadLE(UInt64.self, at: pageCountOffset),
            catalog: TreeDescriptor(
                root: page.loadLE(UInt64.self, at: catalogRootOffset),
                count: page.loadLE(UInt64.self, at: catalogCountOffset)),
            freelistHead: page.loadLE(UInt64.self, at: freelistHeadOffset),
            freelistTail: page.loadLE(UInt64.self, at: freelistTailOffset),
            freelistTailConsumed: page.loadLE(UInt32.self, at: freelistTailConsumedOffset),
            freeCount: page.loadLE(UInt64.self, at: freeCountOffset),
            logSequence: page.loadLE(UInt64.self, at: logSequenceOffset),
            identity: Array(page[identityOffset..<identityOffset + 16]))
        // Far below where `generation + 1` could overflow; no database commits 2^62 times.
        guard meta.generation >= 1, meta.generation < 1 << 62 else {
            throw .corruptPage(page: number, reason: "meta generation \(meta.generation) is implausible")
        }
        guard meta.slot == number else {
            throw .corruptPage(page: number, reason: "meta generation \(meta.generation) in the wrong slot")
        }
        guard meta.pageCount >= PageLayout.firstDataPage else {
            throw .corruptPage(page: number, reason: "meta page count \(meta.pageCount) too small")
        }
        return meta
    }
}
