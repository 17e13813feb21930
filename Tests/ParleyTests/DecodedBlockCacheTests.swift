import XCTest
@testable import Parley
import ParleyEngine

/// The decoded-block cache: readers of a busy conversation skip decoding, a rewritten block is
/// never served from the cache, and memory stays within the budget.
final class DecodedBlockCacheTests: XCTestCase {
    private let clock = ManualClock()

    private func open(_ directory: String, cacheBytes: Int) throws -> Database {
        var options = testOptions(clock: clock, blockTarget: 1024)
        options.decodedBlockCacheBytes = cacheBytes
        return try Database.open(path: directory + "/chat.parley", options: options)
    }

    func testRepeatedReadsHitAndRewrittenBlocksMiss() throws {
        let db = try open(try makeTemporaryDirectory(self), cacheBytes: 1 << 20)
        let id = try db.write { chat -> ConversationID in
            try chat.upsertUser("a")
            return try chat.createConversation(NewConversation(participants: ["a"]))
        }
        for i in 0..<60 {
            clock.tick()
            try db.append(NewMessage(sender: "a", text: "message \(i) with some words in it"), to: id)
        }
        try db.checkpoint()
        let cache = db.store.decodedBlocks
        let first = try db.messages(in: id, .newest(50))
        let afterFirst = cache.statistics
        XCTAssertGreaterThan(afterFirst.misses, 0)
        XCTAssertEqual(try db.messages(in: id, .newest(50)), first)
        let afterSecond = cache.statistics
        XCTAssertEqual(afterSecond.misses, afterFirst.misses, "the second read decoded a block again")
        XCTAssertGreaterThan(afterSecond.hits, afterFirst.hits)
        // Sealing rewrites the open tail block (same key, new header): the cache must not answer
        // with the old one.
        for i in 60..<65 {
            clock.tick()
            try db.append(NewMessage(sender: "a", text: "later \(i)"), to: id)
        }
        try db.checkpoint()
        let newest = try db.messages(in: id, .newest(5))
        XCTAssertEqual(newest.map(\.text), (60..<65).reversed().map { "later \($0)" })
        // A purge rewrites the boundary block; reads after it agree with a cacheless store.
        clock.advance(seconds: 3 * 86_400)
        try db.append(NewMessage(sender: "a", text: "after the gap"), to: id)
        try db.checkpoint()
        _ = try db.messages(in: id, .oldest(100))
        XCTAssertGreaterThan(try db.purgeMessages(olderThanDays: 1), 0)
        XCTAssertEqual(try db.messages(in: id, .oldest(100)).map(\.text), ["after the gap"])
        XCTAssertEqual(try db.checkIntegrity().problems, [])
        try db.close()
    }

    func testDisabledCacheDecodesEveryTime() throws {
        let db = try open(try makeTemporaryDirectory(self), cacheBytes: 0)
        let id = try db.write { chat -> ConversationID in
            try chat.upsertUser("a")
            return try chat.createConversation(NewConversation(participants: ["a"]))
        }
        for i in 0..<40 { try db.append(NewMessage(sender: "a", text: "m\(i)"), to: id) }
        try db.checkpoint()
        _ = try db.messages(in: id, .newest(10))
        _ = try db.messages(in: id, .newest(10))
        XCTAssertEqual(db.store.decodedBlocks.statistics.hits, 0)
        XCTAssertEqual(db.store.decodedBlocks.heldCost, 0)
        try db.close()
    }

    private func message(_ id: UInt64) -> Message {
        Message(
            id: MessageID(rawValue: id), conversation: ConversationID(uncheckedBytes: [UInt8](repeating: 1, count: 16)),
            sender: "a", role: .user, contentType: "text/plain", text: "m\(id)", attachments: [], tokens: 1,
            status: .complete, createdAt: Timestamp(microseconds: Int64(id)), metadata: nil)
    }

