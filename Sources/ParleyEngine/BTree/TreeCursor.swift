// Cursors: positioned walks over one tree, forward and backward.
//
// A cursor keeps the path from the root to its leaf as decoded nodes, so stepping within a leaf is
// an index change and crossing to the next leaf re-reads only the pages it enters. A cursor of a
// write transaction notices when the transaction changed the tree under it and seeks again from the
// key it was on, so it never walks stale nodes.

/// A position in a tree, moving in key order.
public final class TreeCursor {
    private let source: any NodeSource
    private var root: PageID
    private var path: [(node: BranchNode, index: Int)] = []
    /// Pages on the path, root first, to tell a cycle from a deep tree.
    private var pathPages: [PageID] = []
    private var leaf = LeafNode()
    private var index = 0
    private var positioned = false
    /// For write transactions: the change count the path was read at.
    private var version: Int
    private let currentVersion: () -> Int
    private let currentRoot: () -> PageID

    init(source: any NodeSource, root: PageID, version: @escaping () -> Int = { 0 }, currentRoot: (() -> PageID)? = nil) {
        self.source = source
        self.root = root
        self.currentVersion = version
        self.version = version()
        let fixedRoot = root
        self.currentRoot = currentRoot ?? { fixedRoot }
    }

    /// The entry under the cursor.
    public var current: (key: Bytes, value: Bytes)? {
        get throws {
            try source.checkSourceUsable()
            try refreshIfChanged()
            guard positioned, index >= 0, index < leaf.keys.count else { return nil }
            return (leaf.keys[index], try source.readValue(leaf.values[index]))
        }
    }

    /// The key under the cursor, without reading its value.
    public var currentKey: Bytes? {
        guard positioned, index >= 0, index < leaf.keys.count else { return nil }
        return leaf.keys[index]
    }

    /// Moves to the first entry.
    @discardableResult
    public func first() throws -> (key: Bytes, value: Bytes)? {
        try source.checkSourceUsable()
        try reset()
        try descend(toward: .first)
        return try settleForward()
    }

    /// Moves to the last entry.
    @discardableResult
    public func last() throws -> (key: Bytes, value: Bytes)? {
        try source.checkSourceUsable()
        try reset()
        try descend(toward: .last)
        index = leaf.keys.count - 1
        return try settleBackward()
    }

    /// Moves to the first entry whose key is `key` or after it.
    @discardableResult
    public func seek(atOrAfter key: Bytes) throws -> (key: Bytes, value: Bytes)? {
        try source.checkSourceUsable()
        try reset()
        try descend(toward: .key(key))
        index = leaf.search(key).index
        return try settleForward()
    }

    /// Moves to the last entry whose key is `key` or before it.
    @discardableResult
    public func seek(atOrBefore key: Bytes) throws -> (key: Bytes, value: Bytes)? {
        try source.checkSourceUsable()
        try reset()
        try descend(toward: .key(key))
        let (i, found) = leaf.search(key)
        index = found ? i : i - 1
        return try settleBackward()
    }

    /// Moves to the next entry; nil past the last.
    @discardableResult
    public func next() throws -> (key: Bytes, value: Bytes)? {
        try source.checkSourceUsable()
        if currentVersion() != version {
            // The tree changed: find the old key again; if it is gone, its successor is the next.
            guard positioned, let key = currentKey else { return nil }
            let landed = try seek(atOrAfter: key)
            guard let landed, landed.key == key else { return landed }
        }
        guard positioned else { return nil }
        index += 1
        return try settleForward()
    }

    /// Moves to the previous entry; nil before the first.
    @discardableResult
    public func previous() throws -> (key: Bytes, value: Bytes)? {
        try source.checkSourceUsable()
        if currentVersion() != version {
            guard positioned, let key = currentKey else { return nil }
            let landed = try seek(atOrBefore: key)
            guard let landed, landed.key == key else { return landed }
        }
        guard positioned else { return nil }
        index -= 1
        return try settleBackward()
    }

    // MARK: - Positioning

    private enum Target {
        case first, last
        case key(Bytes)
    }

    private func reset() throws {
        root = currentRoot()
        version = currentVersion()
        path.removeAll(keepingCapacity: true)
        pathPages.removeAll(keepingCapacity: true)
        leaf = LeafNode()
        index = 0
        positioned = root != 0
    }

    /// When the tree changed under a write transaction's cursor, seeks again to where it was: the
    /// same key if it is still there, else the one that took its place.
    private func refreshIfChanged() throws {
        guard currentVersion() != version else { return }
        guard positioned, let key = currentKey else {
            try reset()
            positioned = false
            return
        }
        try seek(atOrAfter: key)
    }

    /// Walks from the node at `id` down to a leaf, pushing branches on the path.
    private func descend(from start: PageID? = nil, toward target: Target) throws {
        guard positioned else { return }
        var id = start ?? root
        pathPages.removeSubrange(min(path.count, pathPages.count)...)
        while path.count < source.maximumDepth {
            guard !pathPages.contains(id) else {
                throw EngineError.corruptPage(page: id, reason: "tree path has a cycle")
            }
            pathPages.append(id)
            switch try source.node(id) {
            case .branch(let branch):
                let childIndex: Int
                switch target {
                case .first: childIndex = 0
                case .last: childIndex = branch.children.count - 1
                case .key(let key): childIndex = branch.childIndex(for: key)
                }
                path.append((branch, childIndex))
                id = branch.children[childIndex]
            case .leaf(let node):
                leaf = node
                index = 0
                return
            }
        }
        throw EngineError.corruptPage(page: id, reason: "tree deeper than \(source.maximumDepth) levels")
    }

    /// Fixes up an index that ran past the end of its leaf by moving to the following leaves.
    private func settleForward() throws -> (key: Bytes, value: Bytes)? {
        guard positioned else { return nil }
        while index >= leaf.keys.count {
            // Climb to the nearest ancestor with a child to the right, then go down its leftmost path.
            while let top = path.last, top.index + 1 >= top.node.children.count { path.removeLast() }
            guard var top = path.popLast() else {
                positioned = false
                return nil
            }
            top.index += 1
            path.append(top)
            try descend(from: top.node.children[top.index], toward: .first)
            index = 0
        }
        return (leaf.keys[index], try source.readValue(leaf.values[index]))
    }

    private func settleBackward() throws -> (key: Bytes, value: Bytes)? {
        guard positioned else { return nil }
        while index < 0 {
            while let top = path.last, top.index == 0 { path.removeLast() }
            guard var top = path.popLast() else {
                positioned = false
                return nil
            }
            top.index -= 1
            path.append(top)
            try descend(from: top.node.children[top.index], toward: .last)
            index = leaf.keys.count - 1
        }
        return (leaf.keys[index], try source.readValue(leaf.values[index]))
    }
}
