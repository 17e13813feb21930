// An immutable sorted map of byte strings (an AVL tree with path copying). Setting a key returns a
// new map that shares all but O(log n) nodes with the old one, so a snapshot of the memtable is
// just a reference to its root: readers keep their version while the writer makes the next.

/// What the memtable holds for a key: a value, or a tombstone hiding older versions.
enum MemValue: Equatable, Sendable {
    case put(Bytes)
    case tombstone
}

final class MapNode: @unchecked Sendable {
    let key: Bytes
    let value: MemValue
    let left: MapNode?
    let right: MapNode?
    let height: Int8

    init(key: Bytes, value: MemValue, left: MapNode?, right: MapNode?) {
        self.key = key
        self.value = value
        self.left = left
        self.right = right
        self.height = max(left?.height ?? 0, right?.height ?? 0) + 1
    }
}

/// A persistent sorted map from byte strings to `MemValue`.
struct PersistentMap: Sendable {
    private(set) var root: MapNode?
    private(set) var count = 0
    /// Bytes of keys and values held (for the memtable's size budget).
    private(set) var bytes = 0

    init() {}

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
        root = Self.insert(root, key, value, &replaced)
        let valueSize: (MemValue) -> Int = { if case .put(let b) = $0 { return b.count } else { return 0 } }
        if let replaced {
            bytes += valueSize(value) - valueSize(replaced)
        } else {
            count += 1
            bytes += key.count + valueSize(value) + 48
        }
    }

    private static func height(_ node: MapNode?) -> Int8 { node?.height ?? 0 }

    private static func insert(_ node: MapNode?, _ key: Bytes, _ value: MemValue, _ replaced: inout MemValue?) -> MapNode {
        guard let node else { return MapNode(key: key, value: value, left: nil, right: nil) }
        let c = compareBytes(key, node.key)
        if c == 0 {
            replaced = node.value
            return MapNode(key: key, value: value, left: node.left, right: node.right)
        }
        if c < 0 {
            return balance(node.key, node.value, insert(node.left, key, value, &replaced), node.right)
        }
        return balance(node.key, node.value, node.left, insert(node.right, key, value, &replaced))
    }

    private static func balance(_ key: Bytes, _ value: MemValue, _ left: MapNode?, _ right: MapNode?) -> MapNode {
        let difference = Int(height(left)) - Int(height(right))
        if difference > 1, let left {
            if height(left.left) >= height(left.right) {
                return MapNode(key: left.key, value: left.value, left: left.left,
                               right: MapNode(key: key, value: value, left: left.right, right: right))
            }
            if let pivot = left.right {
                return MapNode(key: pivot.key, value: pivot.value,
                               left: MapNode(key: left.key, value: left.value, left: left.left, right: pivot.left),
                               right: MapNode(key: key, value: value, left: pivot.right, right: right))
            }
        }
        if difference < -1, let right {
            if height(right.right) >= height(right.left) {
                return MapNode(key: right.key, value: right.value,
                               left: MapNode(key: key, value: value, left: left, right: right.left), right: right.right)
            }
            if let pivot = right.left {
                return MapNode(key: pivot.key, value: pivot.value,
                               left: MapNode(key: key, value: value, left: left, right: pivot.left),
                               right: MapNode(key: right.key, value: right.value, left: pivot.right, right: right.right))
            }
        }
        return MapNode(key: key, value: value, left: left, right: right)
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