    /// The cache never holds more than the budget, and an entry read all along survives.
    func testBudgetIsKept() {
        let cache = DecodedBlockCache(capacity: 10_000)
        let hot: [UInt8] = [0xFF]
        cache.remember(hot, [message(1)], cost: 500)
        for i in 0..<1_000 {
            // Twice: once the cache is full, a block is let in on its second miss.
            for _ in 0..<2 {
                cache.remember([UInt8(truncatingIfNeeded: i), UInt8(truncatingIfNeeded: i >> 8)], [message(1)], cost: 700)
            }
            XCTAssertLessThanOrEqual(cache.heldCost, 10_000)
            XCTAssertNotNil(cache.messages(hot), "a block read all along was evicted at \(i)")
        }
        cache.remember([9, 9, 9], [message(1)], cost: 6_000)
        XCTAssertNil(cache.messages([9, 9, 9]), "a block over half the budget is not kept")
        XCTAssertEqual(DecodedBlockCache(capacity: -5).capacity, 0)
    }

    /// Eviction frees about what an insertion adds: the cache stays near its budget rather than
    /// emptying half of it at once.
    func testEvictionIsGradual() {
        let cache = DecodedBlockCache(capacity: 100_000)
        for i in 0..<2_000 {
            let before = cache.count
            for _ in 0..<2 {
                cache.remember([UInt8(truncatingIfNeeded: i), UInt8(truncatingIfNeeded: i >> 8)], [message(UInt64(i))], cost: 1_000)
            }
            XCTAssertGreaterThanOrEqual(cache.count, before - 1, "one insertion evicted more than it needed at \(i)")
            if i >= 100 { XCTAssertEqual(cache.heldCost, 100_000, "the cache is full once warm") }
        }
    }

    /// Once the cache is full, blocks read once (a long scan) are turned away and the blocks read
    /// all along stay; a block missed again soon after it was turned away is let in.
    func testAScanDoesNotPushOutTheBlocksReadAgain() {
        let cache = DecodedBlockCache(capacity: 10_000)
        let hot = (0..<10).map { [UInt8(200), UInt8(200), UInt8($0)] }
        for key in hot { cache.remember(key, [message(1)], cost: 1_000) }
        XCTAssertEqual(cache.heldCost, 10_000)
        for i in 0..<500 {
            cache.remember([UInt8(truncatingIfNeeded: i), UInt8(truncatingIfNeeded: i >> 8)], [message(2)], cost: 1_000)
            XCTAssertNil(cache.messages([UInt8(truncatingIfNeeded: i), UInt8(truncatingIfNeeded: i >> 8)]))
        }
        XCTAssertEqual(cache.turnedAwayCount, 500)
        for key in hot { XCTAssertNotNil(cache.messages(key), "a block read before the scan was pushed out") }
        // Missed twice in a row: let in, in place of one of the others.
        cache.remember([7, 7, 7], [message(3)], cost: 1_000)
        XCTAssertNil(cache.messages([7, 7, 7]))
        cache.remember([7, 7, 7], [message(3)], cost: 1_000)
        XCTAssertEqual(cache.messages([7, 7, 7])?.first?.id.rawValue, 3)
        XCTAssertEqual(cache.heldCost, 10_000)
        XCTAssertEqual(cache.turnedAwayCount, 501)
    }

    /// Keys that share a slot never answer for each other; the newer replaces the older.
    func testKeysSharingASlotAreToldApart() {
        let cache = DecodedBlockCache(capacity: 10_000, slot: { _ in 7 })
        cache.remember([1], [message(1)], cost: 100)
        XCTAssertEqual(cache.messages([1])?.first?.id.rawValue, 1)
        XCTAssertNil(cache.messages([2]), "another key in the same slot")
        cache.remember([2], [message(2)], cost: 4_950)
        XCTAssertNil(cache.messages([1]), "replaced by the newer key in its slot")
        XCTAssertEqual(cache.messages([2])?.first?.id.rawValue, 2)
        XCTAssertEqual(cache.heldCost, 4_950, "the replaced entry's cost is given back")
        XCTAssertEqual(cache.count, 1)
    }

