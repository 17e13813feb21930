import XCTest
@testable import ParleyEngine

/// The memtable's byte count drives checkpoints and backpressure, so it must follow what the map
/// really allocates, not just the bytes of its keys and values.
final class MemtableAccountingTests: XCTestCase {
    /// A byte string of `count` bytes built by appending, as encoders build keys, so its capacity
    /// may exceed its count.
    private func appended(_ count: Int, _ random: inout SeededRandom) -> Bytes {
        var bytes = Bytes()
        for _ in 0..<count { bytes.append(UInt8(truncatingIfNeeded: random.next())) }
        return bytes
    }

    private func exact(_ count: Int, _ random: inout SeededRandom) -> Bytes {
        Bytes(unsafeUninitializedCapacity: count) { buffer, initialized in
            for i in 0..<count { buffer[i] = UInt8(truncatingIfNeeded: random.next()) }
            initialized = count
        }
    }

    /// Compares the estimate with the heap's growth over a large deterministic fill: small entries
    /// (where node and array headers dominate), tombstones and replaced values. The old estimate
    /// (keys + values + 48 per entry) came to about half the real figure here.
    func testEstimateTracksTheHeapWithinAQuarter() throws {
        guard let before = Heap.bytesInUse else { throw XCTSkip("the C library gives no heap statistics") }
        var random = SeededRandom(seed: 7)
        var map = PersistentMap()
        for i in 0..<150_000 {
            let keyLength = 8 + Int(random.next() % 33)
            let key = i % 2 == 0 ? appended(keyLength, &random) : exact(keyLength, &random)
            switch random.next() % 10 {
            case 0: map.set(key, .tombstone)
            case 1...6: map.set(key, .put(exact(Int(random.next() % 48), &random)))
            default: map.set(key, .put(appended(Int(random.next() % 200), &random)))
            }
            // Replace some values with larger or smaller ones, and some with tombstones.
            if i % 7 == 0 {
                map.set(key, i % 21 == 0 ? .tombstone : .put(exact(Int(random.next() % 300), &random)))
            }
        }
        let after = try XCTUnwrap(Heap.bytesInUse)
        let grown = after - before
        let estimate = map.bytes
        let ratio = Double(estimate) / Double(grown)
        XCTAssertGreaterThan(grown, 20 << 20, "the fill should allocate tens of MiB")
        XCTAssert((0.8...1.25).contains(ratio), "estimate \(estimate) vs heap growth \(grown): ratio \(ratio)")
        withExtendedLifetime(map) {}
    }
}
