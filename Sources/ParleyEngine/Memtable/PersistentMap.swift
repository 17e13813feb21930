// A sorted map of byte strings with cheap snapshots (an AVL tree). A copy of the map shares every
// node with the original; setting a key changes in place the nodes only this map holds and copies
// the ones another copy still shares (path copying), so a snapshot of the memtable is just a
// reference to its root, and readers keep their version while the writer makes the next. A map no
// one else holds (a transaction's own changes, the memtable between snapshots) allocates one node
// per new key instead of a new path per change.

import CParleySupport

/// What the memtable holds for a key: a value, or a tombstone hiding older versions.
enum MemValue: Equatable, Sendable {
    case put(Bytes)
    case tombstone
}

final class MapNode: @unchecked Sendable {
    // Mutated only through `PersistentMap`, and only while no other map or iterator holds the node
    // (isKnownUniquelyReferenced); shared nodes are never changed, which is what makes them Sendable.
    let key: Bytes
    fileprivate(set) var value: MemValue
    fileprivate(set) var left: MapNode?
    fileprivate(set) var right: MapNode?
    fileprivate(set) var height: Int8

    init(key: Bytes, value: MemValue, left: MapNode?, right: MapNode?) {
        self.key = key
        self.value = value
        self.left = left
        self.right = right
        self.height = max(left?.height ?? 0, right?.height ?? 0) + 1
    }

    fileprivate func updateHeight() { height = max(left?.height ?? 0, right?.height ?? 0) + 1 }
}

/// A sorted map from byte strings to `MemValue` whose copies are independent (value semantics).
struct PersistentMap: Sendable {
    private(set) var root: MapNode?
    private(set) var count = 0
    /// Heap bytes the entries hold, as the allocator counts them (for the memtable's budget).
    private(set) var bytes = 0

    // What an entry really costs, calibrated against glibc's malloc on 64-bit Linux and checked by
    // `MemtableAccountingTests`: keys and values alone undercount small entries about twofold.
    /// A `MapNode`: a 16-byte object header and 33 bytes of fields, in a 64-byte malloc chunk.
    static let nodeCost = 64
    /// A byte array's storage: a 32-byte header and its capacity (which may exceed its count), plus
    /// malloc's chunk header and rounding to 16 bytes (16 on average). An empty array allocates nothing.
    static func storageCost(_ bytes: Bytes) -> Int { bytes.capacity == 0 ? 0 : 48 + bytes.capacity }
    static func storageCost(_ value: MemValue) -> Int {
        if case .put(let bytes) = value { return storageCost(bytes) } else { return 0 }
    }

    init() {}

    /// A map of `count` entries, the `i`th given by `entry(i)`, whose keys must be strictly
    /// increasing with `i` (the caller sorts them), built balanced in one pass: recovery fills a
    /// layer this way instead of one insertion per key.
    init(sortedCount count: Int, entry: (Int) -> (Bytes, MemValue)) {
        var bytes = 0
        self.root = Self.build(0, count, entry, &bytes)
        self.count = count
        self.bytes = bytes
    }

    /// The middle entry over the two halves: sizes of sibling subtrees differ by at most one, so
    /// their heights do too (AVL balance holds without rotations).
    private static func build(_ low: Int, _ high: Int, _ entry: (Int) -> (Bytes, MemValue), _ bytes: inout Int) -> MapNode? {
        guard low < high else { return nil }
        let middle = low + (high - low) / 2
        let left = build(low, middle, entry, &bytes)
        let (key, value) = entry(middle)
        let right = build(middle + 1, high, entry, &bytes)
        bytes += nodeCost + storageCost(key) + storageCost(value)
        return MapNode(key: key, value: value, left: left, right: right)
    }

    var isEmptyMap: Bool { root == nil }

    func get(_ key: Bytes) -> MemValue? {
        var node = root
        while let current = node {
            let c = compareBytes(key, current.key)
            if c == 0 { return current.value }
            node = c < 0 ? current.left : current.right
        }
        return nil
    }

    mutating func set(_ key: Bytes, _ value: MemValue) {
        var replaced: MemValue?
        let top = root
        root = nil
        root = Self.insert(consume top, key, value, &replaced)
        if let replaced {
            bytes += Self.storageCost(value) - Self.storageCost(replaced)
        } else {
            count += 1
            bytes += Self.nodeCost + Self.storageCost(key) + Self.storageCost(value)
        }
    }

    private static func height(_ node: MapNode?) -> Int8 { node?.height ?? 0 }

    // The recursion takes nodes out of their parent's field into locals and puts them back, so
    // uniqueness is tested on a local (a class property passed inout costs a dynamic exclusivity
    // check on every step, which was a seventh of an append).

    /// A node only this map holds with `node`'s contents: `node` itself when it is not shared.
    private static func unique(_ node: inout MapNode) {
        if !isKnownUniquelyReferenced(&node) {
            node = MapNode(key: node.key, value: node.value, left: node.left, right: node.right)
        } else {
            // Ended snapshots may have read it (see `Snapshot.deinit`).
            parley_memtable_acquire()
        }
    }

