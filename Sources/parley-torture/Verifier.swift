// Comparing the reopened database with the model at the durable ledger position: users,
// conversations, every message, read markers and unread counts, state, inboxes, lookups by id,
// totals — all through the public API, on one snapshot. Also reading that position.

import Parley

/// Differences, capped so that a badly broken database does not flood the report.
struct Differences {
    private(set) var lines: [String] = []
    private(set) var total = 0
    let limit: Int

    init(limit: Int = 25) { self.limit = limit }

    mutating func note(_ line: @autoclosure () -> String) {
        total += 1
        if lines.count < limit { lines.append(line()) }
    }

    mutating func expect<T: Equatable>(_ found: T, _ expected: T, _ what: @autoclosure () -> String) {
        if found != expected { note("\(what()): found \(found), expected \(expected)") }
    }

    var isEmpty: Bool { total == 0 }
}

enum Verifier {
    /// The durable ledger position: the seq of the newest ledger message (0 without a ledger).
    static func ledgerPosition(_ chat: ChatReader) throws -> UInt64 {
        guard let ledger = try chat.conversation(platform: Workload.platform, externalID: Ledger.slot) else { return 0 }
        guard let newest = try chat.messages(in: ledger.id, .newest(1)).first else { return 0 }
        guard let seq = Ledger.seq(fromText: newest.text) else {
            throw TortureError.workload("the newest ledger message reads \"\(newest.text)\"")
        }
        return seq
    }

    /// Everything in which `chat` differs from `model`.
    static func compare(_ chat: ChatReader, with model: Model) throws -> Differences {
        var diff = Differences()
        try compareUsers(chat, model, &diff)
        var ids: [String: ConversationID] = [:]
        for conversation in try chat.conversations(after: nil, limit: 100_000) {
            guard conversation.platform == Workload.platform, let slot = conversation.externalID else {
                diff.note("conversation \(conversation.id) is not one of the workload's")
                continue
            }
            ids[slot] = conversation.id
            guard let expected = model.conversations[slot] else {
                diff.note("slot \(slot) holds a conversation the model does not have")
                continue
            }
            try compareConversation(chat, conversation, expected, slot, &diff)
        }
        for slot in model.conversations.keys.sorted() where ids[slot] == nil {
            diff.note("slot \(slot) is missing (the model has \(model.conversations[slot]?.messages.count ?? 0) messages there)")
        }
        try compareState(chat, model, ids, &diff)
        try compareInboxes(chat, model, ids, &diff)
        try compareLookups(chat, model, &diff)
        let stats = try chat.stats()
        let messages = model.conversations.values.reduce(0) { $0 + $1.messages.count }
        let tokens = model.conversations.values.reduce(0) { $0 + $1.tokenTotal }
        diff.expect(stats.users, model.users.count, "stats: users")
        diff.expect(stats.conversations, model.conversations.count, "stats: conversations")
        diff.expect(stats.messages, messages, "stats: messages")
        diff.expect(stats.tokens, tokens, "stats: tokens")
        return diff
    }

    private static func compareUsers(_ chat: ChatReader, _ model: Model, _ diff: inout Differences) throws {
        let users = try chat.users(after: nil, limit: 100_000)
        diff.expect(users.count, model.users.count, "user count")
        for user in users {
            guard let expected = model.users[user.handle] else {
                diff.note("user \(user.handle) is not in the model")
                continue
            }
            diff.expect(user, expected, "user \(user.handle)")
        }
    }

    private static func compareConversation(
        _ chat: ChatReader, _ found: Conversation, _ expected: ModelConversation, _ slot: String, _ diff: inout Differences
    ) throws {
        diff.expect(found.title, expected.title, "\(slot): title")
        diff.expect(found.metadata, expected.metadata, "\(slot): metadata")
        diff.expect(found.status, expected.status, "\(slot): status")
        diff.expect(found.participants, expected.participants, "\(slot): participants")
        diff.expect(found.createdAt, expected.createdAt, "\(slot): created at")
        diff.expect(found.lastActivity, expected.lastActivity, "\(slot): last activity")
        diff.expect(found.messageCount, expected.messages.count, "\(slot): message count")
        diff.expect(found.tokenTotal, expected.tokenTotal, "\(slot): token total")

        let messages = try chat.messages(in: found.id, MessageQuery(order: .oldestFirst))
        diff.expect(messages.count, expected.messages.count, "\(slot): messages read")
        for (index, (message, model)) in zip(messages, expected.messages).enumerated() where !model.matches(message) || message.conversation != found.id {
            diff.note("\(slot): message \(index) is \(describe(message)), expected \(describe(model))")
            break
        }
        // The same messages through the other read paths: newest first, and by index.
        let newest = try chat.messages(in: found.id, .newest(3)).map(\.id.rawValue)
        diff.expect(newest, expected.messages.suffix(3).reversed().map(\.id), "\(slot): newest three")
        if !expected.messages.isEmpty {
            let start = expected.messages.count / 2
            let page = try chat.messages(in: found.id, indices: start..<(start + 5)).map(\.id.rawValue)
            diff.expect(page, expected.messages[start...].prefix(5).map(\.id), "\(slot): page at index \(start)")
        }
        for user in expected.participants {
            diff.expect(try chat.readMarker(user: user, conversation: found.id), expected.markers[user], "\(slot): \(user)'s read marker")
            diff.expect(try chat.unreadCount(user: user, conversation: found.id), expected.unread(user), "\(slot): \(user)'s unread count")
        }
    }

