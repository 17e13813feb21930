import XCTest
@testable import ParleyEngine

/// What makes a `PersistentMap` a B+tree: every leaf at one depth, keys strictly increasing, each
/// branch's separators bounding its children's keys, no node over capacity and none empty, and
/// the count and byte estimate matching the nodes. Returns the first violation found.
enum PersistentMapShape {
    static func violation(_ map: PersistentMap) -> String? {
        guard let root = map.root else { return map.count == 0 ? nil : "an empty map counts \(map.count) entries" }
        var leafDepth: Int?
        var entries = 0
        var bytes = 0
        var previous: Bytes?
        func visit(_ node: MapNode, depth: Int, low: Bytes?, high: Bytes?) -> String? {
            bytes += PersistentMap.nodeCost(node)
            if node.isLeaf {
                if let leafDepth, leafDepth != depth { return "leaves at depths \(leafDepth) and \(depth)" }
                leafDepth = depth
                guard !node.keys.isEmpty, node.keys.count <= PersistentMap.leafCapacity else { return "a leaf of \(node.keys.count) keys" }
                // Room for the entry that splits it and what malloc adds (a free chunk a little
                // larger than asked for is handed out whole), not the 64 slots of free doubling.
                guard node.keys.capacity <= PersistentMap.leafCapacity + 8, node.values.capacity <= PersistentMap.leafCapacity + 8 else {
                    return "a leaf with room for \(node.keys.capacity) keys and \(node.values.capacity) values"
                }
                guard node.values.count == node.keys.count else { return "a leaf with \(node.keys.count) keys and \(node.values.count) values" }
                for (key, value) in zip(node.keys, node.values) {
                    if let previous, compareBytes(previous, key) >= 0 { return "keys out of order" }
                    if let low, compareBytes(key, low) < 0 { return "a key below its separator" }
                    if let high, compareBytes(key, high) >= 0 { return "a key at or above the next separator" }
                    previous = key
                    entries += 1
                    bytes += PersistentMap.storageCost(key) + PersistentMap.storageCost(value)
                }
                return nil
            }
            guard node.children.count >= 2, node.children.count <= PersistentMap.branchCapacity else { return "a branch of \(node.children.count) children" }
            guard node.keys.count == node.children.count - 1, node.values.isEmpty else { return "a branch's separators do not fit its children" }
            guard node.children.capacity <= PersistentMap.branchCapacity + 8 else { return "a branch with room for \(node.children.capacity) children" }
            for (i, child) in node.children.enumerated() {
                guard let child else { return "a branch holds no child at \(i)" }
                let childLow = i == 0 ? low : node.keys[i - 1]
                let childHigh = i == node.keys.count ? high : node.keys[i]
                if let problem = visit(child, depth: depth + 1, low: childLow, high: childHigh) { return problem }
            }
            return nil
        }
        if let problem = visit(root, depth: 0, low: nil, high: nil) { return problem }
        if entries != map.count { return "\(entries) entries, counted \(map.count)" }
        if bytes != map.bytes { return "nodes and entries cost \(bytes) bytes, estimated \(map.bytes)" }
        return nil
    }
}

/// The map and its iterator against a plain sorted model: sets in random order (new keys and
/// replacements), maps built from sorted entries, and seeks and walks in both directions.
final class PersistentMapModelTests: XCTestCase {
    private func randomKey(_ random: inout SeededRandom, space: UInt64) -> Bytes {
        // Varying lengths, so that prefixes of other keys occur and compare below them.
        let n = random.next() % space
        var key: Bytes = [UInt8(truncatingIfNeeded: n >> 8), UInt8(truncatingIfNeeded: n)]
        if n % 3 == 0 { key.removeLast() }
        if n % 5 == 0 { key.append(UInt8(truncatingIfNeeded: n >> 4)) }
        return key
    }

    /// The model's sorted keys, and the index of the first key >= `key` in them.
    private func lowerBound(_ sorted: [Bytes], _ key: Bytes) -> Int {
        sorted.firstIndex { compareBytes($0, key) >= 0 } ?? sorted.count
    }

