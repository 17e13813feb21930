import XCTest
@testable import Parley

/// An inbox reads its rows' conversation records in batches (`ChatReader.recordBatch`). Pages that
/// span several batches, offsets and status filters that skip whole batches, and limits and
/// offsets near `Int.max` must give what reading each conversation on its own gives.
final class InboxPagingTests: XCTestCase {
    func testInboxPagesAcrossBatchesAgreeWithConversationByConversationReads() throws {
        let directory = try makeTemporaryDirectory(self)
        var clock = ManualClock()
        let db = try Database.open(path: directory + "/chat.parley", options: testOptions(clock: clock))
        try db.upsertUser("ann")
        try db.upsertUser("bob")
        let statuses = ConversationStatus.allCases
        var ids: [ConversationID] = []
        let total = ChatReader.recordBatch * 2 + 37
        for i in 0..<total {
            let id = try db.createConversation(NewConversation(participants: ["ann", "bob"], title: "c\(i)"))
            ids.append(id)
            for j in 0..<(i % 4) {
                clock.tick()
                try db.append(NewMessage(sender: j % 2 == 0 ? "bob" : "ann", text: "message \(j) of \(i)"), to: id)
            }
        }
        // Statuses set after the messages (an append makes a conversation active).
        for (i, id) in ids.enumerated() where i % 5 != 0 {
            try db.write { try $0.setStatus(statuses[i % statuses.count], of: id) }
        }
        try db.checkpoint()
        // A few changes that stay in the memtable over the checkpointed records (to conversations
        // still open for messages).
        for (i, id) in ids.enumerated() where i % 5 == 0 && i < 45 {
            clock.tick()
            try db.append(NewMessage(sender: "bob", text: "late"), to: id)
        }

        // What each conversation gives read on its own, most recently active first.
        let expected: [InboxEntry] = try ids.map { id in
            let conversation = try XCTUnwrap(try db.conversation(id))
            return InboxEntry(
                conversation: conversation, lastMessage: try db.messages(in: id, .newest(1)).first,
                unreadCount: try db.read { try $0.unreadCount(user: "ann", conversation: id) })
        }.sorted {
            $0.conversation.lastActivity != $1.conversation.lastActivity
                ? $0.conversation.lastActivity > $1.conversation.lastActivity : $0.conversation.id < $1.conversation.id
        }
        XCTAssertEqual(expected.count, total)

        let limits = [0, 1, 20, ChatReader.recordBatch - 1, ChatReader.recordBatch, ChatReader.recordBatch + 1, 150, Int.max]
        let offsets = [0, 5, ChatReader.recordBatch, ChatReader.recordBatch + 3, total - 1, total, Int.max]
        let filters: [Set<ConversationStatus>?] = [nil, [.new], [.active, .closed], [.archived], []]
        for limit in limits {
            for offset in offsets {
                for filter in filters {
                    let query = InboxQuery(limit: limit, offset: offset, statuses: filter)
                    let kept = expected.filter { filter?.contains($0.conversation.status) ?? true }
                    let want = Array(kept.dropFirst(offset).prefix(limit))
                    XCTAssertEqual(try db.inbox(of: "ann", query), want, "limit \(limit), offset \(offset), statuses \(String(describing: filter))")
                }
            }
        }
        // Walking the whole inbox page by page with its cursor.
        var walked: [InboxEntry] = []
        var after: InboxCursor?
        while true {
            let page = try db.inbox(of: "ann", InboxQuery(limit: 30, after: after))
            walked += page
            guard let last = page.last else { break }
            after = last.cursor
        }
        XCTAssertEqual(walked, expected)
        XCTAssertEqual(try db.unreadCount(user: "ann"), expected.reduce(0) { $0 + $1.unreadCount })
        try db.close()
    }
}
