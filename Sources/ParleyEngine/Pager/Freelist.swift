// The freelist: pages that no committed state reaches, waiting to be reused.
//
// On disk it is a chain of chunk pages, newest first (the meta page names the newest, the head, and
// the oldest still in use, the tail, with how many of the tail's entries are already handed out).
// Each chunk lists the pages one commit freed and that commit's generation. A commit appends new
// chunks at the head and hands pages out from the tail, so it writes only the chunks it adds — the
// list is never rewritten whole — and it never needs adjacent free pages.
//
// Reuse rule (the invariant that makes copy-on-write safe): a page freed by commit F is reachable
// from every snapshot older than F. It is handed out only when no live snapshot is older than F
// (`reusableUpTo`), and it is never reachable from the durable meta, which was written after F.

/// One chunk of the freelist.
struct FreelistChunk: Equatable, Sendable {
    /// The chunk's own page.
    var page: PageID
    /// The commit that freed the pages it lists.
    var generation: UInt64
    var ids: [PageID]
}

/// The freelist as a transaction holds it (a value: an aborted transaction drops its copy).
struct Freelist: Equatable, Sendable {
    static let nextOffset = 16
    static let generationOffset = 24
    static let countOffset = 32
    static let idsOffset = 40

    /// Oldest first: entries are handed out from the front, chunks appended at the back.
    var chunks: [FreelistChunk] = []
    /// Entries of `chunks[0]` already handed out.
    var tailConsumed = 0

    static func capacity(pageSize: Int) -> Int { (pageSize - idsOffset) / 8 }

    var freeCount: UInt64 {
        UInt64(chunks.reduce(0) { $0 + $1.ids.count } - tailConsumed)
    }

    var head: PageID { chunks.last?.page ?? 0 }
    var tail: PageID { chunks.first?.page ?? 0 }

    /// Hands out one free page freed at or before `limit`. A chunk emptied on the way is dropped,
    /// and its own page is appended to `emptiedChunks` (it is free from the next commit on).
    mutating func take(reusableUpTo limit: UInt64, emptiedChunks: inout [PageID]) -> PageID? {
        while let oldest = chunks.first, oldest.generation <= limit {
            if tailConsumed < oldest.ids.count {
                let id = oldest.ids[tailConsumed]
                tailConsumed += 1
                return id
            }
            emptiedChunks.append(oldest.page)
            chunks.removeFirst()
            tailConsumed = 0
        }
        return nil
    }

    /// Every free page, for the integrity walk.
    var allFreePages: [PageID] {
        var out: [PageID] = []
        for (i, chunk) in chunks.enumerated() {
            out.append(contentsOf: i == 0 ? Array(chunk.ids.dropFirst(tailConsumed)) : chunk.ids)
        }
        return out
    }

    static func encode(_ chunk: FreelistChunk, next: PageID, pageSize: Int) -> Bytes {
        var page = Bytes(repeating: 0, count: pageSize)
        page.withUnsafeMutableBytes { p in
            p.storeLE(next, at: nextOffset)
            p.storeLE(chunk.generation, at: generationOffset)
            p.storeLE(UInt32(chunk.ids.count), at: countOffset)
            for (i, id) in chunk.ids.enumerated() { p.storeLE(id, at: idsOffset + i * 8) }
        }
        PageLayout.seal(&page, type: .freelist, number: chunk.page)
        return page
    }

    /// Reads the chain named by `meta`, checking every number against the file's bounds.
    static func load(meta: MetaPage, reader: PageReader) throws -> Freelist {
        var list = Freelist()
        guard meta.freelistHead != 0 else {
            guard meta.freelistTail == 0, meta.freeCount == 0 else {
                throw EngineError.corruptPage(page: meta.slot, reason: "meta has a freelist tail or count without a head")
            }
            return list
        }
        var newestFirst: [FreelistChunk] = []
        var seen = Set<PageID>()
        var page = meta.freelistHead
        let capacity = capacity(pageSize: reader.pageSize)
        while true {
            guard seen.insert(page).inserted else {
                throw EngineError.corruptPage(page: page, reason: "freelist chain has a cycle")
            }
            guard UInt64(seen.count) <= meta.pageCount else {
                throw EngineError.corruptPage(page: page, reason: "freelist chain longer than the file")
            }
            let (chunk, next) = try reader.withPage(page, expecting: .freelist) { p -> (FreelistChunk, PageID) in
                let count = Int(p.loadLE(UInt32.self, at: countOffset))
                guard count <= capacity else {
                    throw EngineError.corruptPage(page: page, reason: "freelist chunk count \(count) over capacity \(capacity)")
                }
                var ids: [PageID] = []
                ids.reserveCapacity(count)
                for i in 0..<count {
                    let id = p.loadLE(UInt64.self, at: idsOffset + i * 8)
                    guard id >= PageLayout.firstDataPage, id < meta.pageCount else {
                        throw EngineError.corruptPage(page: page, reason: "freelist entry \(id) outside the file")
                    }
                    ids.append(id)
                }
                let chunk = FreelistChunk(page: page, generation: p.loadLE(UInt64.self, at: generationOffset), ids: ids)
                return (chunk, p.loadLE(UInt64.self, at: nextOffset))
            }
            newestFirst.append(chunk)
            if page == meta.freelistTail { break }
            guard next != 0 else {
                throw EngineError.corruptPage(page: page, reason: "freelist chain ends before its tail \(meta.freelistTail)")
            }
            page = next
        }
        list.chunks = newestFirst.reversed()
        // A page listed twice, or a chunk page listed as free, would be handed out twice.
        var listed = seen
        for (i, chunk) in list.chunks.enumerated() {
            for id in (i == 0 ? Array(chunk.ids.dropFirst(min(Int(meta.freelistTailConsumed), chunk.ids.count))) : chunk.ids) {
                guard listed.insert(id).inserted else {
                    throw EngineError.corruptPage(page: chunk.page, reason: "freelist lists page \(id) twice or as a chunk")
                }
            }
        }
        list.tailConsumed = Int(meta.freelistTailConsumed)
        guard let tail = list.chunks.first, list.tailConsumed <= tail.ids.count else {
            throw EngineError.corruptPage(page: meta.slot, reason: "freelist tail consumed count out of range")
        }
        guard list.freeCount == meta.freeCount else {
            throw EngineError.corruptPage(page: meta.slot, reason: "freelist holds \(list.freeCount) pages, meta says \(meta.freeCount)")
        }
        return list
    }
}
