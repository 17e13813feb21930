// Changing a tree inside a write transaction: insert, replace, delete, with splits and merges.
//
// Invariants kept here:
// - Every node fits its page: a node that grew past it is cut into balanced pieces
//   (`balancedCuts`); each cell is at most a quarter page, so a cut always exists. An insert past
//   the last key of the whole tree cuts off only the new key instead, leaving the left pages full,
//   so keys that only ever grow (ids, times) fill their pages rather than half of each.
// - A delete leaves every node on its path but the root at least a quarter full: a smaller one is
//   merged with a sibling and, if the two do not fit one page, cut again evenly. Inserts never
//   merge, so the small node a right-edge split starts fills up instead of being re-balanced.
// - All leaves are at the same depth; a root branch left with one child is replaced by it.
// - Separator i of a branch is <= every key of child i+1 and > every key of child i.

extension WriteTransaction {
    /// Cells smaller than this make a node underfull.
    private var minimumFill: Int { pageSize / 4 }

    func put(into tree: inout TreeDescriptor, key: Bytes, value: Bytes) throws {
        guard key.count <= maximumKeyLength else {
            throw EngineError.keyTooLarge(length: key.count, maximum: maximumKeyLength)
        }
        guard value.count <= Self.maximumValueLength else {
            throw EngineError.valueTooLarge(length: value.count, maximum: Self.maximumValueLength)
        }
        guard tree.root != 0 else {
            let stored = try storeValue(key: key, value: value)
            let id = allocatePage()
            changedNodes[id] = .leaf(LeafNode(keys: [key], values: [stored]))
            tree = TreeDescriptor(root: id, count: 1)
            return
        }
        let (path, leafID) = try descend(tree.root, toward: key)
        let (index, found) = try leafSearch(leafID, key)
        var appendsAtRightEdge = false
        if found, case .leaf(let current) = try node(leafID) {
            // Read the old value's chain before anything changes, so a corrupt one changes nothing.
            _ = try overflowPages(current.values[index])
        }
        var leaf = try takeLeaf(leafID)
        if found {
            try freeValue(leaf.values[index])
            leaf.values[index] = try storeValue(key: key, value: value)
        } else {
            leaf.keys.insert(key, at: index)
            leaf.values.insert(try storeValue(key: key, value: value), at: index)
            guard tree.count < UInt64.max else {
                throw EngineError.corruptPage(page: tree.root, reason: "tree entry count overflows")
            }
            tree.count += 1
            appendsAtRightEdge = try index == leaf.keys.count - 1 && isRightEdge(path)
        }
        try rebalance(path: path, changed: leafID, node: .leaf(leaf), tree: &tree, rightEdgeAppend: appendsAtRightEdge)
    }

    /// The leaf at `id`, to be changed and placed again. A leaf this transaction already changed is
    /// taken out of `changedNodes` (an empty placeholder keeps its page owned until `place` puts it
    /// back), so its arrays are not shared and an insert changes them in place instead of copying
    /// the whole node. A failure before `place` spoils the transaction anyway.
    private func takeLeaf(_ id: PageID) throws -> LeafNode {
        try bringBackWrittenNode(id)
        if case .leaf(let leaf)? = changedNodes[id] {
            changedNodes[id] = .leaf(LeafNode())
            return leaf
        }
        guard case .leaf(let leaf) = try node(id) else {
            throw EngineError.corruptPage(page: id, reason: "expected a leaf")
        }
        return leaf
    }

    private func leafSearch(_ id: PageID, _ key: Bytes) throws -> (index: Int, found: Bool) {
        guard case .leaf(let leaf) = try node(id) else {
            throw EngineError.corruptPage(page: id, reason: "expected a leaf")
        }
        return leaf.search(key)
    }

    /// True when every step of `path` took its branch's last child.
    private func isRightEdge(_ path: [(PageID, Int)]) throws -> Bool {
        for (id, index) in path {
            guard case .branch(let branch) = try node(id), index == branch.children.count - 1 else { return false }
        }
        return true
    }

