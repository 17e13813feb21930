import Foundation
import XCTest
@testable import Parley

/// Readers beside a writer see each commit whole: a message and its conversation's position in
/// every inbox move together.
final class ConcurrentReadTests: XCTestCase {
    func testInboxesAreConsistentDuringWrites() throws {
        let clock = ManualClock()
        var options = testOptions(clock: clock, blockTarget: 1024)
        options.engine.backgroundWork = true
        options.engine.memtableBudget = 256 << 10
        let db = try Database.open(path: try makeTemporaryDirectory(self) + "/chat.parley", options: options)
        let users = ["u0", "u1", "u2", "u3"]
        let conversations = try db.write { chat -> [ConversationID] in
            for user in users { try chat.upsertUser(user) }
            return try (0..<12).map { i in
                try chat.createConversation(NewConversation(participants: [users[i % 4], users[(i + 1) % 4]]))
            }
        }
        let done = SharedLocked(false)
        let failures = SharedLocked<[String]>([])
        let readers = (0..<3).map { reader in
            Thread {
                var rounds = 0
                while !done.withLock({ $0 }) || rounds < 5 {
                    rounds += 1
                    do {
                        try db.read { chat in
                            let user = users[(reader + rounds) % 4]
                            let inbox = try chat.inbox(of: user, InboxQuery(limit: 100))
                            var previous: InboxCursor?
                            for entry in inbox {
                                let conversation = entry.conversation
                                if let last = entry.lastMessage {
                                    if last.createdAt != conversation.lastActivity {
                                        failures.withLock { $0.append("last message and last activity disagree") }
                                    }
                                    let newest = try chat.messages(in: conversation.id, .newest(1))
                                    if newest.first != last { failures.withLock { $0.append("inbox shows a stale last message") } }
                                }
                                if try chat.messageCount(in: conversation.id) != conversation.messageCount {
                                    failures.withLock { $0.append("count moved inside one snapshot") }
                                }
                                if let previous,
                                    previous.lastActivity < conversation.lastActivity
                                        || (previous.lastActivity == conversation.lastActivity && !(previous.conversation < conversation.id))
                                {
                                    failures.withLock { $0.append("inbox out of order") }
                                }
                                previous = entry.cursor
                            }
                        }
                    } catch {
                        failures.withLock { $0.append("reader error: \(error)") }
                    }
                }
            }
        }
        for reader in readers { reader.start() }
        var written = 0
        for round in 0..<300 {
            clock.tick()
            let id = conversations[round % conversations.count]
            let sender = try XCTUnwrap(try db.conversation(id)?.participants.first)
            try db.append(NewMessage(sender: sender, text: "round \(round) " + String(repeating: "z", count: round % 50)), to: id)
            written += 1
            if round % 50 == 49 { try db.checkpoint() }
        }
        done.withLock { $0 = true }
        while readers.contains(where: { $0.isExecuting }) { usleep(1000) }
        XCTAssertEqual(failures.withLock { $0 }, [])
        XCTAssertEqual(try db.stats().messages, written)
        try db.close()
    }
}

