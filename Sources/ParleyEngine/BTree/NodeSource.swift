// Where tree algorithms get their nodes: the committed pages of a snapshot (read transactions), or
// those overlaid by the pages a write transaction has changed. Reads of committed pages go in place
// through the mapping; only a node about to change is decoded into arrays.

/// One step of a lookup: go down to a child, or stop.
private enum LookupStep {
    case descend(PageID)
    case found(LeafValue)
    case missing
}

/// Where one lookup has got to: the page it stands on and how deep that is, or what it found.
private struct LookupWalk {
    let root: PageID
    var id: PageID
    var depth = 0
    var done = false
    var value: LeafValue?

    init(at root: PageID) {
        self.root = root
        self.id = root
    }
}

/// A source of tree nodes and overflow pages.
protocol NodeSource {
    var pageReader: PageReader { get }
    var maximumDepth: Int { get }
    /// A node this transaction changed, if `id` is one.
    func changedNode(_ id: PageID) throws -> Node?
    /// An overflow page this transaction wrote, if `id` is one.
    func changedRawPage(_ id: PageID) throws -> Bytes?
    /// Throws once the transaction has ended: its pages may be reused from then on.
    func checkSourceUsable() throws
}

extension NodeSource {
    /// Pages of an overflow chain asked for at once at most (a length read from disk is not
    /// trusted before the chain is walked).
    static var prefetchLimit: Int { 256 }

    /// The node at `id`, decoded.
    func node(_ id: PageID) throws -> Node {
        if let node = try changedNode(id) { return node }
        return try pageReader.withPage(id, expecting: nil) { page in
            switch PageLayout.type(of: page) {
            case .leaf?: return .leaf(try pageReader.leafView(page, id: id).decode())
            case .branch?: return .branch(try pageReader.branchView(page, id: id).decode())
            default: throw EngineError.corruptPage(page: id, reason: "expected a tree page")
            }
        }
    }

    func withRawPage(_ id: PageID, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        if let bytes = try changedRawPage(id) {
            try bytes.withUnsafeBytes { try body($0) }
        } else {
            try pageReader.withPage(id, expecting: nil, body)
        }
    }

    func readValue(_ value: LeafValue) throws -> Bytes {
        switch value {
        case .inline(let bytes): return bytes
        case .overflow(let first, let length):
            // A chain whose second page follows its first most likely goes on in a row (pages one
            // commit took together): the rest is asked for at once, unless this process has read
            // it before. Links and lengths are still checked page by page (`Overflow.walk`).
            let pages = min(Overflow.pagesNeeded(length: Int(length), pageSize: pageReader.pageSize), Self.prefetchLimit)
            var previous: PageID?
            return try Overflow.read(first: first, length: length, pageSize: pageReader.pageSize) { id, body in
                if previous == first, id == first &+ 1, pages > 2, !pageReader.hasVerified(id) {
                    pageReader.prefetch(id, count: pages - 1)
                }
                previous = id
                try withRawPage(id, body)
            }
        }
    }

    /// Looks `key` up in the tree rooted at `root`. Committed pages are searched in place.
    func lookup(_ key: Bytes, root: PageID) throws -> Bytes? {
        guard root != 0 else { return nil }
        // The pages visited, to tell a cycle from a deep tree; on the stack, since every get
        // comes through here.
        // One copy of the reader for the whole descent (it holds references a copy retains).
        let reader = pageReader
        return try withUnsafeTemporaryAllocation(of: PageID.self, capacity: maximumDepth) { visited in
            var walk = LookupWalk(at: root)
            return try finish(key, &walk, visited: visited, reader: reader)
        }
    }

    /// Looks each of `keys` up in the tree rooted at `root`, as `lookup` does one at a time, but
    /// in two passes: every key goes down the branches first and the CPU is asked to fetch the
    /// leaves it lands on, then each leaf is searched. Leaves of a large tree miss every cache,
    /// and one lookup after another waits for them one at a time; this waits for them together.
    /// Values come in the order of `keys`.
    func lookupMany(_ keys: [Bytes], root: PageID) throws -> [Bytes?] {
        guard root != 0 else { return [Bytes?](repeating: nil, count: keys.count) }
        guard keys.count > Self.lookupBatchSize else { return try lookupBatch(keys[...], root: root) }
        var results: [Bytes?] = []
        results.reserveCapacity(keys.count)
        for start in stride(from: 0, to: keys.count, by: Self.lookupBatchSize) {
            results += try lookupBatch(keys[start..<min(start + Self.lookupBatchSize, keys.count)], root: root)
        }
        return results
    }

    /// Keys `lookupMany` walks side by side: enough for an inbox page, and a bound on the paths
    /// it keeps (one per key) and on how much it asks the CPU to fetch at once.
    static var lookupBatchSize: Int { 64 }

