import XCTest
@testable import Parley
import ParleyEngine

/// An automatic checkpoint leaves pending the conversations whose open block outweighs their
/// pending messages, the costliest first and within `Options.sealDeferralBytes`; a requested one
/// seals everything; reads see the same messages either way.
final class SealDeferralTests: XCTestCase {
    private let clock = ManualClock()

    private func open(_ directory: String, deferral: Int) throws -> Database {
        var options = testOptions(clock: clock, blockTarget: 32 << 10)
        options.sealDeferralBytes = deferral
        return try Database.open(path: directory + "/chat.parley", options: options)
    }

    private func makeConversation(_ db: Database) throws -> ConversationID {
        try db.write { chat in
            for handle in ["a", "b"] { try chat.upsertUser(handle) }
            return try chat.createConversation(NewConversation(participants: ["a", "b"]))
        }
    }

    /// `count` messages of `bytes` bytes of text each, one millisecond apart.
    @discardableResult
    private func append(_ db: Database, _ id: ConversationID, count: Int, bytes: Int = 200) throws -> [Message] {
        try (0..<count).map { i in
            clock.tick()
            let text = String(repeating: "word\(i % 10) ", count: bytes / 6).prefix(bytes)
            return try db.append(NewMessage(sender: i % 2 == 0 ? "a" : "b", text: String(text)), to: id)
        }
    }

    /// Pending messages per conversation, and their value bytes in all.
    private func pending(_ db: Database) throws -> (counts: [ConversationID: Int], bytes: Int) {
        try db.engine.read { snapshot in
            var counts: [ConversationID: Int] = [:]
            var bytes = 0
            for entry in try snapshot.entries(Tree.pending, from: [], to: nil) {
                guard let id = ConversationID(bytes: Array(entry.key.prefix(16))) else { continue }
                counts[id, default: 0] += 1
                bytes += entry.value.count
            }
            return (counts, bytes)
        }
    }

    private func planned(_ db: Database, deferringUpTo limit: Int) throws -> Set<ConversationID> {
        Set(try db.read { try $0.planSealing(deferringUpTo: limit) }.conversations.map(\.id))
    }

    func testOnlyAConversationWhoseOpenBlockOutweighsItsPendingMessagesWaits() throws {
        let db = try open(try makeTemporaryDirectory(self), deferral: 1 << 20)
        defer { try? db.close() }
        let small = try makeConversation(db)  // a 4 KB open block, then one message
        let grown = try makeConversation(db)  // a 4 KB open block, then 6 KB of messages
        let fresh = try makeConversation(db)  // no block yet
        try append(db, small, count: 20)
        try append(db, grown, count: 20)
        try db.checkpoint()
        try append(db, small, count: 1, bytes: 100)
        try append(db, grown, count: 30)
        try append(db, fresh, count: 3)

        XCTAssertEqual(try planned(db, deferringUpTo: 1 << 20), [grown, fresh])
        XCTAssertEqual(try db.read { try $0.conversationsToDefer(limit: 1 << 20) }, [small])
        // No limit, or one below the waiting conversation's pending bytes: everything is sealed.
        XCTAssertEqual(try planned(db, deferringUpTo: 0), [small, grown, fresh])
        XCTAssertEqual(try planned(db, deferringUpTo: 50), [small, grown, fresh])
    }

    func testTheCostliestWaitFirstWithinTheLimit() throws {
        let db = try open(try makeTemporaryDirectory(self), deferral: 1 << 20)
        defer { try? db.close() }
        // Open blocks of about 2, 4 and 8 KB, then one pending message of the same size each.
        var ids: [ConversationID] = []
        for blockMessages in [10, 20, 40] {
            let id = try makeConversation(db)
            try append(db, id, count: blockMessages)
            ids.append(id)
        }
        try db.checkpoint()
        for id in ids { try append(db, id, count: 1, bytes: 120) }
        let pending = try pending(db)
        XCTAssertEqual(pending.counts.count, 3)
        let one = pending.bytes / 3
        XCTAssertEqual(one * 3, pending.bytes, "the three pending messages encode to the same size")

        let toDefer = { (limit: Int) in try db.read { try $0.conversationsToDefer(limit: limit) } }
        XCTAssertEqual(try toDefer(one - 1), [])
        XCTAssertEqual(try toDefer(one), [ids[2]])
        XCTAssertEqual(try toDefer(2 * one + 1), [ids[2], ids[1]])
        XCTAssertEqual(try toDefer(3 * one), Set(ids))
    }

