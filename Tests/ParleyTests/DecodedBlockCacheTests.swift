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

    /// The two generations never hold more than the budget, and entries in use survive.
    func testBudgetIsKept() {
        let cache = DecodedBlockCache(capacity: 10_000)
        let message = Message(
            id: MessageID(rawValue: 1), conversation: ConversationID(uncheckedBytes: [UInt8](repeating: 1, count: 16)),
            sender: "a", role: .user, contentType: "text/plain", text: "x", attachments: [], tokens: 1, status: .complete,
            createdAt: Timestamp(microseconds: 1), metadata: nil)
        let hot: [UInt8] = [0xFF]
        cache.remember(hot, [message], cost: 500)
        for i in 0..<1_000 {
            cache.remember([UInt8(truncatingIfNeeded: i), UInt8(truncatingIfNeeded: i >> 8)], [message], cost: 700)
            XCTAssertLessThanOrEqual(cache.heldCost, 10_000)
            XCTAssertNotNil(cache.messages(hot), "a block read all along was evicted at \(i)")
        }
        cache.remember([9, 9, 9], [message], cost: 6_000)
        XCTAssertNil(cache.messages([9, 9, 9]), "a block over half the budget is not kept")
        XCTAssertEqual(DecodedBlockCache(capacity: -5).capacity, 0)
    }

    /// Keys that share a slot never answer for each other, in either generation.
    func testKeysSharingASlotAreToldApart() {
        let cache = DecodedBlockCache(capacity: 10_000, slot: { _ in 7 })
        func message(_ id: UInt64) -> Message {
            Message(
                id: MessageID(rawValue: id), conversation: ConversationID(uncheckedBytes: [UInt8](repeating: 1, count: 16)),
                sender: "a", role: .user, contentType: "text/plain", text: "m\(id)", attachments: [], tokens: 1,
                status: .complete, createdAt: Timestamp(microseconds: Int64(id)), metadata: nil)
        }
        cache.remember([1], [message(1)], cost: 100)
        XCTAssertEqual(cache.messages([1])?.first?.id.rawValue, 1)
        XCTAssertNil(cache.messages([2]), "another key in the same slot")
        // [2] fills the newer generation, so [1] moves to the older one: one key per generation.
        cache.remember([2], [message(2)], cost: 4_950)
        XCTAssertNil(cache.messages([3]))
        XCTAssertEqual(cache.messages([1])?.first?.id.rawValue, 1, "found in the older generation")
        XCTAssertEqual(cache.messages([2])?.first?.id.rawValue, 2, "found in the older generation after the swap")
        // In one generation the newer key replaces the older.
        cache.remember([4], [message(4)], cost: 10)
        XCTAssertNil(cache.messages([2]))
        XCTAssertEqual(cache.messages([4])?.first?.id.rawValue, 4)
    }
}
