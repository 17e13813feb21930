// Reading a whole (small) chat store: a dump of every answer, comparable with `==` (metadata
// compares as values, so no dictionary order leaks in), and the agreements that must hold
// between the answers of a store whose integrity check passed.

import Parley

/// Every answer of a walk over a chat store, in a fixed order.
public struct ChatDump: Equatable, Sendable {
    public var users: [User] = []
    public var conversations: [Conversation] = []
    /// Per conversation, oldest first.
    public var messages: [[Message]] = []
    /// Per conversation, per participant (in the conversation's order).
    public var markers: [[MessagePosition?]] = []
    /// Per conversation, its state.
    public var conversationStates: [StateValue?] = []
    /// Per user: their inbox and unread total.
    public var inboxes: [[InboxEntry]] = []
    public var unread: [Int] = []
    /// Per key asked for.
    public var states: [StateValue?] = []
    /// users, conversations, messages, tokens from `stats()`.
    public var totals: [Int] = []

    public init() {}

    /// The first field that differs, for failure messages.
    public func difference(from other: ChatDump) -> String {
        func first<T: Equatable>(_ name: String, _ a: [T], _ b: [T]) -> String? {
            guard a != b else { return nil }
            for index in 0..<min(a.count, b.count) where a[index] != b[index] {
                return "\(name)[\(index)]: \(a[index])\n  versus \(b[index])"
            }
            return "\(name): \(a.count) versus \(b.count) entries"
        }
        return first("users", users, other.users) ?? first("conversations", conversations, other.conversations)
            ?? first("messages", messages, other.messages) ?? first("markers", markers, other.markers)
            ?? first("conversation states", conversationStates, other.conversationStates)
            ?? first("inboxes", inboxes, other.inboxes) ?? first("unread", unread, other.unread)
            ?? first("states", states, other.states) ?? first("totals", totals, other.totals) ?? "no difference"
    }
}

public enum ChatSurvey {
    /// Dumps every user and conversation (at most `limit` of each) and the state of each
    /// conversation and of `stateKeys`, on one snapshot.
    public static func dump(_ database: Database, stateKeys: [StateKey] = [], limit: Int = 1000) throws -> ChatDump {
        try database.read { reader in
            var dump = ChatDump()
            dump.users = try reader.users(limit: limit)
            dump.conversations = try reader.conversations(limit: limit)
            for conversation in dump.conversations {
                dump.messages.append(try reader.messages(in: conversation.id, MessageQuery(order: .oldestFirst)))
                dump.markers.append(try conversation.participants.map { try reader.readMarker(user: $0, conversation: conversation.id) })
                dump.conversationStates.append(try reader.state(.conversation(conversation.id)))
            }
            for user in dump.users {
                dump.inboxes.append(try reader.inbox(of: user.handle, InboxQuery(limit: limit)))
                dump.unread.append(try reader.unreadCount(user: user.handle))
            }
            dump.states = try stateKeys.map { try reader.state($0) }
            let stats = try reader.stats()
            dump.totals = [stats.users, stats.conversations, stats.messages, stats.tokens]
            return dump
        }
    }

    /// Runs the queries a reader would on an unknown store, up to `limit` conversations, and
    /// returns what disagrees: a message count that is not the number of messages, an order that
    /// is not the reverse of the other, a lookup that finds another message, ... A query that
    /// throws ends the walk and is reported too (the caller decides whether that is wrong).
    public static func inconsistencies(_ database: Database, limit: Int = 8) -> [String] {
        var problems: [String] = []
        do {
            try database.read { reader in
                _ = try reader.users(limit: limit)
                let conversations = try reader.conversations(limit: limit)
                for conversation in conversations {
                    problems += try check(conversation, reader)
                }
                if conversations.count < limit {
                    let stats = try reader.stats()
                    let total = conversations.reduce(0) { $0 + $1.messageCount }
                    if stats.messages != total { problems.append("stats count \(stats.messages) messages, conversations \(total)") }
                }
            }
        } catch {
            problems.append("a query threw: \(error)")
        }
        return problems
    }

    private static func check(_ conversation: Conversation, _ reader: ChatReader) throws -> [String] {
        var problems: [String] = []
        let id = conversation.id
        func note(_ text: String) { problems.append("conversation \(id): \(text)") }
        let all = try reader.messages(in: id, MessageQuery(order: .oldestFirst))
        if all.count != conversation.messageCount { note("\(all.count) messages, record says \(conversation.messageCount)") }
        if all.reduce(0, { $0 + $1.tokens }) != conversation.tokenTotal { note("token total differs from its messages'") }
        for (index, message) in all.enumerated() {
            if message.conversation != id { note("message \(message.id) names conversation \(message.conversation)") }
            if index > 0 && !(all[index - 1].position < message.position) { note("messages out of order at \(index)") }
        }
        let newest = try reader.messages(in: id, MessageQuery(order: .newestFirst))
        if newest != Array(all.reversed()) { note("newest-first is not oldest-first reversed") }
        if try reader.messages(in: id, indices: 0..<all.count) != all { note("paging by index differs") }
        if try reader.messageCount(in: id) != conversation.messageCount { note("messageCount differs from the record") }
        // Cursor paging, three at a time.
        var paged: [Message] = []
        var cursor: MessagePosition?
        for _ in 0..<(all.count / 3 + 2) {
            let page = try reader.messages(in: id, MessageQuery(order: .oldestFirst, limit: 3, after: cursor))
            paged += page
            guard let last = page.last else { break }
            cursor = last.position
        }
        if paged != all { note("cursor paging gives \(paged.count) messages, not \(all.count)") }
        for message in all.prefix(32) where try reader.message(message.id) != message {
            note("looking up message \(message.id) finds another")
        }
        let window = try reader.contextWindow(in: id, tokenBudget: 64)
        if window.tokens != window.messages.reduce(0, { $0 + $1.tokens }) { note("context window tokens do not add up") }
        if !window.messages.allSatisfy({ all.contains($0) }) { note("context window holds a message the conversation does not") }
        for handle in conversation.participants {
            let unread = try reader.unreadCount(user: handle, conversation: id)
            if unread < 0 || unread > all.count { note("\(handle) has \(unread) unread of \(all.count)") }
            let inbox = try reader.inbox(of: handle, InboxQuery(limit: 10_000))
            guard let entry = inbox.first(where: { $0.conversation.id == id }) else {
                note("missing from \(handle)'s inbox")
                continue
            }
            if entry.lastMessage != all.last { note("\(handle)'s inbox shows another last message") }
            if entry.unreadCount != unread { note("\(handle)'s inbox shows \(entry.unreadCount) unread, not \(unread)") }
        }
        return problems
    }
}
