// A sorted map of byte strings with cheap snapshots (a B+tree of wide nodes, in memory). A copy of
// the map shares every node with the original; setting a key changes in place the nodes only this
// map holds and copies the ones another copy still shares (path copying), so a snapshot of the
// memtable is just a reference to its root, and readers keep their version while the writer makes
// the next. A map no one else holds (a transaction's own changes, the memtable between snapshots)
// changes one leaf per new key.
//
// Wide nodes rather than a binary tree: a commit sets about ten keys into maps of up to a few
// hundred thousand entries, and each step of a descent is a cache miss; a node of 32 keys turns
// the ~20 node visits of a balanced binary tree into 4, a new key into a slot in an array rather
// than an allocation and a rebalancing, and a dropped layer into a few thousand frees, not one
// per key. The map never removes a key (a deletion is a tombstone), so nodes only ever split.

import CParleySupport

/// What the memtable holds for a key: a value, or a tombstone hiding older versions.
enum MemValue: Equatable, Sendable {
    case put(Bytes)
    /// A value recovery left in the log (see `LoggedValue`).
    case logged(LoggedValue)
    case tombstone

    /// The value; nil for a tombstone.
    var bytes: Bytes? {
        switch self {
        case .put(let bytes): return bytes
        case .logged(let value): return value.bytes
        case .tombstone: return nil
        }
    }

    /// Equal when both are tombstones or both hold the same bytes, wherever they are kept.
    static func == (lhs: MemValue, rhs: MemValue) -> Bool { lhs.bytes == rhs.bytes }
}

/// A node of a `PersistentMap`: a leaf (keys and their values) or a branch (children and the
/// separator keys between them).
final class MapNode: @unchecked Sendable {
    // Mutated only through `PersistentMap`, and only while no other map or iterator holds the node
    // (isKnownUniquelyReferenced); shared nodes are never changed, which is what makes them Sendable.
    // Exclusivity is not checked at run time: a node is changed by one map, one access at a time.

    /// A leaf's keys in increasing order; a branch's separators: `keys[i]` is the smallest key of
    /// `children[i + 1]`'s subtree when it was split off, and every key of `children[i]` is below it.
    @exclusivity(unchecked) fileprivate(set) var keys: [Bytes]
    /// A leaf's values, one per key; empty in a branch.
    @exclusivity(unchecked) fileprivate(set) var values: [MemValue]
    /// A branch's children, one more than its separators; empty in a leaf. Nil only for the moment
    /// an insertion has taken the child out to change it.
    @exclusivity(unchecked) fileprivate(set) var children: [MapNode?]

    var isLeaf: Bool { children.isEmpty }

    fileprivate init(keys: [Bytes], values: [MemValue], children: [MapNode?]) {
        self.keys = keys
        self.values = values
        self.children = children
    }

    /// A copy for a map that is about to change it, with room for the entry or child that may be
    /// added before a split.
    fileprivate init(copying node: MapNode) {
        keys = node.keys
        values = node.values
        children = node.children
        // Copies the arrays now, at the capacity the original had but never more than a node of
        // its kind needs: malloc may hand an array a little more room than it asked for, and a
        // copy of a copy asking for all of it could creep (the snapshot test once found a leaf with
        // room for 41 values, in a full run of the suite).
        if node.isLeaf {
            keys.reserveCapacity(min(node.keys.capacity, PersistentMap.leafCapacity + 1))
            values.reserveCapacity(min(node.values.capacity, PersistentMap.leafCapacity + 1))
        } else {
            keys.reserveCapacity(min(node.keys.capacity, PersistentMap.branchCapacity))
            children.reserveCapacity(min(node.children.capacity, PersistentMap.branchCapacity + 1))
        }
    }
}

/// A sorted map from byte strings to `MemValue` whose copies are independent (value semantics).
struct PersistentMap: Sendable {
    /// Entries in a leaf, and children of a branch, before it splits in two.
    static let leafCapacity = 32
    static let branchCapacity = 32

    private(set) var root: MapNode?
    private(set) var count = 0
    /// Heap bytes the entries and nodes hold, as the allocator counts them (for the memtable's budget).
    private(set) var bytes = 0