    func delete(from tree: inout TreeDescriptor, key: Bytes) throws -> Bool {
        guard tree.root != 0 else { return false }
        let (path, leafID) = try descend(tree.root, toward: key)
        let (index, found) = try leafSearch(leafID, key)
        guard found else { return false }
        var leaf = try takeLeaf(leafID)
        try freeValue(leaf.values[index])
        leaf.keys.remove(at: index)
        leaf.values.remove(at: index)
        tree.count = tree.count > 0 ? tree.count - 1 : 0
        try rebalance(path: path, changed: leafID, node: .leaf(leaf), tree: &tree, mayMerge: true)
        return true
    }

    /// Frees every page of the subtree at `root` (overflow chains included). Every page is found
    /// first and freed only when the whole walk succeeded, so a corrupt page frees nothing.
    func freeSubtree(_ root: PageID) throws {
        guard root != 0 else { return }
        var stack: [(PageID, Int)] = [(root, 0)]
        var seen = Set<PageID>()
        var pages: [PageID] = []
        while let (id, depth) = stack.popLast() {
            guard depth < maximumDepth, seen.insert(id).inserted else {
                throw EngineError.corruptPage(page: id, reason: "tree has a cycle or is too deep")
            }
            switch try node(id) {
            case .branch(let branch): for child in branch.children { stack.append((child, depth + 1)) }
            case .leaf(let leaf): for value in leaf.values { pages.append(contentsOf: try overflowPages(value)) }
            }
            pages.append(id)
        }
        for id in pages { freePage(id) }
    }

    private func overflowPages(_ value: LeafValue) throws -> [PageID] {
        guard case .overflow(let first, let length) = value else { return [] }
        return try Overflow.walk(first: first, length: length, pageSize: pageSize) { id, body in
            try withRawPage(id, body)
        }
    }

    // MARK: - Steps

    /// The branches from the root to the leaf for `key` (with the child index taken at each), and
    /// the leaf's page.
    private func descend(_ root: PageID, toward key: Bytes) throws -> ([(PageID, Int)], PageID) {
        var path: [(PageID, Int)] = []
        var id = root
        while path.count < maximumDepth {
            switch try node(id) {
            case .leaf: return (path, id)
            case .branch(let branch):
                guard !path.contains(where: { $0.0 == id }) else {
                    throw EngineError.corruptPage(page: id, reason: "tree path has a cycle")
                }
                let index = branch.childIndex(for: key)
                path.append((id, index))
                id = branch.children[index]
            }
        }
        throw EngineError.corruptPage(page: root, reason: "tree deeper than \(maximumDepth) levels")
    }

    /// The leaf form of a value: inline when it fits, else written to a new overflow chain.
    private func storeValue(key: Bytes, value: Bytes) throws -> LeafValue {
        if TreeLayout.storesInline(keyLength: key.count, valueLength: value.count, pageSize: pageSize) {
            return .inline(value)
        }
        let ids = (0..<Overflow.pagesNeeded(length: value.count, pageSize: pageSize)).map { _ in allocatePage() }
        for (id, page) in zip(ids, Overflow.encode(value, ids: ids, pageSize: pageSize)) { changedRaw[id] = page }
        try writeOverflowIfMany()
        return .overflow(first: ids[0], length: UInt32(value.count))
    }

    private func freeValue(_ value: LeafValue) throws {
        for id in try overflowPages(value) { freePage(id) }
    }

