// What a cursor holds of the nodes it walks: the leaf it is on (a copy of a committed page, or the
// decoded node a write transaction changed) and, for branches, just the child it goes down to.

/// Where a descent heads.
enum CursorTarget {
    case first, last
    case key(Bytes)
}

/// One node on a cursor's way down.
enum CursorNode {
    case branch(children: Int, chosen: Int, child: PageID)
    case leaf(CursorLeaf)
}

/// The leaf a cursor is on.
enum CursorLeaf {
    case none
    /// The bytes of a committed leaf page, validated when copied.
    case page(Bytes, id: PageID, count: Int)
    /// A leaf the write transaction changed.
    case node(LeafNode)

    var count: Int {
        switch self {
        case .none: return 0
        case .page(_, _, let count): return count
        case .node(let node): return node.keys.count
        }
    }

    private func withView<R>(_ bytes: Bytes, id: PageID, count: Int, _ body: (LeafView) -> R) -> R {
        bytes.withUnsafeBytes { body(LeafView(validated: $0, id: id, count: count)) }
    }

    /// Key `i`; `i` must be in 0..<count.
    func key(_ i: Int) -> Bytes {
        switch self {
        case .none: return []
        case .page(let bytes, let id, let count): return withView(bytes, id: id, count: count) { Bytes($0.key(i)) }
        case .node(let node): return node.keys[i]
        }
    }

    /// Entry `i`; `i` must be in 0..<count.
    func entry(_ i: Int) -> (key: Bytes, value: LeafValue) {
        switch self {
        case .none: return ([], .inline([]))
        case .page(let bytes, let id, let count):
            return withView(bytes, id: id, count: count) { view in
                switch view.value(i) {
                case .inline(let value): return (Bytes(view.key(i)), .inline(Bytes(value)))
                case .overflow(let first, let length): return (Bytes(view.key(i)), .overflow(first: first, length: length))
                }
            }
        case .node(let node): return (node.keys[i], node.values[i])
        }
    }

    /// The first index whose key is >= `key`, and whether it is equal.
    func search(_ key: Bytes) -> (index: Int, found: Bool) {
        switch self {
        case .none: return (0, false)
        case .page(let bytes, let id, let count): return withView(bytes, id: id, count: count) { $0.search(key) }
        case .node(let node): return node.search(key)
        }
    }
}

extension NodeSource {
    /// The node at `id` as a cursor sees it: a leaf to stand on, or the branch's child toward `target`.
    func cursorNode(_ id: PageID, toward target: CursorTarget) throws -> CursorNode {
        if let node = try changedNode(id) {
            switch node {
            case .leaf(let leaf): return .leaf(.node(leaf))
            case .branch(let branch):
                let chosen: Int
                switch target {
                case .first: chosen = 0
                case .last: chosen = branch.children.count - 1
                case .key(let key): chosen = branch.childIndex(for: key)
                }
                return .branch(children: branch.children.count, chosen: chosen, child: branch.children[chosen])
            }
        }
        return try pageReader.withPage(id, expecting: nil) { page in
            switch PageLayout.type(of: page) {
            case .leaf?:
                let view = try pageReader.leafView(page, id: id)
                return .leaf(.page(Bytes(page), id: id, count: view.count))
            case .branch?:
                let view = try pageReader.branchView(page, id: id)
                let chosen: Int
                switch target {
                case .first: chosen = 0
                case .last: chosen = view.count
                case .key(let key): chosen = view.childIndex(for: key)
                }
                return .branch(children: view.count + 1, chosen: chosen, child: view.child(chosen))
            default: throw EngineError.corruptPage(page: id, reason: "expected a tree page")
            }
        }
    }

    /// Child `index` of the branch at `id` (a cursor moving to a neighbouring subtree).
    func child(of id: PageID, at index: Int) throws -> PageID {
        if let node = try changedNode(id) {
            guard case .branch(let branch) = node, branch.children.indices.contains(index) else {
                throw EngineError.corruptPage(page: id, reason: "the cursor's branch changed shape")
            }
            return branch.children[index]
        }
        return try pageReader.withPage(id, expecting: .branch) { page in
            let view = try pageReader.branchView(page, id: id)
            guard index >= 0, index <= view.count else {
                throw EngineError.corruptPage(page: id, reason: "branch has no child \(index)")
            }
            return view.child(index)
        }
    }
}