    // What an entry really costs, calibrated against glibc's malloc on 64-bit Linux and checked by
    // `MemtableAccountingTests`: keys and values alone undercount small entries about twofold.
    /// A byte array's storage: a 32-byte header and its capacity (which may exceed its count), plus
    /// malloc's chunk header and rounding to 16 bytes (16 on average). An empty array allocates nothing.
    static func storageCost(_ bytes: Bytes) -> Int { bytes.capacity == 0 ? 0 : 48 + bytes.capacity }
    /// A logged value is counted as its copy would be: its bytes are mapped memory that reading
    /// it keeps resident, and the budget's checkpoints are what let the log start over.
    static func storageCost(_ value: MemValue) -> Int {
        switch value {
        case .put(let bytes): return storageCost(bytes)
        case .logged(let value): return 48 + value.count
        case .tombstone: return 0
        }
    }
    /// A node: its object (a 16-byte header and three references, in a 48-byte chunk) and its
    /// arrays' storage (8 bytes a slot, at their capacity). Its keys' and values' own storage is
    /// counted per entry.
    static func nodeCost(_ node: MapNode) -> Int {
        48 + slotsCost(node.keys.capacity) + slotsCost(node.isLeaf ? node.values.capacity : node.children.capacity)
    }
    private static func slotsCost(_ capacity: Int) -> Int { capacity == 0 ? 0 : 48 + 8 * capacity }

    init() {}

    /// A map of `count` entries, the `i`th given by `entry(i)`, whose keys must be strictly
    /// increasing with `i` (the caller sorts them), built bottom up in one pass: recovery fills a
    /// layer this way instead of one insertion per key. Leaves are filled to capacity.
    init(sortedCount count: Int, entry: (Int) -> (Bytes, MemValue)) {
        guard count > 0 else { return }
        var bytes = 0
        // Each level: the nodes and the smallest key under each.
        var level: [(node: MapNode, first: Bytes)] = []
        for range in Self.evenRanges(count, Self.leafCapacity) {
            var keys: [Bytes] = []
            var values: [MemValue] = []
            keys.reserveCapacity(range.count)
            values.reserveCapacity(range.count)
            for i in range {
                let (key, value) = entry(i)
                keys.append(key)
                values.append(value)
                bytes += Self.storageCost(key) + Self.storageCost(value)
            }
            let leaf = MapNode(keys: keys, values: values, children: [])
            bytes += Self.nodeCost(leaf)
            level.append((leaf, keys[0]))
        }
        while level.count > 1 {
            var above: [(node: MapNode, first: Bytes)] = []
            for range in Self.evenRanges(level.count, Self.branchCapacity) {
                let members = level[range]
                let branch = MapNode(keys: members.dropFirst().map(\.first), values: [], children: members.map(\.node))
                bytes += Self.nodeCost(branch)
                above.append((branch, members[range.lowerBound].first))
            }
            level = above
        }
        self.root = level.first?.node
        self.count = count
        self.bytes = bytes
    }

    /// `total` items cut into the fewest runs of at most `capacity`, their lengths differing by at
    /// most one (so no node is left nearly empty at the end).
    private static func evenRanges(_ total: Int, _ capacity: Int) -> [Range<Int>] {
        let runs = (total + capacity - 1) / capacity
        var ranges: [Range<Int>] = []
        ranges.reserveCapacity(runs)
        var start = 0
        for run in 0..<runs {
            let length = total / runs + (run < total % runs ? 1 : 0)
            ranges.append(start..<(start + length))
            start += length
        }
        return ranges
    }

    var isEmptyMap: Bool { root == nil }

    func get(_ key: Bytes) -> MemValue? {
        guard var node = root else { return nil }
        while !node.isLeaf {
            guard let child = node.children[Self.childIndex(node.keys, key)] else { return nil }
            node = child
        }
        let (index, found) = Self.lowerBound(node.keys, key)
        return found ? node.values[index] : nil
    }

    mutating func set(_ key: Bytes, _ value: MemValue) {
        guard var top = root else {
            let leaf = MapNode(keys: [key], values: [value], children: [])
            root = leaf
            count = 1
            bytes += Self.nodeCost(leaf) + Self.storageCost(key) + Self.storageCost(value)
            return
        }
        // Taken out of `root` so that an unshared root shows as uniquely referenced.
        root = nil
        var change = Change()
        if let (separator, right) = Self.insert(&top, key, value, &change) {
            let branch = MapNode(keys: [separator], values: [], children: [top, right])
            change.bytes += Self.nodeCost(branch)
            root = branch
        } else {
            root = top
        }
        bytes += change.bytes
        if change.added { count += 1 }
    }

    /// What one `set` did: whether it added a key, and how the estimate moved.
    private struct Change {
        var added = false
        var bytes = 0
    }

    /// Index of the first key >= `key` in `keys` (sorted), and whether it equals `key`.
    @inline(__always)
    static func lowerBound(_ keys: [Bytes], _ key: Bytes) -> (index: Int, found: Bool) {
        key.withUnsafeBytes { wanted in
            keys.withUnsafeBufferPointer { keys in
                var low = 0
                var high = keys.count
                while low < high {
                    let middle = (low + high) >> 1
                    let c = keys[middle].withUnsafeBytes { compareBytes($0, wanted) }
                    if c < 0 {
                        low = middle + 1
                    } else if c > 0 {
                        high = middle
                    } else {
                        return (middle, true)
                    }
                }
                return (low, false)
            }
        }
    }