    /// Writes `node` (the new contents of page `changed`, reached by `path`) and fixes every level
    /// above it: splitting what grew too large, merging what shrank too small, copying each
    /// ancestor whose child pointer changed.
    private func rebalance(
        path: [(PageID, Int)], changed: PageID, node: Node, tree: inout TreeDescriptor, rightEdgeAppend: Bool = false,
        mayMerge: Bool = false
    ) throws {
        var current = node
        var currentID = changed
        var level = path.count
        while level > 0 {
            let (parentID, childIndex) = path[level - 1]
            guard case .branch(var parent) = try self.node(parentID) else {
                throw EngineError.corruptPage(page: parentID, reason: "expected a branch")
            }
            if mayMerge, current.encodedSize < minimumFill, parent.children.count > 1 {
                // Merge with a sibling, then cut the pair again if it does not fit one page.
                let siblingIndex = childIndex > 0 ? childIndex - 1 : childIndex + 1
                let leftIndex = min(childIndex, siblingIndex)
                let siblingID = parent.children[siblingIndex]
                let sibling = try self.node(siblingID)
                let separator = parent.keys[leftIndex]
                let merged = try childIndex < siblingIndex
                    ? concatenate(current, sibling, separator: separator, page: currentID)
                    : concatenate(sibling, current, separator: separator, page: currentID)
                freePage(currentID)
                freePage(siblingID)
                let (pieces, separators) = try split(merged, page: currentID)
                let ids = pieces.map { piece -> PageID in
                    let id = allocatePage()
                    changedNodes[id] = piece
                    return id
                }
                parent.keys.remove(at: leftIndex)
                parent.children.replaceSubrange(leftIndex...leftIndex + 1, with: ids)
                parent.keys.insert(contentsOf: separators, at: leftIndex)
            } else {
                let (ids, separators) = try place(current, replacing: currentID, rightEdgeAppend: rightEdgeAppend)
                if ids.count == 1, ids[0] == currentID {
                    // Same page, already this transaction's: the ancestors already point to it.
                    return
                }
                parent.children.replaceSubrange(childIndex...childIndex, with: ids)
                parent.keys.insert(contentsOf: separators, at: childIndex)
            }
            current = .branch(parent)
            currentID = parentID
            level -= 1
        }
        // The root.
        switch current {
        case .leaf(let leaf) where leaf.keys.isEmpty:
            freePage(currentID)
            tree.root = 0
        case .branch(let branch) where branch.keys.isEmpty:
            freePage(currentID)
            tree.root = branch.children[0]
        default:
            var (ids, separators) = try place(current, replacing: currentID, rightEdgeAppend: rightEdgeAppend)
            // A root that split gets a new root above it (repeatedly, in the rare case that one
            // is too large too).
            while ids.count > 1 {
                let (rootIDs, rootSeparators) = try place(.branch(BranchNode(keys: separators, children: ids)), replacing: nil)
                ids = rootIDs
                separators = rootSeparators
            }
            tree.root = ids[0]
        }
    }

    /// Stores `node`, cut into pieces if it is too large, on writable pages: the first piece on
    /// `replacing` if this transaction already owns it, else on fresh pages (freeing `replacing`).
    private func place(_ node: Node, replacing old: PageID?, rightEdgeAppend: Bool = false) throws -> ([PageID], [Bytes]) {
        let (pieces, separators) = try split(node, page: old ?? 0, rightEdgeAppend: rightEdgeAppend)
        var ids: [PageID] = []
        for (i, piece) in pieces.enumerated() {
            let id: PageID
            if i == 0, let old, changedNodes[old] != nil || writtenNodes.contains(old) {
                id = old
                // In memory again: written with the commit (or the next batch of leaves).
                writtenNodes.remove(old)
            } else {
                if i == 0, let old { freePage(old) }
                id = allocatePage()
            }
            changedNodes[id] = piece
            ids.append(id)
        }
        return (ids, separators)
    }

    /// Cuts a node that is too large for a page into balanced pieces, with the separators between.
    /// Cells read from disk were checked against the quarter-page limit, so the pieces fit; if one
    /// does not anyway, that is reported as corruption rather than written past a page.
    private func split(_ node: Node, page: PageID, rightEdgeAppend: Bool = false) throws -> ([Node], [Bytes]) {
        let (pieces, separators) = (rightEdgeAppend ? cutOffLast(node) : nil) ?? cut(node)
        for piece in pieces where piece.encodedSize > pageSize {
            throw EngineError.corruptPage(page: page, reason: "a node cannot be cut into pieces that fit a page")
        }
        if case .branch = node, pieces.contains(where: { if case .branch(let b) = $0 { return b.keys.isEmpty } else { return false } }) {
            throw EngineError.corruptPage(page: page, reason: "a branch cannot be cut into pieces with keys")
        }
        return (pieces, separators)
    }

