// Both engines must hold and return the same data, or the figures compare different work:
// total message counts (and the number generated), the newest 50 messages of a sample of
// conversations field by field, and the inboxes of a sample of users (order, last text, unread
// count). Not timed; every difference found is reported and makes the run exit with status 1.

import Parley
import ParleyInterchange

extension BenchRun {
    func checkConsistency() throws {
        let side = try sqliteSide()
        let parleyTotal = try parley.totalMessages()
        let sqliteTotal = try side.totalMessages()
        if parleyTotal == expectedMessages && sqliteTotal == expectedMessages {
            report.checks.append("message counts: \(Format.grouped(Int64(expectedMessages))) generated, ParleyDB and SQLite hold as many")
        } else {
            report.fail("message counts: generated \(expectedMessages), ParleyDB holds \(parleyTotal), SQLite \(sqliteTotal)")
        }

        // The timed queries must run on their indexes, as an expert's would.
        for (name, plan) in try side.plans() {
            if plan.contains(where: { $0.hasPrefix("SCAN") || $0.contains("TEMP B-TREE") }) {
                report.fail("SQLite's \(name) query does not run on an index: " + plan.joined(separator: " / "))
            }
        }
        report.checks.append("SQLite's recent, range and inbox queries run on their indexes (no SCAN, no TEMP B-TREE in EXPLAIN QUERY PLAN)")

        var random = SplitMix64(seed: seed, stream: RandomStream.samples.rawValue)
        // The 10 busiest conversations, then distinct ones drawn uniformly.
        var conversations = population.busiest.prefix(10).map(Int.init)
        var seen = Set(conversations)
        let wanted = min(WorkloadConstants.sampleConversations, population.conversations.count)
        while conversations.count < wanted {
            let conversation = random.below(population.conversations.count)
            if seen.insert(conversation).inserted { conversations.append(conversation) }
        }
        var differences = 0
        var compared = 0
        for conversation in conversations {
            let mine = try parley.recent(conversation)
            let theirs = try side.recent(conversation)
            compared += mine.count
            let counts = (try parley.messageCount(conversation), try side.messageCount(conversation))
            if counts.0 != counts.1.stored || counts.0 != counts.1.counted {
                differences += 1
                fail(differences, "conversation \(conversation): ParleyDB counts \(counts.0) messages, SQLite \(counts.1.stored) (message_count) / \(counts.1.counted) (rows)")
            }
            if let problem = compare(mine, theirs) {
                differences += 1
                fail(differences, "conversation \(conversation) (ParleyDB \(parley.ids[conversation]), SQLite id \(SQLiteSide.conversationID(conversation))): \(problem)")
            }
        }
        report.checks.append("newest \(WorkloadConstants.recentLimit) messages of \(conversations.count) conversations (\(Format.grouped(Int64(compared))) messages) compared field by field, and their message counts")

        let byID = Dictionary(uniqueKeysWithValues: parley.ids.enumerated().map { ($1, $0) })
        var users = Array(population.humans..<population.userCount)
        var seenUsers = Set<Int>()
        while users.count < min(WorkloadConstants.sampleUsers, population.userCount) {
            let user = random.below(population.humans)
            if seenUsers.insert(user).inserted { users.append(user) }
        }
        var entries = 0
        for user in users {
            let mine = try parley.inbox(population.handle(of: user))
            let theirs = try side.inbox(user)
            entries += mine.count
            if let problem = compareInbox(mine, theirs, byID) {
                differences += 1
                fail(differences, "inbox of \(population.handle(of: user)): \(problem)")
            }
        }
        report.checks.append("inboxes of \(users.count) users (\(entries) entries: order, last text, unread count) compared")
    }

    /// Reports the first 20 differences in full, then only counts them.
    private func fail(_ count: Int, _ message: String) {
        if count <= 20 { report.fail(message) } else if count == 21 { report.fail("more differences follow (not listed)") }
    }

    private func compare(_ mine: [Message], _ theirs: [SQLiteMessage]) -> String? {
        guard mine.count == theirs.count else { return "ParleyDB returned \(mine.count) messages, SQLite \(theirs.count)" }
        for (index, (a, b)) in zip(mine, theirs).enumerated() {
            var fields: [String] = []
            if a.text != b.text { fields.append(textDifference(a.text, b.text)) }
            if a.sender != b.sender { fields.append("sender \(a.sender) vs \(b.sender)") }
            if SQLiteSide.roleCode(a.role) != b.role { fields.append("role \(a.role) vs \(b.role)") }
            if a.createdAt.microseconds != b.createdAt { fields.append("created_at \(a.createdAt.microseconds) vs \(b.createdAt)") }
            if Int64(a.tokens) != b.tokens { fields.append("tokens \(a.tokens) vs \(b.tokens)") }
            if a.contentType != b.contentType { fields.append("content type \(a.contentType) vs \(b.contentType)") }
            let metadata = a.metadata.map(JSONText.string)
            if metadata != b.metadataJSON { fields.append("metadata \(metadata ?? "none") vs \(b.metadataJSON ?? "none")") }
            if !fields.isEmpty { return "message \(index) of the newest: " + fields.joined(separator: "; ") }
        }
        return nil
    }

    private func compareInbox(_ mine: [InboxEntry], _ theirs: [SQLiteInboxEntry], _ byID: [ConversationID: Int]) -> String? {
        guard mine.count == theirs.count else { return "ParleyDB listed \(mine.count) conversations, SQLite \(theirs.count)" }
        for (index, (a, b)) in zip(mine, theirs).enumerated() {
            let conversation = byID[a.conversation.id]
            if conversation.map(SQLiteSide.conversationID) != b.conversation {
                return "entry \(index): ParleyDB conversation #\(conversation.map(String.init) ?? "?"), SQLite #\(b.conversation - 1)"
            }
            if a.lastMessage?.text != b.lastText {
                return "entry \(index): last " + textDifference(a.lastMessage?.text ?? "(none)", b.lastText ?? "(none)")
            }
            if Int64(a.unreadCount) != b.unread { return "entry \(index): unread \(a.unreadCount) vs \(b.unread)" }
            if a.conversation.lastActivity.microseconds != b.lastActivity {
                return "entry \(index): last activity \(a.conversation.lastActivity.microseconds) vs \(b.lastActivity)"
            }
        }
        return nil
    }

    /// Where two texts part: the byte offset, and a few characters of each from there.
    private func textDifference(_ a: String, _ b: String) -> String {
        let common = zip(a.utf8, b.utf8).prefix(while: { $0 == $1 }).count
        func tail(_ text: String) -> String {
            let bytes = Array(text.utf8)
            let from = max(0, common - 10)
            return quote(String(decoding: bytes[from..<min(bytes.count, common + 30)], as: UTF8.self))
        }
        return "text (\(a.utf8.count) vs \(b.utf8.count) bytes) differs at byte \(common): ParleyDB …\(tail(a)), SQLite …\(tail(b))"
    }

    private func quote(_ text: String) -> String {
        let short = text.count > 60 ? String(text.prefix(60)) + "…" : text
        return "\"\(short)\""
    }
}
