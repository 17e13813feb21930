// One layer of recent changes on top of the B+trees: the memtable (the active layer, and frozen
// ones waiting for a checkpoint) and a write transaction's own changes are all `MemLayer`s.
// Readers stack them newest first over a B+tree snapshot (see `LayeredView`).

/// A tree's changes within one layer.
struct TreeOverlay: Sendable {
    /// Whether the tree exists after this layer; nil when the layer did not create or drop it.
    var exists: Bool?
    /// True when the layer dropped (and maybe re-created) the tree: nothing below shows through.
    var hidesBelow = false
    var entries = PersistentMap()
    /// Change in the tree's entry count made by this layer (relative to the layers below, or to
    /// zero when `hidesBelow`).
    var countDelta: Int64 = 0
}

/// A set of changes to named trees, with the log sequence numbers it covers.
struct MemLayer: Sendable {
    var trees: [String: TreeOverlay] = [:]
    /// Sequence number of the last commit in the layer (0 when empty).
    var lastSequence: UInt64 = 0
    var isEmpty: Bool { trees.isEmpty }
    /// Approximate memory held, for the checkpoint budget.
    var bytes: Int { trees.values.reduce(0) { $0 + $1.entries.bytes + 64 } }

    /// Lays `upper` (a newer layer, e.g. a committed transaction) over this one.
    mutating func absorb(_ upper: MemLayer) {
        for (name, overlay) in upper.trees {
            if overlay.hidesBelow {
                trees[name] = TreeOverlay(exists: overlay.exists, hidesBelow: true, entries: overlay.entries, countDelta: overlay.countDelta)
                continue
            }
            // Changed in place (not copied out and back), so nodes only this layer holds are
            // updated rather than copied; and looked up once per tree, not once per key (hashing
            // the tree's name was a fifth of an append's instructions).
            Self.modify(&trees[name, default: TreeOverlay()]) { target in
                if let exists = overlay.exists { target.exists = exists }
                var iterator = MapIterator(overlay.entries)
                iterator.seek(atOrAfter: nil)
                while let (key, value) = iterator.current {
                    target.entries.set(key, value)
                    iterator.next()
                }
                target.countDelta += overlay.countDelta
            }
        }
        lastSequence = max(lastSequence, upper.lastSequence)
    }

    /// Runs `body` on a tree's overlay in place: `modify(&trees[name, default: …]) { … }` finds
    /// the entry once for every change `body` makes.
    static func modify<R>(_ overlay: inout TreeOverlay, _ body: (inout TreeOverlay) throws -> R) rethrows -> R {
        try body(&overlay)
    }
}

extension MemLayer {
    /// An empty layer whose table has room for `expectedTrees` trees before it grows (in an
    /// extension, so the memberwise initializer stays).
    init(expectedTrees: Int) {
        self.init()
        trees.reserveCapacity(expectedTrees)
    }
}