    /// Seeks from random keys both ways, then walks a few steps each way, comparing every position.
    private func checkWalks(_ map: PersistentMap, _ model: [Bytes: MemValue], _ random: inout SeededRandom, space: UInt64, context: String) {
        let sorted = model.keys.sorted { compareBytes($0, $1) < 0 }
        var iterator = MapIterator(map)
        for _ in 0..<60 {
            let key = randomKey(&random, space: space + 4)
            var position: Int
            let forward = random.next() % 2 == 0
            if random.next() % 10 == 0 {
                if forward { iterator.seek(atOrAfter: nil) } else { iterator.seek(atOrBefore: nil) }
                position = forward ? 0 : sorted.count - 1
            } else if forward {
                iterator.seek(atOrAfter: key)
                position = lowerBound(sorted, key)
            } else {
                iterator.seek(atOrBefore: key)
                let at = lowerBound(sorted, key)
                position = at < sorted.count && sorted[at] == key ? at : at - 1
            }
            for _ in 0..<Int(random.next() % 80) {
                if position < 0 || position >= sorted.count {
                    XCTAssertNil(iterator.current, "\(context): past the end")
                    break
                }
                guard let (key, value) = iterator.current else {
                    XCTFail("\(context): no entry where the model has \(sorted[position])")
                    break
                }
                XCTAssertEqual(key, sorted[position], context)
                XCTAssertEqual(value, model[key], context)
                // Turning around mid-walk, as a merged cursor's sources never do but a map may.
                if random.next() % 2 == 0 {
                    iterator.next()
                    position += 1
                } else {
                    iterator.previous()
                    position -= 1
                }
            }
        }
    }

    func testSetsAndWalksMatchASortedModel() {
        for seed in UInt64(1)...12 {
            var random = SeededRandom(seed: seed)
            // Key spaces from a few leaves to three levels of branches.
            let space: UInt64 = [40, 600, 6_000, 40_000][Int(seed % 4)]
            var map = PersistentMap()
            var model: [Bytes: MemValue] = [:]
            let steps = Int(space) * 2
            for step in 0..<steps {
                let key = randomKey(&random, space: space)
                let value: MemValue = random.next() % 6 == 0 ? .tombstone : .put(random.bytes(Int(random.next() % 9)))
                map.set(key, value)
                model[key] = value
                XCTAssertEqual(map.get(key), value)
                if step % (steps / 4) == 0 || step == steps - 1 {
                    XCTAssertNil(PersistentMapShape.violation(map), "seed \(seed) step \(step)")
                    checkWalks(map, model, &random, space: space, context: "seed \(seed) step \(step)")
                }
            }
            XCTAssertEqual(map.count, model.count)
            for _ in 0..<500 {
                let key = randomKey(&random, space: space + 4)
                XCTAssertEqual(map.get(key), model[key], "seed \(seed)")
            }
        }
    }

    func testABuiltMapMatchesItsEntriesAndTakesMoreSets() {
        for (seed, count) in [(UInt64(1), 0), (2, 1), (3, 31), (4, 32), (5, 33), (6, 1_025), (7, 33_000)] {
            var random = SeededRandom(seed: seed)
            var model: [Bytes: MemValue] = [:]
            while model.count < count { model[randomKey(&random, space: 70_000)] = .put(random.bytes(Int(random.next() % 5))) }
            let sorted = model.sorted { compareBytes($0.key, $1.key) < 0 }
            var map = PersistentMap(sortedCount: sorted.count) { sorted[$0] }
            XCTAssertNil(PersistentMapShape.violation(map), "built from \(count)")
            checkWalks(map, model, &random, space: 70_000, context: "built from \(count)")
            for _ in 0..<(count / 2 + 40) {
                let key = randomKey(&random, space: 70_000)
                map.set(key, .tombstone)
                model[key] = .tombstone
            }
            XCTAssertNil(PersistentMapShape.violation(map), "built from \(count), then set")
            checkWalks(map, model, &random, space: 70_000, context: "built from \(count), then set")
        }
    }

    /// Keys added in increasing order (as a conversation's messages are) split only the last leaf.
    func testIncreasingKeysKeepTheShape() {
        var map = PersistentMap()
        for i in 0..<20_000 {
            let key: Bytes = [UInt8(i >> 16), UInt8(truncatingIfNeeded: i >> 8), UInt8(truncatingIfNeeded: i)]
            map.set(key, .put([1]))
        }
        XCTAssertNil(PersistentMapShape.violation(map))
        var iterator = MapIterator(map)
        iterator.seek(atOrBefore: nil)
        var seen = 0
        while iterator.current != nil {
            seen += 1
            iterator.previous()
        }
        XCTAssertEqual(seen, 20_000)
    }

    /// How many levels the map has (0 when empty).
    private func depth(_ map: PersistentMap) -> Int {
        var levels = 0
        var node = map.root
        while let current = node {
            levels += 1
            node = current.children.first ?? nil
        }
        return levels
    }

