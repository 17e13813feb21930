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
}