    private func lookupBatch(_ keys: ArraySlice<Bytes>, root: PageID) throws -> [Bytes?] {
        guard let firstKey = keys.first else { return [] }
        guard keys.count > 1 else { return [try lookup(firstKey, root: root)] }
        let reader = pageReader
        let depth = maximumDepth
        // Built by appending: `Array(repeating:count:)` of these types was a tenth of a batch.
        var results: [Bytes?] = []
        results.reserveCapacity(keys.count)
        var walks: [LookupWalk] = []
        walks.reserveCapacity(keys.count)
        for _ in keys { walks.append(LookupWalk(at: root)) }
        let base = keys.startIndex
        return try withUnsafeTemporaryAllocation(of: PageID.self, capacity: keys.count * depth) { visited in
            // The first key goes all the way down: the depth of its leaf is where the others
            // stop (every leaf of a tree lies at one depth; a damaged tree is caught by the
            // second pass, which walks on from wherever the first stopped). Without a mapping
            // `warm` does nothing, but the passes are the same.
            results.append(try finish(firstKey, &walks[0], visited: slice(visited, 0, depth), reader: reader))
            let leafDepth = walks[0].depth
            for i in 1..<keys.count {
                if try advance(keys[base + i], &walks[i], visited: slice(visited, i, depth), steps: leafDepth - 1, reader: reader) {
                    reader.warm(walks[i].id)
                }
            }
            for i in 1..<keys.count {
                if walks[i].done {
                    results.append(try walks[i].value.map { try readValue($0) })
                } else {
                    results.append(try finish(keys[base + i], &walks[i], visited: slice(visited, i, depth), reader: reader))
                }
            }
            return results
        }
    }

    private func slice(_ buffer: UnsafeMutableBufferPointer<PageID>, _ index: Int, _ depth: Int) -> UnsafeMutableBufferPointer<PageID> {
        UnsafeMutableBufferPointer(rebasing: buffer[(index * depth)..<((index + 1) * depth)])
    }

    /// Walks `walk` on until it ends, and reads the value it found.
    private func finish(
        _ key: Bytes, _ walk: inout LookupWalk, visited: UnsafeMutableBufferPointer<PageID>, reader: PageReader
    ) throws -> Bytes? {
        if try advance(key, &walk, visited: visited, steps: maximumDepth, reader: reader) {
            throw EngineError.corruptPage(page: walk.root, reason: "tree deeper than \(maximumDepth) levels")
        }
        return try walk.value.map { try readValue($0) }
    }

    /// Takes up to `steps` steps of `walk` toward `key`, recording each page in `visited`. True
    /// when the steps ran out with the walk still going (it then stands at `walk.id`).
    private func advance(
        _ key: Bytes, _ walk: inout LookupWalk, visited: UnsafeMutableBufferPointer<PageID>, steps: Int, reader: PageReader
    ) throws -> Bool {
        var taken = 0
        while !walk.done, taken < steps {
            guard walk.depth < visited.count else { return true }
            let id = walk.id
            guard !visited[0..<walk.depth].contains(id) else {
                throw EngineError.corruptPage(page: id, reason: "tree path has a cycle")
            }
            visited[walk.depth] = id
            walk.depth += 1
            taken += 1
            switch try lookupStep(key, in: id, reader: reader) {
            case .descend(let child): walk.id = child
            case .found(let value):
                walk.value = value
                walk.done = true
            case .missing: walk.done = true
            }
        }
        return !walk.done
    }

    private func lookupStep(_ key: Bytes, in id: PageID, reader: PageReader) throws -> LookupStep {
        if let node = try changedNode(id) {
            switch node {
            case .branch(let branch): return .descend(branch.children[branch.childIndex(for: key)])
            case .leaf(let leaf):
                let (index, found) = leaf.search(key)
                return found ? .found(leaf.values[index]) : .missing
            }
        }
        return try reader.withPage(id, expecting: nil) { page -> LookupStep in
            switch PageLayout.type(of: page) {
            case .branch?:
                let branch = try reader.branchView(page, id: id)
                return .descend(branch.child(branch.childIndex(for: key)))
            case .leaf?:
                let leaf = try reader.leafView(page, id: id)
                let (index, found) = leaf.search(key)
                guard found else { return .missing }
                switch leaf.value(index) {
                case .inline(let bytes): return .found(.inline(Bytes(bytes)))
                case .overflow(let first, let length): return .found(.overflow(first: first, length: length))
                }
            default: throw EngineError.corruptPage(page: id, reason: "expected a tree page")
            }
        }
    }

    /// The names of every tree in the catalog rooted at `catalogRoot`, in byte order.
    func treeNames(catalogRoot: PageID) throws -> [String] {
        let cursor = TreeCursor(source: self, root: catalogRoot)
        var names: [String] = []
        var entry = try cursor.first()
        while let (key, _) = entry {
            names.append(String(decoding: key, as: UTF8.self))
            entry = try cursor.next()
        }
        return names
    }

    /// The descriptor of the tree named `name` in the catalog rooted at `catalogRoot`.
    func treeDescriptor(named name: String, catalogRoot: PageID) throws -> TreeDescriptor? {
        guard let bytes = try lookup(Array(name.utf8), root: catalogRoot) else { return nil }
        guard let descriptor = TreeDescriptor.decode(bytes) else {
            throw EngineError.corruptPage(page: catalogRoot, reason: "catalog entry for \"\(name)\" is malformed")
        }
        return descriptor
    }
}