    /// For an append at the tree's right edge: everything but the last cell stays (it fitted
    /// before the append), the last cell starts a new node. Nil when that would not fit.
    private func cutOffLast(_ node: Node) -> ([Node], [Bytes])? {
        guard node.encodedSize > pageSize else { return nil }
        let pieces: [Node]
        let separator: Bytes
        switch node {
        case .leaf(let leaf):
            guard leaf.keys.count >= 2, let last = leaf.keys.last else { return nil }
            let n = leaf.keys.count
            pieces = [
                .leaf(LeafNode(keys: Array(leaf.keys[0..<(n - 1)]), values: Array(leaf.values[0..<(n - 1)]))),
                .leaf(LeafNode(keys: [last], values: [leaf.values[n - 1]])),
            ]
            separator = last
        case .branch(let branch):
            // The right piece needs one key of its own: the key before it moves up.
            let n = branch.keys.count
            guard n >= 3 else { return nil }
            pieces = [
                .branch(BranchNode(keys: Array(branch.keys[0..<(n - 2)]), children: Array(branch.children[0...(n - 2)]))),
                .branch(BranchNode(keys: [branch.keys[n - 1]], children: Array(branch.children[(n - 1)...]))),
            ]
            separator = branch.keys[n - 2]
        }
        guard pieces.allSatisfy({ $0.encodedSize <= pageSize }) else { return nil }
        return (pieces, [separator])
    }

    private func cut(_ node: Node) -> ([Node], [Bytes]) {
        guard node.encodedSize > pageSize else { return ([node], []) }
        switch node {
        case .leaf(let leaf):
            let sizes = leaf.keys.indices.map { leaf.cellSize($0) }
            let cuts = balancedCuts(sizes: sizes, fixed: TreeLayout.leafSlotsOffset, capacity: pageSize)
            var pieces: [Node] = []
            var separators: [Bytes] = []
            var start = 0
            for end in cuts + [leaf.keys.count] {
                pieces.append(.leaf(LeafNode(keys: Array(leaf.keys[start..<end]), values: Array(leaf.values[start..<end]))))
                if end < leaf.keys.count { separators.append(leaf.keys[end]) }
                start = end
            }
            return (pieces, separators)
        case .branch(let branch):
            // The key at each cut moves up; the pieces keep the keys between cuts.
            let sizes = branch.keys.map { BranchNode.cellSize(keyLength: $0.count) }
            // A cut at the last key would leave a piece with no keys: move it one to the left.
            let cuts = balancedCuts(sizes: sizes, fixed: TreeLayout.branchSlotsOffset, capacity: pageSize)
                .map { $0 == branch.keys.count - 1 ? $0 - 1 : $0 }
                .filter { $0 > 0 }
            var pieces: [Node] = []
            var separators: [Bytes] = []
            var start = 0
            for cut in cuts where cut > start {
                pieces.append(.branch(BranchNode(keys: Array(branch.keys[start..<cut]), children: Array(branch.children[start...cut]))))
                separators.append(branch.keys[cut])
                start = cut + 1
            }
            pieces.append(.branch(BranchNode(keys: Array(branch.keys[start...]), children: Array(branch.children[start...]))))
            return (pieces, separators)
        }
    }

    /// Joins two neighbouring nodes of one level, `left` before `right`.
    private func concatenate(_ left: Node, _ right: Node, separator: Bytes, page: PageID) throws -> Node {
        switch (left, right) {
        case (.leaf(let a), .leaf(let b)):
            return .leaf(LeafNode(keys: a.keys + b.keys, values: a.values + b.values))
        case (.branch(let a), .branch(let b)):
            return .branch(BranchNode(keys: a.keys + [separator] + b.keys, children: a.children + b.children))
        default:
            throw EngineError.corruptPage(page: page, reason: "siblings of different kinds (leaves at different depths)")
        }
    }
}
