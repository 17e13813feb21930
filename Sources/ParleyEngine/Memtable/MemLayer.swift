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

    /// Records `value` for `key` and the count's change. Called through `trees[name, default: …]`,
    /// so the overlay is found once and changed in place.
    mutating func set(_ key: Bytes, _ value: MemValue, countDelta delta: Int64) {
        entries.set(key, value)
        countDelta += delta
    }

    /// Records the removal of `keys`, every one of them present below.
    mutating func delete(_ keys: [Bytes]) {
        for key in keys { entries.set(key, .tombstone) }
        countDelta -= Int64(keys.count)
    }

    /// Lays a newer layer's changes to this tree over these (the part of `MemLayer.absorb` for one
    /// tree that does not hide what is below).
    mutating func lay(_ upper: TreeOverlay) {
        if let exists = upper.exists { self.exists = exists }
        var iterator = MapIterator(upper.entries)
        iterator.seek(atOrAfter: nil)
        while let (key, value) = iterator.current {
            entries.set(key, value)
            iterator.next()
        }
        countDelta += upper.countDelta
    }
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
            trees[name, default: TreeOverlay()].lay(overlay)
        }
        lastSequence = max(lastSequence, upper.lastSequence)
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