    private func scrambledKey(_ n: Int) -> Bytes {
        // A permutation of 0..<12,000 (7,919 is prime to 12,000), so splits happen all over the map.
        let k = n * 7_919 % 12_000
        return [UInt8(k >> 8), UInt8(truncatingIfNeeded: k)]
    }

    /// A copy taken before each set keeps its shape, byte estimate, count and contents through the
    /// set, checked at every split of the root (two and three levels) and every 97th set.
    func testCopiesKeepTheirVersionThroughSplitsAtEveryLevel() {
        var map = PersistentMap()
        var splitsOfTheRoot = 0
        for n in 0..<12_000 {
            let key = scrambledKey(n)
            let copy = map
            let levels = depth(map)
            map.set(key, .put(key))
            let rootSplit = depth(map) != levels
            if rootSplit { splitsOfTheRoot += 1 }
            if rootSplit || n % 97 == 0 {
                XCTAssertNil(PersistentMapShape.violation(copy), "copy before set \(n)")
                XCTAssertEqual(copy.count, n)
                XCTAssertNil(copy.get(key), "the copy sees set \(n)")
                if n > 0 { XCTAssertEqual(copy.get(scrambledKey(n - 1)), .put(scrambledKey(n - 1))) }
                XCTAssertNil(PersistentMapShape.violation(map), "map after set \(n)")
            }
        }
        XCTAssertEqual(depth(map), 3)
        XCTAssertEqual(splitsOfTheRoot, 3, "a leaf root, then two and three levels")
    }

    /// Weak references to every node on a key's path, three levels deep.
    private final class WeakNode {
        weak var node: MapNode?
        init(_ node: MapNode) { self.node = node }
    }

    private func path(to key: Bytes, in map: PersistentMap) -> [WeakNode] {
        var nodes: [WeakNode] = []
        var node = map.root
        while let current = node {
            nodes.append(WeakNode(current))
            node = current.isLeaf ? nil : current.children[PersistentMap.childIndex(current.keys, key)]
        }
        return nodes
    }

    /// With no copy alive, a set changes the nodes on its path in place, at every level: a
    /// replaced value, and a new key in a leaf with room for it.
    func testAnUnsharedMapChangesItsPathInPlace() {
        var map = PersistentMap()
        for n in stride(from: 0, to: 12_000, by: 2) { map.set(scrambledKey(n), .put([1])) }
        XCTAssertEqual(depth(map), 3)
        // A new key whose leaf has room for it (a split would move it to a new leaf).
        let roomy = stride(from: 501, to: 12_000, by: 2).map(scrambledKey).first { key in
            (path(to: key, in: map).last?.node?.keys.count ?? .max) < PersistentMap.leafCapacity
        }
        guard let roomy else { return XCTFail("no leaf with room") }
        for key in [scrambledKey(500), roomy] {
            let before = path(to: key, in: map)
            map.set(key, .put([2]))
            let after = path(to: key, in: map)
            XCTAssertEqual(before.count, 3)
            for (old, new) in zip(before, after) {
                XCTAssertNotNil(old.node, "a node on the path was replaced by a copy")
                XCTAssertTrue(old.node === new.node)
            }
        }
        XCTAssertNil(PersistentMapShape.violation(map))
    }

    /// An iterator positioned before thousands of new keys split every level walks its own version,
    /// forwards to the end and back.
    func testAnIteratorHeldThroughSplitsWalksItsVersion() {
        var map = PersistentMap()
        for n in stride(from: 0, to: 12_000, by: 3) { map.set(scrambledKey(n), .put([0])) }
        let kept = map.entries()
        var iterator = MapIterator(map)
        iterator.seek(atOrAfter: kept[100].0)
        for n in 0..<12_000 where n % 3 != 0 { map.set(scrambledKey(n), .put([1])) }
        for n in stride(from: 0, to: 12_000, by: 3) { map.set(scrambledKey(n), .tombstone) }
        var forward: [Bytes] = []
        while let (key, value) = iterator.current {
            XCTAssertEqual(value, .put([0]))
            forward.append(key)
            iterator.next()
        }
        XCTAssertEqual(forward, kept[100...].map(\.0))
        iterator.seek(atOrBefore: nil)
        var backward = 0
        while iterator.current != nil {
            backward += 1
            iterator.previous()
        }
        XCTAssertEqual(backward, kept.count)
        XCTAssertEqual(map.count, 12_000)
    }
}
