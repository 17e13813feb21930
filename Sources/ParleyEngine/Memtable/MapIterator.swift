// A position in a `PersistentMap`: a leaf, an index in it, and the branches above it with the
// child taken at each, so that stepping off either end of a leaf climbs to the neighbouring one.
// The iterator holds the root it began on: the map may go on changing, and copies whatever the
// iterator still holds.

/// A position in a `PersistentMap`, moving in either direction.
struct MapIterator {
    private let root: MapNode?
    /// Branches from the root down, each with the index of the child the position is under.
    private var path: [(branch: MapNode, child: Int)] = []
    private var leaf: MapNode?
    private var index = 0

    init(_ map: PersistentMap) { root = map.root }

    var current: (Bytes, MemValue)? {
        guard let leaf else { return nil }
        return (leaf.keys[index], leaf.values[index])
    }

    /// Positions at the first key >= `key` (the first key when nil).
    mutating func seek(atOrAfter key: Bytes?) {
        guard descend(toward: key, leftmost: true), let leaf else { return }
        if let key {
            index = PersistentMap.lowerBound(leaf.keys, key).index
            if index == leaf.keys.count { stepToNeighbour(forward: true) }
        } else {
            index = 0
        }
    }

    /// Positions at the last key <= `key` (the last key when nil).
    mutating func seek(atOrBefore key: Bytes?) {
        guard descend(toward: key, leftmost: false), let leaf else { return }
        if let key {
            let (first, equal) = PersistentMap.lowerBound(leaf.keys, key)
            index = equal ? first : first - 1
            if index < 0 { stepToNeighbour(forward: false) }
        } else {
            index = leaf.keys.count - 1
        }
    }

    /// Walks from the root to the leaf whose range holds `key` (or the first or last leaf when
    /// nil), recording the branches passed. False, and no position, when the map is empty.
    private mutating func descend(toward key: Bytes?, leftmost: Bool) -> Bool {
        path.removeAll(keepingCapacity: true)
        leaf = nil
        guard var node = root else { return false }
        while !node.isLeaf {
            let child = key.map { PersistentMap.childIndex(node.keys, $0) } ?? (leftmost ? 0 : node.children.count - 1)
            path.append((node, child))
            guard let next = node.children[child] else { return false }
            node = next
        }
        leaf = node
        return true
    }

    /// Moves to the first entry of the next leaf (forward) or the last of the previous one; no
    /// position when there is none. Leaves are never empty: the map only ever adds keys.
    private mutating func stepToNeighbour(forward: Bool) {
        leaf = nil
        // Climb to the nearest branch with a child beyond the one taken, then go down its edge.
        while let (branch, child) = path.popLast() {
            let sibling = forward ? child + 1 : child - 1
            guard branch.children.indices.contains(sibling), var node = branch.children[sibling] else { continue }
            path.append((branch, sibling))
            while !node.isLeaf {
                let edge = forward ? 0 : node.children.count - 1
                path.append((node, edge))
                guard let next = node.children[edge] else { return }
                node = next
            }
            guard !node.keys.isEmpty else { return }
            leaf = node
            index = forward ? 0 : node.keys.count - 1
            return
        }
    }

    mutating func next() {
        guard let leaf else { return }
        index += 1
        if index >= leaf.keys.count { stepToNeighbour(forward: true) }
    }

    mutating func previous() {
        guard leaf != nil else { return }
        index -= 1
        if index < 0 { stepToNeighbour(forward: false) }
    }
}
