// Where tree algorithms get their nodes: the committed pages of a snapshot (read transactions), or
// those overlaid by the pages a write transaction has changed. Reads of committed pages go in place
// through the mapping; only a node about to change is decoded into arrays.

/// One step of a lookup: go down to a child, or stop.
private enum LookupStep {
    case descend(PageID)
    case found(LeafValue)
    case missing
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
                if previous == first, id == first &+ 1, pages > 2, !(pageReader.verified?.contains(id) ?? false) {
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
            var id = root
            for depth in 0..<maximumDepth {
                guard !visited[0..<depth].contains(id) else {
                    throw EngineError.corruptPage(page: id, reason: "tree path has a cycle")
                }
                visited[depth] = id
                switch try lookupStep(key, in: id, reader: reader) {
                case .descend(let child): id = child
                case .found(let value): return try readValue(value)
                case .missing: return nil
                }
            }
            throw EngineError.corruptPage(page: root, reason: "tree deeper than \(maximumDepth) levels")
        }
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
