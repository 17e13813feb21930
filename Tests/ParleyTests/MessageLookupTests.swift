import XCTest
@testable import Parley

/// Every message is found by its id and as its conversation's newest, whatever mix of blocks and
/// pending messages holds it.
final class MessageLookupTests: XCTestCase {
    func testEveryMessageIsFoundAfterOutOfOrderAppendsSealsAndPurges() throws {
        let clock = ManualClock()
        let db = try Database.open(path: try makeTemporaryDirectory(self) + "/chat.parley", options: testOptions(clock: clock, blockTarget: 1024))
        let ids = try db.write { chat -> [ConversationID] in
            try chat.upsertUser("a")
            return try (0..<3).map { _ in try chat.createConversation(NewConversation(participants: ["a"])) }
        }
        var rng = SplitMix64(seed: 7)
        var all: [ConversationID: [Message]] = [:]
        for step in 0..<600 {
            clock.advance(seconds: 60)
            let id = ids[Int(rng.next() % 3)]
            let back = Double(rng.next() % 4 == 0 ? rng.next() % 20_000 : 0)
            let count = 1 + Int(rng.next() % 4)
            let batch = (0..<count).map { _ in
                NewMessage(sender: "a", text: String(repeating: "x", count: Int(rng.next() % 200)), createdAt: clock.now.adding(seconds: -back))
            }
            all[id, default: []] += try db.append(contentsOf: batch, to: id)
            if rng.next() % 10 == 0 { try db.checkpoint() }
            if step % 150 == 149 {
                try db.purgeMessages(olderThanDays: 0.1)
                let cutoff = clock.now.adding(seconds: -0.1 * 86_400)
                for key in all.keys { all[key] = all[key]?.filter { $0.createdAt >= cutoff } }
            }
            for (conversation, messages) in all {
                let sorted = messages.sorted { $0.position < $1.position }
                XCTAssertEqual(try db.messages(in: conversation, .oldest(100_000)), sorted, "step \(step)")
                if let last = sorted.last {
                    let inbox = try db.inbox(of: "a", InboxQuery(limit: 10))
                    let entry = inbox.first { $0.conversation.id == conversation }
                    XCTAssertEqual(entry?.lastMessage, last, "step \(step): newest of \(conversation)")
                }
                for message in sorted where rng.next() % 8 == 0 {
                    XCTAssertEqual(try db.message(message.id), message, "step \(step)")
                }
            }
            if step % 50 == 0 { XCTAssertEqual(try db.checkIntegrity().problems, [], "step \(step)") }
        }
        try db.close()
    }
}

extension MessageLookupTests {
    /// Regression: after a purge took every message, an append older than the purged ones left
    /// the conversation's newest position pointing at a purged message, and the inbox showed no
    /// last message.
    func testNewestAfterPurgingEverythingThenAppendingOlder() throws {
        let clock = ManualClock()
        let db = try Database.open(path: try makeTemporaryDirectory(self) + "/chat.parley", options: testOptions(clock: clock))
        let id = try db.write { chat -> ConversationID in
            try chat.upsertUser("a")
            try chat.upsertUser("b")
            return try chat.createConversation(NewConversation(participants: ["a", "b"]))
        }
        let purged = try db.append(NewMessage(sender: "a", text: "old", createdAt: clock.now), to: id)
        try db.markRead(user: "b", conversation: id, through: purged.id)
        clock.advance(seconds: 10 * 86_400)
        XCTAssertEqual(try db.purgeMessages(olderThanDays: 1), 1)
        XCTAssertNil(try db.inbox(of: "a").first?.lastMessage)
        let older = try db.append(NewMessage(sender: "a", text: "older still", createdAt: purged.createdAt.adding(seconds: -60)), to: id)
        XCTAssertEqual(try db.inbox(of: "a").first?.lastMessage, older)
        // b's marker (on the purged message) is after the new message: it counts as read.
        XCTAssertEqual(try db.read { try $0.unreadCount(user: "b", conversation: id) }, 0)
        XCTAssertEqual(try db.checkIntegrity().problems, [])
        try db.checkpoint()
        XCTAssertEqual(try db.inbox(of: "a").first?.lastMessage, older)
        try db.close()
    }
}
