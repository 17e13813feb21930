import XCTest
@testable import Parley

final class ChatBasicsTests: XCTestCase {
    private var clock = ManualClock()

    private func open(_ directory: String, blockTarget: Int = 2048) throws -> Database {
        try Database.open(path: directory + "/chat.parley", options: testOptions(clock: clock, blockTarget: blockTarget))
    }

    func testConversationLifecycleAndQueries() throws {
        let directory = try makeTemporaryDirectory(self)
        let db = try open(directory)
        try db.upsertUser("alice", displayName: "Alice")
        try db.upsertUser("bot", metadata: ["model": "small", "temperature": 0.5])
        let id = try db.createConversation(
            NewConversation(participants: ["bot", "alice"], platform: "slack", externalID: "C1", title: "Support"))
        var conversation = try XCTUnwrap(try db.conversation(id))
        XCTAssertEqual(conversation.participants, ["alice", "bot"])
        XCTAssertEqual(conversation.status, .new)
        XCTAssertEqual(try db.conversation(platform: "slack", externalID: "C1")?.id, id)

        try db.append(NewMessage(sender: "bot", role: .system, text: "You are helpful."), to: id)
        clock.tick()
        let hello = try db.append(NewMessage(sender: "alice", text: "Hello there"), to: id)
        clock.tick()
        let reply = try db.append(NewMessage(sender: "bot", role: .assistant, text: "Hi! How can I help?", tokens: 7), to: id)
        conversation = try XCTUnwrap(try db.conversation(id))
        XCTAssertEqual(conversation.status, .active)
        XCTAssertEqual(conversation.messageCount, 3)
        XCTAssertEqual(conversation.lastActivity, reply.createdAt)
        XCTAssertEqual(try db.message(hello.id), hello)
        XCTAssertEqual(try db.messages(in: id, .newest(2)).map(\.id), [reply.id, hello.id])
        XCTAssertEqual(try db.messages(in: id, MessageQuery(order: .oldestFirst, roles: [.assistant])).map(\.id), [reply.id])

        // The bot's reply marked the bot's marker; alice has read only her own message.
        XCTAssertEqual(try db.read { try $0.unreadCount(user: "alice", conversation: id) }, 1)
        XCTAssertEqual(try db.read { try $0.unreadCount(user: "bot", conversation: id) }, 0)
        let inbox = try db.inbox(of: "alice")
        XCTAssertEqual(inbox.count, 1)
        XCTAssertEqual(inbox[0].lastMessage, reply)
        XCTAssertEqual(inbox[0].unreadCount, 1)
        try db.markRead(user: "alice", conversation: id, through: reply.id)
        XCTAssertEqual(try db.unreadCount(user: "alice"), 0)

        let window = try db.contextWindow(in: id, tokenBudget: 12)
        XCTAssertEqual(window.messages.map(\.role), [.system, .assistant])
        XCTAssertTrue(window.truncated)

        try db.checkpoint()
        XCTAssertEqual(try db.messages(in: id, .oldest(10)).map(\.text), ["You are helpful.", "Hello there", "Hi! How can I help?"])
        try db.close()

        let reopened = try open(directory)
        XCTAssertEqual(try reopened.message(reply.id), reply)
        XCTAssertEqual(try reopened.stats().messages, 3)
        try reopened.close()
    }

    func testBadInputIsATypedErrorThatChangesNothing() throws {
        let directory = try makeTemporaryDirectory(self)
        let db = try open(directory)
        try db.upsertUser("u")
        let id = try db.createConversation(NewConversation(participants: ["u"], platform: "p", externalID: "x"))
        let missing = try XCTUnwrap(ConversationID("00000000-0000-4000-8000-000000000000"))
        assertThrows(.unknownConversation(missing)) { try db.append(NewMessage(sender: "u", text: "hi"), to: missing) }
        assertThrows(.unknownUser("nobody")) { try db.createConversation(NewConversation(participants: ["nobody"])) }
        assertThrows(.noParticipants) { try db.createConversation(NewConversation(participants: [])) }
        assertThrows(.duplicateExternalID(platform: "p", externalID: "x")) {
            try db.createConversation(NewConversation(participants: ["u"], platform: "p", externalID: "x"))
        }
        assertThrows(.invalidUTF8(field: "text")) { try NewMessage(sender: "u", utf8Text: [0x66, 0xFF, 0x6F]) }
        let huge = String(repeating: "a", count: Limits.maximumMessageBytes + 1)
        XCTAssertThrowsError(try db.append(NewMessage(sender: "u", text: huge), to: id)) { error in
            guard case ParleyError.messageTooLarge = error else { return XCTFail("got \(error)") }
        }
        assertThrows(.negativeTTL(-1)) { try db.setState(.conversation(id), value: [1], ttl: -1) }
        assertThrows(.notAParticipant(user: "u2", conversation: id)) {
            try db.upsertUser("u2")
            return try db.append(NewMessage(sender: "u2", text: "hi"), to: id)
        }
        // A batch with one bad message stores none of them.
        assertThrows(.notAParticipant(user: "u2", conversation: id)) {
            try db.append(contentsOf: [NewMessage(sender: "u", text: "ok"), NewMessage(sender: "u2", text: "no")], to: id)
        }
        XCTAssertEqual(try db.conversation(id)?.messageCount, 0)
        // An error caught inside a write leaves the transaction usable and unchanged.
        try db.write { chat in
            XCTAssertThrowsError(try chat.append(NewMessage(sender: "u2", text: "no"), to: id))
            try chat.append(NewMessage(sender: "u", text: "yes"), to: id)
        }
        XCTAssertEqual(try db.messages(in: id).map(\.text), ["yes"])
        try db.setStatus(.closed, of: id)
        assertThrows(.conversationClosed(id)) { try db.append(NewMessage(sender: "u", text: "late"), to: id) }
        XCTAssertEqual(try db.stats().conversations, 1)
        try db.close()
    }