    /// Random lookups and insertions against a plain model of a second-chance clock (an array in
    /// queue order with marks) that lets a block in when full only on a recent second miss (turns
    /// counted, not a ring): the same answers, the same contents, the budget kept, and every
    /// answer the messages last remembered under that key. Keys collide in a few slots now and
    /// then (the slot is the key's first byte).
    func testAgainstAClockModel() {
        struct ModelEntry {
            var slot: UInt64
            var key: [UInt8]
            var id: UInt64
            var cost: Int
            var marked: Bool
        }
        for seed in 0..<40 {
            var random = SplitMix64(seed: UInt64(seed))
            let capacity = 2_000 + Int(random.next() % 20_000)
            let ghostLimit = 1 + seed % 6
            let cache = DecodedBlockCache(capacity: capacity, ghostLimit: ghostLimit, slot: { UInt64($0.first ?? 0) })
            var model: [ModelEntry] = []
            var held = 0
            // The admission rule, by turn number: a slot is a ghost while its latest turning away
            // is among the last `ghostLimit` and it has not been let in since.
            var turnedAway = 0
            var ghostTurn: [UInt64: Int] = [:]
            /// The clock: marked entries lose their mark and go to the back, unmarked ones go.
            func sweep(until budget: Int) {
                while held > budget, !model.isEmpty {
                    var front = model.removeFirst()
                    if front.marked {
                        front.marked = false
                        model.append(front)
                    } else {
                        held -= front.cost
                    }
                }
            }
            var hits = 0
            var misses = 0
            for step in 0..<3_000 {
                let key: [UInt8] = [UInt8(random.next() % 32), UInt8(random.next() % 2)]
                if random.next() % 2 == 0 {
                    let found = cache.messages(key)
                    if let index = model.firstIndex(where: { $0.slot == UInt64(key[0]) }), model[index].key == key {
                        model[index].marked = true
                        hits += 1
                        XCTAssertEqual(found?.first?.id.rawValue, model[index].id, "seed \(seed) step \(step)")
                    } else {
                        misses += 1
                        XCTAssertNil(found, "seed \(seed) step \(step): a key the model does not hold was served")
                    }
                } else {
                    // Now and then one over half the budget, which is not kept.
                    let largest = random.next() % 20 == 0 ? capacity : capacity / 10
                    let cost = 1 + Int(random.next() % UInt64(largest))
                    let id = UInt64(step)
                    cache.remember(key, [message(id)], cost: cost)
                    guard cost <= capacity / 2 else { continue }
                    let slot = UInt64(key[0])
                    if held + cost > capacity, !model.contains(where: { $0.slot == slot }) {
                        if let turn = ghostTurn.removeValue(forKey: slot), turn >= turnedAway - ghostLimit {
                            // A ghost: let in.
                        } else {
                            ghostTurn[slot] = turnedAway
                            turnedAway += 1
                            continue
                        }
                    }
                    let entry = ModelEntry(slot: slot, key: key, id: id, cost: cost, marked: false)
                    if let index = model.firstIndex(where: { $0.slot == entry.slot }) {
                        held += cost - model[index].cost
                        model[index] = entry
                    } else {
                        // Room first, then the new entry at the back.
                        sweep(until: capacity - cost)
                        model.append(entry)
                        held += cost
                    }
                    sweep(until: capacity)
                }
                XCTAssertLessThanOrEqual(cache.heldCost, capacity)
                XCTAssertEqual(cache.heldCost, held, "seed \(seed) step \(step)")
                XCTAssertEqual(cache.count, model.count, "seed \(seed) step \(step)")
            }
            let statistics = cache.statistics
            XCTAssertEqual(cache.turnedAwayCount, turnedAway, "seed \(seed)")
            XCTAssertGreaterThan(turnedAway, 100, "seed \(seed): the rounds must turn blocks away")
            XCTAssertEqual(statistics.hits, hits)
            XCTAssertEqual(statistics.misses, misses)
            XCTAssertGreaterThan(hits, 100, "seed \(seed): the rounds must exercise hits")
        }
    }
}