    func testAnAutomaticCheckpointLeavesThemPendingAndARequestedOneSealsThem() throws {
        let directory = try makeTemporaryDirectory(self)
        var db = try open(directory, deferral: 1 << 20)
        let quiet = try makeConversation(db)
        let busy = try makeConversation(db)
        var model = [quiet: try append(db, quiet, count: 20), busy: try append(db, busy, count: 5)]
        try db.checkpoint()
        model[quiet, default: []] += try append(db, quiet, count: 1, bytes: 80)
        model[busy, default: []] += try append(db, busy, count: 40)

        try db.engine.checkpoint(origin: .automatic)
        XCTAssertEqual(try pending(db).counts, [quiet: 1])
        try assertReads(db, model)
        XCTAssertEqual(try db.inbox(of: "a", InboxQuery(limit: 5)).first { $0.conversation.id == quiet }?.lastMessage,
                       model[quiet]?.last)

        try db.checkpoint()
        XCTAssertEqual(try pending(db).counts, [:])
        try assertReads(db, model)

        // Close seals too (it checkpoints as requested).
        model[quiet, default: []] += try append(db, quiet, count: 1, bytes: 80)
        try db.engine.checkpoint(origin: .automatic)
        XCTAssertEqual(try pending(db).counts, [quiet: 1])
        try db.close()
        db = try open(directory, deferral: 1 << 20)
        XCTAssertEqual(try pending(db).counts, [:])
        try assertReads(db, model)
        try db.close()
    }

    func testWithNoLimitAnAutomaticCheckpointSealsEverything() throws {
        let db = try open(try makeTemporaryDirectory(self), deferral: 0)
        defer { try? db.close() }
        let id = try makeConversation(db)
        var messages = try append(db, id, count: 20)
        try db.checkpoint()
        messages += try append(db, id, count: 1, bytes: 80)
        try db.engine.checkpoint(origin: .automatic)
        XCTAssertEqual(try pending(db).counts, [:])
        try assertReads(db, [id: messages])
    }

    /// A quiet conversation keeps its ratio forever: it waits a bounded number of passes only.
    func testAConversationWaitsAtMostItsPassesInARow() throws {
        let db = try open(try makeTemporaryDirectory(self), deferral: 1 << 20)
        defer { try? db.close() }
        let quiet = try makeConversation(db)
        var messages = try append(db, quiet, count: 20)
        try db.checkpoint()
        messages += try append(db, quiet, count: 1, bytes: 80)
        for pass in 1...SealDeferralCounts.maximumPasses {
            try db.engine.checkpoint(origin: .automatic)
            XCTAssertEqual(try pending(db).counts, [quiet: 1], "automatic pass \(pass)")
        }
        try db.engine.checkpoint(origin: .automatic)
        XCTAssertEqual(try pending(db).counts, [:], "sealed after waiting its passes")
        try assertReads(db, [quiet: messages])

        // A new message starts the count again.
        messages += try append(db, quiet, count: 1, bytes: 80)
        try db.engine.checkpoint(origin: .automatic)
        XCTAssertEqual(try pending(db).counts, [quiet: 1])
        try assertReads(db, [quiet: messages])
    }

    func testANegativeLimitIsRefused() throws {
        XCTAssertThrowsError(try open(try makeTemporaryDirectory(self), deferral: -1)) { error in
            XCTAssertEqual(error as? ParleyError, .invalidArgument("sealDeferralBytes must not be negative"))
        }
    }

    private func assertReads(_ db: Database, _ model: [ConversationID: [Message]], file: StaticString = #filePath, line: UInt = #line) throws {
        for (id, messages) in model {
            XCTAssertEqual(try db.messages(in: id, MessageQuery(order: .oldestFirst)), messages, file: file, line: line)
            XCTAssertEqual(try db.messages(in: id, .newest(3)), Array(messages.suffix(3).reversed()), file: file, line: line)
        }
        XCTAssertEqual(try db.checkIntegrity().problems, [], file: file, line: line)
    }
}
