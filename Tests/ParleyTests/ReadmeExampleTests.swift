import XCTest
import Parley

/// The README's getting-started example, kept compiling and passing.
final class ReadmeExampleTests: XCTestCase {
    func testEdgeBotExample() throws {
        let path = try makeTemporaryDirectory(self) + "/bot.parley"
        let db = try Database.open(path: path)            // created when missing
        let chat = try db.write { chat -> ConversationID in
            try chat.upsertUser("U123", displayName: "Ada")
            try chat.upsertUser("bot")
            return try chat.createConversation(NewConversation(participants: ["U123", "bot"], platform: "slack", externalID: "C42"))
        }
        try db.append(NewMessage(sender: "bot", role: .system, text: "You are a helpful assistant."), to: chat)
        let question = try db.append(NewMessage(sender: "U123", text: "Where is my order?"), to: chat)
        let prompt = try db.contextWindow(in: chat, tokenBudget: 4_000)   // system + newest that fit
        try db.write { tx in
            try tx.append(NewMessage(sender: "bot", role: .assistant, text: "Checking order 981…"), to: chat)
            try tx.setState(.conversation(chat), value: Array(#"{"step":"lookup"}"#.utf8), ttl: 3600)
        }
        let inbox = try db.inbox(of: "U123")                      // newest first, with unread counts
        try db.close()                                            // one file left: bot.parley

        XCTAssertEqual(prompt.messages.map(\.role), [.system, .user])
        XCTAssertEqual(prompt.messages.last, question)
        XCTAssertEqual(inbox.first?.unreadCount, 1)
        XCTAssertEqual(inbox.first?.lastMessage?.text, "Checking order 981…")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + "-wal"))
    }
}
