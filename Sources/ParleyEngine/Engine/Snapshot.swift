// Read access through the memtable layers and the B+trees, for snapshots and write transactions.

import CParleySupport

/// A consistent read-only view of the database as of one commit.
public final class Snapshot: @unchecked Sendable {
    let view: LayeredView

    init(view: LayeredView) { self.view = view }

    deinit {
        view.base.close()
        // The layers go when this returns; once nothing else holds their nodes, a commit changes
        // them in place. Their reference counts order that, unseen by ThreadSanitizer; this says
        // so to it (a no-op in other builds). `PersistentMap` acquires before such changes.
        parley_memtable_release()
    }

    /// Ends the snapshot (also done when it is released).
    public func close() { view.base.close() }

    /// True when a tree of this name exists.
    public func treeExists(_ tree: String) throws -> Bool { try view.treeExists(tree) }

    /// The value under `key` in `tree`, or nil.
    public func get(_ tree: String, _ key: Bytes) throws -> Bytes? {
        try view.getExisting(tree, key)
    }

    /// The values under `keys` in `tree`, in their order (nil where absent): what `get` answers
    /// for each, with the B+tree's leaves fetched side by side rather than one after another.
    public func getMany(_ tree: String, _ keys: [Bytes]) throws -> [Bytes?] {
        try view.getManyExisting(tree, keys)
    }

    /// Number of entries in `tree`.
    public func count(_ tree: String) throws -> UInt64 {
        guard try view.treeExists(tree) else { throw EngineError.treeNotFound(name: tree) }
        return try view.count(tree)
    }

    /// An ordered cursor over `tree`.
    public func cursor(_ tree: String) throws -> MergedCursor {
        guard try view.treeExists(tree) else { throw EngineError.treeNotFound(name: tree) }
        return try view.cursor(tree)
    }

    /// Names of every tree, in byte order.
    public func treeNames() throws -> [String] {
        var names = Set(try view.base.treeNames())
        for layer in view.layers.reversed() {
            for (name, overlay) in layer.trees {
                if overlay.exists == true { names.insert(name) }
                if overlay.exists == false { names.remove(name) }
            }
        }
        return names.sorted { compareBytes(Array($0.utf8), Array($1.utf8)) < 0 }
    }
}
