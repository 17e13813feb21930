// Cursors: positioned walks over one tree, forward and backward.
//
// A cursor keeps the path from the root to its leaf as page numbers and child indexes, and the leaf
// it is on as one copy of the page's bytes (validated once), so stepping within a leaf is an index
// change and reading an entry copies only that entry. Decoding a whole node into arrays for every
// page entered cost an allocation per key; that is kept only for nodes a write transaction changed.
// A cursor of a write transaction notices when the transaction changed the tree under it and seeks
// again from the key it was on, so it never walks stale nodes.

/// A position in a tree, moving in key order.
public final class TreeCursor {
    private let source: any NodeSource
    private var root: PageID
    /// Branches from the root down: page, the child index taken, and how many children it has.
    private var path: [(id: PageID, index: Int, children: Int)] = []
    private var leaf = CursorLeaf.none
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
            guard positioned, index >= 0, index < leaf.count else { return nil }
            return try entry()
        }
    }

    /// The key under the cursor, without reading its value.
    public var currentKey: Bytes? {
        guard positioned, index >= 0, index < leaf.count else { return nil }
        return leaf.key(index)
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
        index = leaf.count - 1
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

    private func reset() throws {
        root = currentRoot()
        version = currentVersion()
        path.removeAll(keepingCapacity: true)
        leaf = .none
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

    private func entry() throws -> (key: Bytes, value: Bytes) {
        let (key, value) = leaf.entry(index)
        return (key, try source.readValue(value))
    }

    /// Walks from the node at `id` down to a leaf, pushing branches on the path.
    private func descend(from start: PageID? = nil, toward target: CursorTarget) throws {
        guard positioned else { return }
        var id = start ?? root
        while path.count < source.maximumDepth {
            // A page already on the path means the tree links back up: a cycle, not a tree.
            guard !path.contains(where: { $0.id == id }) else {
                throw EngineError.corruptPage(page: id, reason: "tree path has a cycle")
            }
            switch try source.cursorNode(id, toward: target) {
            case .branch(let children, let chosen, let child):
                path.append((id, chosen, children))
                id = child
            case .leaf(let content):
                leaf = content
                index = 0
                return
            }
        }
        throw EngineError.corruptPage(page: id, reason: "tree deeper than \(source.maximumDepth) levels")
    }

    /// Fixes up an index that ran past the end of its leaf by moving to the following leaves.
    private func settleForward() throws -> (key: Bytes, value: Bytes)? {
        guard positioned else { return nil }
        while index >= leaf.count {
            // Climb to the nearest ancestor with a child to the right, then go down its leftmost path.
            while let top = path.last, top.index + 1 >= top.children { path.removeLast() }
            guard var top = path.popLast() else {
                positioned = false
                return nil
            }
            top.index += 1
            path.append(top)
            try descend(from: try source.child(of: top.id, at: top.index), toward: .first)
            index = 0
        }
        return try entry()
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
            try descend(from: try source.child(of: top.id, at: top.index), toward: .last)
            index = leaf.count - 1
        }
        return try entry()
    }
}
