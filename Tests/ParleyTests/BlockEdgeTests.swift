import XCTest
@testable import Parley

/// Message blocks at their edges: sizes, equal and out-of-order timestamps, purge boundaries.
final class BlockEdgeTests: XCTestCase {
    private let clock = ManualClock()

    private func open(_ directory: String, blockTarget: Int = 2048) throws -> Database {
        try Database.open(path: directory + "/chat.parley", options: testOptions(clock: clock, blockTarget: blockTarget))
    }

    private func makeConversation(_ db: Database, participants: [String] = ["a", "b"]) throws -> ConversationID {
        try db.write { chat in
            for handle in participants { try chat.upsertUser(handle) }
            return try chat.createConversation(NewConversation(participants: participants))
        }
    }

    private func headers(_ db: Database, _ id: ConversationID) throws -> [BlockHeader] {
        try db.engine.read { snapshot in
            try snapshot.entries(Tree.blocks, prefix: id.bytes).map { try BlockHeader(decoding: $0.value, conversation: id) }
        }
    }

    private func bodies(_ db: Database, _ id: ConversationID) throws -> [[UInt8]: [UInt8]] {
        try db.engine.read { snapshot in
            var out: [[UInt8]: [UInt8]] = [:]
            for entry in try snapshot.entries(Tree.blockData, prefix: id.bytes) { out[entry.key] = entry.value }
            return out
        }
    }

    private func pendingCount(_ db: Database) throws -> UInt64 { try db.engine.read { try $0.count(Tree.pending) } }

    func testOneMessageConversation() throws {
        let db = try open(try makeTemporaryDirectory(self))
        let id = try makeConversation(db)
        let message = try db.append(NewMessage(sender: "a", text: "only"), to: id)
        try db.checkpoint()
        // Sealed at once, the newest too (the inbox reads it from the record's copy).
        XCTAssertEqual(try pendingCount(db), 0)
        var blocks = try headers(db, id)
        XCTAssertEqual(blocks.count, 1)
        XCTAssertEqual(blocks.first?.count, 1)
        XCTAssertEqual(blocks.first?.full, false)
        XCTAssertEqual(try db.messages(in: id), [message])
        XCTAssertEqual(try db.message(message.id), message)
        XCTAssertEqual(try db.read { try $0.messages(in: id, indices: 0..<5) }, [message])
        XCTAssertEqual(try db.inbox(of: "a").first?.lastMessage, message)
        // A newer one joins the conversation's one open block.
        clock.tick()
        let second = try db.append(NewMessage(sender: "a", text: "second"), to: id)
        try db.checkpoint()
        XCTAssertEqual(try pendingCount(db), 0)
        blocks = try headers(db, id)
        XCTAssertEqual(blocks.count, 1)
        XCTAssertEqual(blocks.first?.count, 2)
        XCTAssertEqual(try db.messages(in: id, .oldest(10)), [message, second])
        XCTAssertEqual(try db.read { try $0.messages(in: id, indices: 1..<5) }, [second])
        XCTAssertEqual(try db.inbox(of: "a").first?.lastMessage, second)
        try db.close()
    }

    func testExactlyOneBlockThenAppendsNeverRewriteIt() throws {
        let db = try open(try makeTemporaryDirectory(self), blockTarget: 1024)
        let id = try makeConversation(db)
        // Each message costs text + sender + 16 = 64 bytes: 16 of them are exactly the target.
        let text = String(repeating: "x", count: 47)
        for _ in 0..<16 {
            clock.tick()
            try db.append(NewMessage(sender: "a", text: text), to: id)
        }
        try db.checkpoint()
        var blocks = try headers(db, id)
        XCTAssertEqual(blocks.count, 1)
        XCTAssertEqual(blocks.first?.count, 16)
        XCTAssertEqual(blocks.first?.full, true)
        let sealed = try bodies(db, id)

        // Appends after a full block start new blocks and leave the full one's bytes alone.
        for round in 0..<5 {
            for i in 0..<7 {
                clock.tick()
                try db.append(NewMessage(sender: "b", text: "round \(round) message \(i)"), to: id)
            }
            try db.checkpoint()
            let now = try bodies(db, id)
            for (key, body) in sealed { XCTAssertEqual(now[key], body, "a full block was rewritten") }
        }
        blocks = try headers(db, id)
        XCTAssertGreaterThan(blocks.count, 1)
        XCTAssertEqual(blocks.map(\.count).reduce(0, +), 16 + 35)
        XCTAssertEqual(try pendingCount(db), 0)
        XCTAssertEqual(try db.messages(in: id, .oldest(100)).count, 51)
        try db.close()
    }

