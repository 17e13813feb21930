import XCTest
@testable import Parley

final class ChatIntegrityTests: XCTestCase {
    private let clock = ManualClock()

    /// A store after a bit of everything: out-of-order appends, seals, purges, deletions, state.
    private func populated(_ directory: String) throws -> (Database, [ConversationID]) {
        let db = try Database.open(path: directory + "/chat.parley", options: testOptions(clock: clock, blockTarget: 1024))
        let ids = try db.write { chat -> [ConversationID] in
            for user in ["a", "b", "c"] { try chat.upsertUser(user) }
            return try (0..<6).map { i in
                try chat.createConversation(NewConversation(participants: ["a", i % 2 == 0 ? "b" : "c"], platform: "t", externalID: "\(i)"))
            }
        }
        for round in 0..<30 {
            clock.advance(seconds: 3600)
            for (i, id) in ids.enumerated() {
                let back = round % 4 == 3 ? -5 * 3600.0 : 0
                try db.append(
                    NewMessage(sender: "a", role: round % 7 == 0 ? .system : .user, text: "r\(round) c\(i)", createdAt: clock.now.adding(seconds: back)),
                    to: id)
            }
            if round % 5 == 4 { try db.checkpoint() }
            if round == 12, let id = ids.first {
                let newest = try XCTUnwrap(try db.messages(in: id, .newest(1)).first)
                try db.markRead(user: "b", conversation: id, through: newest.id)
            }
        }
        try db.setState(.conversation(ids[1]), value: [1, 2, 3])
        try db.setState(.custom("k"), value: [4], ttl: 10)
        try db.purgeMessages(olderThanDays: 0.5)
        try db.deleteConversation(ids[5])
        return (db, ids)
    }

    /// Found by the `open` fuzzer: a store without its pending tree (and no conversation, so no
    /// walk read it) was reported sound, then failed its first checkpoint.
    func testReportsAMissingTree() throws {
        let db = try Database.open(path: try makeTemporaryDirectory(self) + "/chat.parley", options: testOptions(clock: clock))
        defer { try? db.close() }
        try db.upsertUser("a")
        XCTAssertEqual(try db.checkIntegrity().problems, [])
        try db.engine.write { try $0.dropTree(Tree.pending) }
        XCTAssertEqual(try db.checkIntegrity().problems, ["the tree \(Tree.pending) is missing"])
    }

    func testSoundAfterMixedWork() throws {
        let (db, _) = try populated(try makeTemporaryDirectory(self))
        var result = try db.checkIntegrity()
        XCTAssertEqual(result.problems, [])
        XCTAssertEqual(result.conversations, 5)
        try db.checkpoint()
        result = try db.checkIntegrity()
        XCTAssertEqual(result.problems, [])
        XCTAssertGreaterThan(result.blocks, 0)
        try db.close()
    }

    func testFindsIndexDisagreementsAndBadBlocks() throws {
        let (db, ids) = try populated(try makeTemporaryDirectory(self))
        try db.checkpoint()
        try db.engine.write { transaction in
            // An inbox entry lost, a stray locator, a damaged block.
            let inbox = try XCTUnwrap(try transaction.entries(Tree.inbox, from: [], to: nil).first)
            try transaction.delete(Tree.inbox, inbox.key)
            try transaction.put(Tree.locator, Key.locator(MessageID(rawValue: 999_999)), ids[0].bytes + [0, 0, 0, 0, 0, 0, 0, 0])
            let block = try XCTUnwrap(try transaction.entries(Tree.blockData, prefix: ids[2].bytes).first)
            try transaction.put(Tree.blockData, block.key, block.value.map { $0 ^ 0x11 })
        }
        let result = try db.checkIntegrity()
        XCTAssertTrue(result.problems.contains { $0.hasPrefix("chat.inbox") }, "\(result.problems)")
        XCTAssertTrue(result.problems.contains { $0.hasPrefix("chat.locator") }, "\(result.problems)")
        XCTAssertTrue(result.problems.contains { $0.contains(ids[2].description) && $0.contains("corrupt message block") }, "\(result.problems)")
        try db.close()
    }
}