    private static func compareState(
        _ chat: ChatReader, _ model: Model, _ ids: [String: ConversationID], _ diff: inout Differences
    ) throws {
        var names = (0..<Workload.customKeys).map { StateName.custom(Workload.customKey($0)) }
        names += ids.keys.sorted().map { StateName.conversation($0) }
        for name in names {
            let key: StateKey
            switch name {
            case .custom(let custom): key = .custom(custom)
            case .conversation(let slot):
                guard let id = ids[slot] else { continue }
                key = .conversation(id)
            }
            let found = try chat.state(key).map { ModelState(value: $0.value, expiresAt: $0.expiresAt) }
            let expected = model.liveState(name)
            if found != expected {
                diff.note("state \(name): found \(found.map(describe) ?? "none"), expected \(expected.map(describe) ?? "none")")
            }
        }
    }

    private static func compareInboxes(
        _ chat: ChatReader, _ model: Model, _ ids: [String: ConversationID], _ diff: inout Differences
    ) throws {
        let slots = Dictionary(ids.map { ($0.value, $0.key) }, uniquingKeysWith: { first, _ in first })
        for user in model.users.keys.sorted() {
            let inbox = try chat.inbox(of: user, InboxQuery(limit: 100_000))
            var seen: Set<String> = []
            for (index, entry) in inbox.enumerated() {
                guard let slot = slots[entry.conversation.id], let expected = model.conversations[slot] else {
                    diff.note("\(user)'s inbox lists conversation \(entry.conversation.id), unknown to the model")
                    continue
                }
                seen.insert(slot)
                diff.expect(entry.unreadCount, expected.unread(user), "\(user)'s inbox: unread in \(slot)")
                diff.expect(entry.lastMessage?.id.rawValue, expected.messages.last?.id, "\(user)'s inbox: last message of \(slot)")
                if index > 0, inbox[index - 1].conversation.lastActivity < entry.conversation.lastActivity {
                    diff.note("\(user)'s inbox is not newest first at entry \(index)")
                }
            }
            let expected = Set(model.conversations.filter { $0.value.participants.contains(user) }.keys)
            diff.expect(seen.sorted(), expected.sorted(), "\(user)'s inbox")
            let unread = expected.reduce(0) { $0 + (model.conversations[$1]?.unread(user) ?? 0) }
            diff.expect(try chat.unreadCount(user: user), unread, "\(user)'s total unread")
        }
    }

    /// Messages by id: a sample must be found, and no id the model has not handed out may exist
    /// (a commit after the durable position would have used them).
    private static func compareLookups(_ chat: ChatReader, _ model: Model, _ diff: inout Differences) throws {
        let all = model.conversations.values.flatMap(\.messages)
        let stride = max(1, all.count / 24)
        for index in Swift.stride(from: 0, to: all.count, by: stride) {
            let expected = all[index]
            guard let found = try chat.message(MessageID(rawValue: expected.id)) else {
                diff.note("message \(expected.id) is not found by id")
                continue
            }
            if !expected.matches(found) { diff.note("message \(expected.id) by id is \(describe(found))") }
        }
        for id in model.nextMessageID..<(model.nextMessageID + 64) {
            if let found = try chat.message(MessageID(rawValue: id)) {
                diff.note("message \(id) exists beyond the durable position: \(describe(found))")
                break
            }
        }
    }

    private static func describe(_ message: Message) -> String {
        "#\(message.id) at \(message.createdAt) from \(message.sender) (\(message.role.rawValue), \(message.tokens) tokens): \"\(message.text.prefix(40))\""
    }

    private static func describe(_ message: ModelMessage) -> String {
        "#\(message.id) at \(message.createdAt) from \(message.sender) (\(message.role.rawValue), \(message.tokens) tokens): \"\(message.text.prefix(40))\""
    }

    private static func describe(_ state: ModelState) -> String { "\(state.value.count) bytes until \(state.expiresAt)" }
}