    /// Inserts into the subtree `slot`, which the caller hands over (its parent's field cleared), so
    /// that an unshared node shows as uniquely referenced here.
    private static func insert(_ slot: consuming MapNode?, _ key: Bytes, _ value: MemValue, _ replaced: inout MemValue?) -> MapNode {
        if !isKnownUniquelyReferenced(&slot), let shared = slot {
            slot = MapNode(key: shared.key, value: shared.value, left: shared.left, right: shared.right)
        } else if slot != nil {
            // Changed in place below: ended snapshots may have read it (see `Snapshot.deinit`).
            parley_memtable_acquire()
        }
        guard let node = slot else { return MapNode(key: key, value: value, left: nil, right: nil) }
        let c = compareBytes(key, node.key)
        if c == 0 {
            replaced = node.value
            node.value = value
            return node
        }
        if c < 0 {
            let child = node.left
            node.left = nil
            node.left = insert(consume child, key, value, &replaced)
        } else {
            let child = node.right
            node.right = nil
            node.right = insert(consume child, key, value, &replaced)
        }
        return rebalance(node)
    }

    /// Restores the AVL balance of `node` (only this map holds it); returns the subtree's root.
    private static func rebalance(_ node: MapNode) -> MapNode {
        let difference = Int(height(node.left)) - Int(height(node.right))
        if difference > 1, var left = node.left {
            node.left = nil
            if height(left.left) < height(left.right) { left = rotateLeft(left) }
            node.left = left
            return rotateRight(node)
        }
        if difference < -1, var right = node.right {
            node.right = nil
            if height(right.right) < height(right.left) { right = rotateRight(right) }
            node.right = right
            return rotateLeft(node)
        }
        node.updateHeight()
        return node
    }

    /// `node` must be one only this map holds.
    private static func rotateRight(_ node: MapNode) -> MapNode {
        guard var pivot = node.left else { return node }
        node.left = nil
        unique(&pivot)
        node.left = pivot.right
        node.updateHeight()
        pivot.right = node
        pivot.updateHeight()
        return pivot
    }

    /// `node` must be one only this map holds.
    private static func rotateLeft(_ node: MapNode) -> MapNode {
        guard var pivot = node.right else { return node }
        node.right = nil
        unique(&pivot)
        node.right = pivot.left
        node.updateHeight()
        pivot.left = node
        pivot.updateHeight()
        return pivot
    }

    /// Entries in key order, from the first at or after `start` (all when nil).
    func entries(from start: Bytes? = nil) -> [(Bytes, MemValue)] {
        var out: [(Bytes, MemValue)] = []
        var iterator = MapIterator(self)
        iterator.seek(atOrAfter: start)
        while let entry = iterator.current {
            out.append(entry)
            iterator.next()
        }
        return out
    }
}

/// A position in a `PersistentMap`, moving in either direction (a stack of ancestors).
struct MapIterator {
    private let root: MapNode?
    private var stack: [MapNode] = []

    init(_ map: PersistentMap) { root = map.root }

    var current: (Bytes, MemValue)? {
        guard let top = stack.last else { return nil }
        return (top.key, top.value)
    }

    /// Positions at the first key >= `key` (the first key when nil).
    mutating func seek(atOrAfter key: Bytes?) {
        stack.removeAll(keepingCapacity: true)
        var path: [MapNode] = []
        var node = root
        var best = -1
        while let current = node {
            path.append(current)
            if let key, compareBytes(key, current.key) > 0 {
                node = current.right
            } else {
                best = path.count - 1
                if let key, compareBytes(key, current.key) == 0 { break }
                node = current.left
            }
        }
        if best >= 0 { stack = Array(path[0...best]) }
        prune(forward: true)
    }

    /// Positions at the last key <= `key` (the last key when nil).
    mutating func seek(atOrBefore key: Bytes?) {
        stack.removeAll(keepingCapacity: true)
        var path: [MapNode] = []
        var node = root
        var best = -1
        while let current = node {
            path.append(current)
            if let key, compareBytes(key, current.key) < 0 {
                node = current.left
            } else {
                best = path.count - 1
                if let key, compareBytes(key, current.key) == 0 { break }
                node = current.right
            }
        }
        if best >= 0 { stack = Array(path[0...best]) }
        prune(forward: false)
    }

    /// Keeps on the stack only the ancestors still ahead in the walk's direction, so that `next`
    /// and `previous` can climb to them.
    private mutating func prune(forward: Bool) {
        guard let target = stack.last else { return }
        var kept: [MapNode] = []
        for (i, node) in stack.enumerated() where i < stack.count - 1 {
            let child = stack[i + 1]
            // An ancestor is ahead when the walk went down its left side (forward) or right (backward).
            if forward ? (node.left === child) : (node.right === child) { kept.append(node) }
        }
        kept.append(target)
        stack = kept
    }

    mutating func next() {
        guard let top = stack.popLast() else { return }
        var node = top.right
        while let current = node {
            stack.append(current)
            node = current.left
        }
    }

    mutating func previous() {
        guard let top = stack.popLast() else { return }
        var node = top.left
        while let current = node {
            stack.append(current)
            node = current.right
        }
    }
}
