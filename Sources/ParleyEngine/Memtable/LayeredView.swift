// Reading through layers: a transaction's changes, the memtable's layers, then a B+tree snapshot.
// The newest layer that says anything about a key decides: a value, a tombstone (absent), or a
// dropped tree (absent, and nothing below counts).

/// A consistent view: layers newest first, over one B+tree snapshot.
struct LayeredView {
    var layers: [MemLayer]
    let base: ReadTransaction

    func treeExists(_ tree: String) throws -> Bool {
        for layer in layers {
            if let exists = layer.trees[tree]?.exists { return exists }
        }
        return try base.treeExists(tree)
    }

    /// Layers that speak for `tree`, newest first, and whether the B+tree shows through under them.
    func stack(_ tree: String) -> (overlays: [TreeOverlay], baseVisible: Bool) {
        var overlays: [TreeOverlay] = []
        for layer in layers {
            guard let overlay = layer.trees[tree] else { continue }
            overlays.append(overlay)
            if overlay.hidesBelow { return (overlays, false) }
        }
        return (overlays, true)
    }

    /// The value under `key`, throwing `treeNotFound` when `tree` does not exist: what
    /// `treeExists` then `get` answer, with one walk of the layers and one catalog lookup. `top`,
    /// when given, is a layer over all of them (a write transaction's own changes), read first
    /// without building a new list of layers on every call.
    func getExisting(_ tree: String, _ key: Bytes, under top: MemLayer? = nil) throws -> Bytes? {
        // The newest layer that says whether the tree exists decides that, as in `treeExists`.
        var exists: Bool?
        if let top, let answer = try Self.look(in: top, tree, key, &exists) { return answer }
        for layer in layers {
            if let answer = try Self.look(in: layer, tree, key, &exists) { return answer }
        }
        let (baseHasTree, value) = try base.getIfTreeExists(tree, key)
        if exists == nil, !baseHasTree { throw EngineError.treeNotFound(name: tree) }
        return value
    }

    /// What `layer` says about `key`: nil when it leaves the question to the layers below, else
    /// the answer (a value, or nil for absent). Records in `exists` what the newest layer that
    /// mentions the tree says about its existence.
    private static func look(in layer: MemLayer, _ tree: String, _ key: Bytes, _ exists: inout Bool?) throws -> Bytes?? {
        guard !layer.trees.isEmpty, let overlay = layer.trees[tree] else { return nil }
        if exists == nil { exists = overlay.exists }
        if exists == false { throw EngineError.treeNotFound(name: tree) }
        if let value = overlay.entries.get(key) { return .some(value.bytes) }
        return overlay.hidesBelow ? .some(nil) : nil
    }

    func count(_ tree: String) throws -> UInt64 {
        let (overlays, baseVisible) = stack(tree)
        var total: Int64 = 0
        if baseVisible, try base.treeExists(tree) { total = Int64(clamping: try base.count(tree)) }
        for overlay in overlays { total += overlay.countDelta }
        return UInt64(max(0, total))
    }

    func cursor(_ tree: String) throws -> MergedCursor {
        let (overlays, baseVisible) = stack(tree)
        var baseCursor: TreeCursor?
        if baseVisible, try base.treeExists(tree) { baseCursor = try base.cursor(tree) }
        return MergedCursor(overlays: overlays.map(\.entries), base: baseCursor)
    }
}