    /// The child of a branch whose subtree holds `key`: the number of separators <= `key`.
    @inline(__always)
    static func childIndex(_ separators: [Bytes], _ key: Bytes) -> Int {
        let (index, found) = lowerBound(separators, key)
        return found ? index + 1 : index
    }

    /// Makes `node` one only this map holds: itself when unshared, else a copy.
    private static func makeUnique(_ node: inout MapNode, _ change: inout Change) {
        if isKnownUniquelyReferenced(&node) {
            // Changed in place below: ended snapshots may have read it (see `Snapshot.deinit`).
            parley_memtable_acquire()
        } else {
            let copy = MapNode(copying: node)
            change.bytes += nodeCost(copy) - nodeCost(node)
            node = copy
        }
    }

    /// Sets `key` in the subtree `node`, which the caller has taken out of its parent (so that an
    /// unshared node shows as uniquely referenced here). Returns the right half and its smallest
    /// key when the node had to split.
    private static func insert(_ node: inout MapNode, _ key: Bytes, _ value: MemValue, _ change: inout Change) -> (Bytes, MapNode)? {
        makeUnique(&node, &change)
        if node.isLeaf {
            let (index, found) = lowerBound(node.keys, key)
            if found {
                change.bytes += storageCost(value) - storageCost(node.values[index])
                node.values[index] = value
                return nil
            }
            let before = nodeCost(node)
            makeRoom(&node.keys, upTo: leafCapacity + 1)
            makeRoom(&node.values, upTo: leafCapacity + 1)
            node.keys.insert(key, at: index)
            node.values.insert(value, at: index)
            change.added = true
            change.bytes += storageCost(key) + storageCost(value)
            let split = node.keys.count > leafCapacity ? splitLeaf(node) : nil
            change.bytes += nodeCost(node) - before + (split.map { nodeCost($0.1) } ?? 0)
            return split
        }
        let index = childIndex(node.keys, key)
        guard var child = node.children[index] else { preconditionFailure("a branch lost a child") }
        node.children[index] = nil
        let grown = insert(&child, key, value, &change)
        node.children[index] = child
        guard let (separator, right) = grown else { return nil }
        // Measured only when the node grows: the descent itself changes no array's capacity.
        let before = nodeCost(node)
        makeRoom(&node.keys, upTo: branchCapacity)
        makeRoom(&node.children, upTo: branchCapacity + 1)
        node.keys.insert(separator, at: index)
        node.children.insert(right, at: index + 1)
        let split = node.children.count > branchCapacity ? splitBranch(node) : nil
        change.bytes += nodeCost(node) - before + (split.map { nodeCost($0.1) } ?? 0)
        return split
    }

    /// Room for one more element in a node's array, grown by doubling but never past `limit`
    /// (the most it holds, for a moment, before the node splits): an array left to grow itself
    /// would double to 64 slots for the 33rd entry and keep them through the split.
    @inline(__always)
    private static func makeRoom<Element>(_ array: inout [Element], upTo limit: Int) {
        if array.count == array.capacity { array.reserveCapacity(min(max(4, array.count * 2), limit)) }
    }

    /// Moves the upper half of a full leaf to a new one (room for a full leaf, since it will fill).
    private static func splitLeaf(_ node: MapNode) -> (Bytes, MapNode) {
        let middle = node.keys.count / 2
        var keys: [Bytes] = []
        var values: [MemValue] = []
        keys.reserveCapacity(leafCapacity + 1)
        values.reserveCapacity(leafCapacity + 1)
        keys.append(contentsOf: node.keys[middle...])
        values.append(contentsOf: node.values[middle...])
        node.keys.removeSubrange(middle...)
        node.values.removeSubrange(middle...)
        return (keys[0], MapNode(keys: keys, values: values, children: []))
    }

    /// Moves the upper half of a full branch's children to a new one; the separator between the
    /// halves goes up to the parent.
    private static func splitBranch(_ node: MapNode) -> (Bytes, MapNode) {
        let middle = node.children.count / 2
        let separator = node.keys[middle - 1]
        var keys: [Bytes] = []
        var children: [MapNode?] = []
        keys.reserveCapacity(branchCapacity)
        children.reserveCapacity(branchCapacity + 1)
        keys.append(contentsOf: node.keys[middle...])
        children.append(contentsOf: node.children[middle...])
        node.keys.removeSubrange((middle - 1)...)
        node.children.removeSubrange(middle...)
        return (separator, MapNode(keys: keys, values: [], children: children))
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
