import XCTest
@testable import ParleyEngine

/// The memtable's map changes unshared nodes in place and copies shared ones: every copy taken at
/// any moment (a reader's snapshot) must keep its contents while the original goes on changing.
final class PersistentMapSnapshotTests: XCTestCase {
    private func contents(_ map: PersistentMap) -> [(Bytes, MemValue)] { map.entries() }

    private func expected(_ model: [Bytes: MemValue]) -> [(Bytes, MemValue)] {
        model.sorted { compareBytes($0.key, $1.key) < 0 }.map { ($0.key, $0.value) }
    }

    private func assertEqual(_ map: PersistentMap, _ model: [Bytes: MemValue], _ context: String) {
        let got = contents(map)
        let want = expected(model)
        XCTAssertEqual(got.count, want.count, context)
        XCTAssertEqual(map.count, model.count, context)
        for (g, w) in zip(got, want) {
            XCTAssertEqual(g.0, w.0, context)
            XCTAssertEqual(g.1, w.1, context)
        }
    }

    /// The B+tree's shape, checked on the live map: see `PersistentMapShape`.
    private func checkBalanced(_ map: PersistentMap) {
        XCTAssertNil(PersistentMapShape.violation(map))
    }

    func testSnapshotsKeepTheirContentsWhileTheMapChanges() {
        for seed in UInt64(1)...6 {
            var random = SeededRandom(seed: seed)
            var map = PersistentMap()
            var model: [Bytes: MemValue] = [:]
            var snapshots: [(PersistentMap, [Bytes: MemValue])] = []
            for step in 0..<3_000 {
                // Small key space: many replacements, and splits at every level.
                let key: Bytes = [UInt8(random.next() % 40), UInt8(random.next() % 40)]
                let value: MemValue = random.next() % 5 == 0 ? .tombstone : .put(random.bytes(Int(random.next() % 6)))
                map.set(key, value)
                model[key] = value
                if random.next() % 50 == 0 { snapshots.append((map, model)) }
                if random.next() % 200 == 0, !snapshots.isEmpty {
                    // Readers finish: dropping a snapshot lets later sets change nodes in place again.
                    snapshots.remove(at: Int(random.next() % UInt64(snapshots.count)))
                }
                if step % 500 == 0 { checkBalanced(map) }
            }
            assertEqual(map, model, "seed \(seed): live map")
            checkBalanced(map)
            for (i, (snapshot, snapshotModel)) in snapshots.enumerated() {
                assertEqual(snapshot, snapshotModel, "seed \(seed): snapshot \(i)")
            }
        }
    }

    func testIteratorHeldDuringChangesSeesItsVersion() {
        var map = PersistentMap()
        for i in 0..<200 { map.set([UInt8(i)], .put([UInt8(i)])) }
        var iterator = MapIterator(map)
        iterator.seek(atOrAfter: nil)
        for i in 0..<200 { map.set([UInt8(i)], .put([0xFF])) }
        var seen = 0
        while let (key, value) = iterator.current {
            XCTAssertEqual(value, .put(key))
            seen += 1
            iterator.next()
        }
        XCTAssertEqual(seen, 200)
    }
}
