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
        if let answered = try answer(for: key, in: tree, under: top, &exists) { return answered }
        let (baseHasTree, value) = try base.getIfTreeExists(tree, key)
        if exists == nil, !baseHasTree { throw EngineError.treeNotFound(name: tree) }
        return value
    }

    /// `getExisting` for several keys: the layers answer what they can, and the rest are looked
    /// up in the B+tree together (`lookupMany`). Values come in the order of `keys`.
    func getManyExisting(_ tree: String, _ keys: [Bytes], under top: MemLayer? = nil) throws -> [Bytes?] {
        if keys.isEmpty {
            // No key asks the layers, so ask them whether the tree exists.
            guard try top?.trees[tree]?.exists ?? treeExists(tree) else { throw EngineError.treeNotFound(name: tree) }
            return []
        }
        if top == nil, layers.isEmpty {
            let (baseHasTree, values) = try base.getManyIfTreeExists(tree, keys)
            guard baseHasTree else { throw EngineError.treeNotFound(name: tree) }
            return values
        }
        var exists: Bool?
        var values: [Bytes?] = []
        values.reserveCapacity(keys.count)
        var unanswered: [Int] = []
        unanswered.reserveCapacity(keys.count)
        for (i, key) in keys.enumerated() {
            if let answered = try answer(for: key, in: tree, under: top, &exists) {
                values.append(answered)
            } else {
                values.append(nil)
                unanswered.append(i)
            }
        }
        // With no key left for the B+tree, it still says whether the tree exists when no layer did.
        guard !unanswered.isEmpty || exists == nil else { return values }
        let rest = unanswered.count == keys.count ? keys : unanswered.map { keys[$0] }
        let (baseHasTree, found) = try base.getManyIfTreeExists(tree, rest)
        if exists == nil, !baseHasTree { throw EngineError.treeNotFound(name: tree) }
        for (i, value) in zip(unanswered, found) { values[i] = value }
        return values
    }

    /// What the layers (`top` first) say about `key`: nil when none does, else the answer.
    private func answer(for key: Bytes, in tree: String, under top: MemLayer?, _ exists: inout Bool?) throws -> Bytes?? {
        if let top, let answer = try Self.look(in: top, tree, key, &exists) { return answer }
        for layer in layers {
            if let answer = try Self.look(in: layer, tree, key, &exists) { return answer }
        }
        return nil
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