    /// Handles are bytes: two canonically equivalent spellings are two users (Swift's String
    /// equality would merge them).
    func testCanonicallyEquivalentHandlesAreDistinctUsers() throws {
        let db = try open(try makeTemporaryDirectory(self))
        let composed = "\u{E9}"
        let decomposed = "e\u{301}"
        try db.upsertUser(composed)
        try db.upsertUser(decomposed)
        let id = try db.createConversation(NewConversation(participants: [composed]))
        assertThrows(.notAParticipant(user: decomposed, conversation: id)) {
            try db.append(contentsOf: [NewMessage(sender: composed, text: "a"), NewMessage(sender: decomposed, text: "b")], to: id)
        }
        XCTAssertEqual(try db.conversation(id)?.messageCount, 0)
        let both = try db.createConversation(NewConversation(participants: [composed, decomposed, composed]))
        XCTAssertEqual(try db.conversation(both)?.participants.map { Array($0.utf8) }, [Array(decomposed.utf8), Array(composed.utf8)])
        try db.append(contentsOf: [NewMessage(sender: composed, text: "a"), NewMessage(sender: decomposed, text: "b")], to: both)
        XCTAssertEqual(try db.read { try $0.unreadCount(user: composed, conversation: both) }, 1)
        XCTAssertEqual(try db.read { try $0.unreadCount(user: decomposed, conversation: both) }, 0)
        XCTAssertEqual(try db.read { try $0.conversations(limit: 10) }.count, 2)
        XCTAssertEqual(try db.checkIntegrity().problems, [])
        // The sender filter and a sealed block's sender table keep them apart too.
        for sealed in [false, true] {
            if sealed { try db.checkpoint() }
            let messages = try db.messages(in: both, .oldest(10))
            XCTAssertEqual(messages.map { Array($0.sender.utf8) }, [Array(composed.utf8), Array(decomposed.utf8)], "sealed: \(sealed)")
            let fromDecomposed = try db.messages(in: both, MessageQuery(order: .oldestFirst, sender: decomposed))
            XCTAssertEqual(fromDecomposed.map(\.text), ["b"], "sealed: \(sealed)")
        }
        try db.close()
    }

    func testPagesSmallerThanTheLimitsNeedAreRefused() throws {
        var options = testOptions(clock: clock)
        options.engine.storage = EngineOptions(pageSize: 1024)
        let path = try makeTemporaryDirectory(self) + "/small.parley"
        assertThrows(.invalidArgument("the chat store needs pages of at least 4 KiB")) { try Database.open(path: path, options: options) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
    }

    func testStateExpiresAndIsSwept() throws {
        let directory = try makeTemporaryDirectory(self)
        let db = try open(directory)
        try db.setState(.custom("session:1"), value: Array("cart".utf8), ttl: 60)
        XCTAssertEqual(try db.state(.custom("session:1"))?.value, Array("cart".utf8))
        clock.advance(seconds: 30)
        XCTAssertTrue(try db.touchState(.custom("session:1"), ttl: 60))
        clock.advance(seconds: 59)
        XCTAssertNotNil(try db.state(.custom("session:1")))
        clock.advance(seconds: 2)
        XCTAssertNil(try db.state(.custom("session:1")))
        XCTAssertFalse(try db.touchState(.custom("session:1")))
        // The checkpoint sweeps it: the entry is gone from the tree, not just hidden.
        try db.checkpoint()
        XCTAssertEqual(try db.engine.read { try $0.count(Tree.state) }, 0)
        XCTAssertEqual(try db.engine.read { try $0.count(Tree.expiry) }, 0)
        try db.close()
    }

    func testAsyncVariants() async throws {
        let directory = try makeTemporaryDirectory(self)
        let db = try open(directory)
        let id = try await db.write { chat -> ConversationID in
            try chat.upsertUser("a")
            return try chat.createConversation(NewConversation(participants: ["a"]))
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<20 {
                group.addTask { _ = try await db.append(NewMessage(sender: "a", text: "m\(i)"), to: id) }
            }
            try await group.waitForAll()
        }
        let count = try await db.read { try $0.messageCount(in: id) }
        XCTAssertEqual(count, 20)
        try db.close()
    }
}