    func testEqualTimestampsAndOutOfOrderInsertsReadInOrder() throws {
        let db = try open(try makeTemporaryDirectory(self), blockTarget: 1024)
        let id = try makeConversation(db)
        var rng = SystemRandomNumberGenerator()
        var expected: [MessagePosition] = []
        for round in 0..<12 {
            var batch: [NewMessage] = []
            for i in 0..<40 {
                // A few distinct times, many equal; some far in the past.
                let at = Int64.random(in: 0..<8, using: &rng) * 1_000_000 + (round % 3 == 2 ? -50_000_000 : 0)
                batch.append(
                    NewMessage(sender: i % 2 == 0 ? "a" : "b", text: "r\(round) i\(i)", createdAt: Timestamp(microseconds: 1_000_000_000 + at)))
            }
            expected += try db.append(contentsOf: batch, to: id).map(\.position)
            if round % 2 == 1 { try db.checkpoint() }
            let sorted = expected.sorted()
            XCTAssertEqual(try db.messages(in: id, .oldest(10_000)).map(\.position), sorted)
            XCTAssertEqual(try db.messages(in: id, .newest(10_000)).map(\.position), sorted.reversed())
            XCTAssertEqual(
                try db.read { try $0.messages(in: id, indices: 17..<60) }.map(\.position), Array(sorted[17..<min(60, sorted.count)]))
        }
        try db.checkpoint()
        // Blocks never overlap and hold their messages in order.
        let blocks = try headers(db, id)
        for (left, right) in zip(blocks, blocks.dropFirst()) { XCTAssertLessThan(left.last, right.first) }
        XCTAssertEqual(blocks.map(\.count).reduce(0, +), expected.count)
        XCTAssertEqual(try pendingCount(db), 0)
        try db.close()
    }

    func testPurgeBoundaryInsideABlock() throws {
        let db = try open(try makeTemporaryDirectory(self), blockTarget: 4096)
        let id = try makeConversation(db)
        let base = clock.now
        var batch: [NewMessage] = []
        for i in 0..<100 {
            batch.append(NewMessage(sender: "a", text: "day \(i)", createdAt: base.adding(seconds: Double(i) * 3600)))
        }
        let stored = try db.append(contentsOf: batch, to: id)
        try db.checkpoint()
        XCTAssertEqual(try headers(db, id).count, 1, "one block holds all hundred")
        // Now is 100 hours after base: purge what is older than 2 days (hours 0..<52).
        clock.advance(seconds: 100 * 3600)
        let purged = try db.purgeMessages(olderThanDays: 2)
        XCTAssertEqual(purged, 52)
        let left = try db.messages(in: id, .oldest(1000))
        XCTAssertEqual(left.map(\.id), stored[52...].map(\.id))
        XCTAssertNil(try db.message(stored[0].id))
        XCTAssertEqual(try db.conversation(id)?.messageCount, 48)
        let blocks = try headers(db, id)
        XCTAssertEqual(blocks.count, 1)
        XCTAssertEqual(blocks.first?.first, stored[52].position)
        try db.close()
    }

    func testEmptyMessages() throws {
        let directory = try makeTemporaryDirectory(self)
        var db = try open(directory)
        let id = try makeConversation(db)
        let empty = try db.append(NewMessage(sender: "a", text: ""), to: id)
        XCTAssertEqual(empty.tokens, 0)
        try db.append(NewMessage(sender: "b", text: "after"), to: id)
        try db.close()
        db = try open(directory)
        XCTAssertEqual(try db.messages(in: id, .oldest(5)).map(\.text), ["", "after"])
        XCTAssertEqual(try db.message(empty.id), empty)
        try db.close()
    }

    func testHundredThousandMessages() throws {
        let directory = try makeTemporaryDirectory(self)
        var db = try open(directory, blockTarget: 32 << 10)
        let id = try makeConversation(db)
        let total = 100_000
        var first: [Message] = []
        var last: [Message] = []
        for chunk in 0..<(total / 2000) {
            let batch = (0..<2000).map { i -> NewMessage in
                let n = chunk * 2000 + i
                return NewMessage(sender: n % 3 == 0 ? "b" : "a", text: "message number \(n)", createdAt: Timestamp(microseconds: Int64(n)))
            }
            let stored = try db.append(contentsOf: batch, to: id)
            if chunk == 0 { first = Array(stored.prefix(10)) }
            last = Array(stored.suffix(10))
            if chunk % 10 == 9 { try db.checkpoint() }
        }
        try db.close()
        db = try open(directory, blockTarget: 32 << 10)
        XCTAssertEqual(try db.read { try $0.messageCount(in: id) }, total)
        XCTAssertEqual(try db.messages(in: id, .newest(10)), last.reversed())
        XCTAssertEqual(try db.messages(in: id, .oldest(10)), first)
        let middle = try db.read { try $0.messages(in: id, indices: 54_321..<54_331) }
        XCTAssertEqual(middle.map(\.text), (54_321..<54_331).map { "message number \($0)" })
        let page = try db.messages(in: id, MessageQuery(order: .newestFirst, limit: 5, before: middle[0].position))
        XCTAssertEqual(page.map(\.text), (54_316..<54_321).reversed().map { "message number \($0)" })
        let range = try db.messages(
            in: id, MessageQuery(order: .oldestFirst, timeRange: Timestamp(microseconds: 99_990)..<Timestamp(microseconds: 99_995)))
        XCTAssertEqual(range.count, 5)
        let blocks = try headers(db, id)
        XCTAssertGreaterThan(blocks.count, 10)
        XCTAssertEqual(blocks.map(\.count).reduce(0, +), total)
        let stats = try db.stats()
        XCTAssertGreaterThan(stats.compressionRatio, 1.5)
        try db.close()
    }
}
