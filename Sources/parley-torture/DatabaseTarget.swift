// The writer's side of `WorkloadTarget`: the chat store's own API inside one write transaction.
// Slots are found through their (platform, external id), the only identity the parent can know.

import Parley

struct DatabaseTarget: WorkloadTarget {
    let chat: ChatWriter

    private func id(_ slot: String) throws -> ConversationID {
        guard let conversation = try chat.conversation(platform: Workload.platform, externalID: slot) else {
            throw TortureError.workload("slot \(slot) has no conversation")
        }
        return conversation.id
    }

    private func key(_ name: StateName) throws -> StateKey {
        switch name {
        case .custom(let key): return .custom(key)
        case .conversation(let slot): return .conversation(try id(slot))
        }
    }

    func slot(_ name: String) throws -> SlotInfo? {
        guard let conversation = try chat.conversation(platform: Workload.platform, externalID: name) else { return nil }
        return SlotInfo(status: conversation.status, participants: conversation.participants, messageCount: conversation.messageCount)
    }

    func userExists(_ handle: String) throws -> Bool { try chat.user(handle) != nil }

    func messageID(slot: String, index: Int) throws -> MessageID? {
        try chat.messages(in: try id(slot), indices: index..<(index + 1)).first?.id
    }

    mutating func upsertUser(_ handle: String, displayName: String?, metadata: Metadata?) throws {
        try chat.upsertUser(handle, displayName: displayName, metadata: metadata)
    }

    mutating func createConversation(slot: String, _ new: NewConversation) throws {
        _ = try chat.createConversation(new)
    }

    mutating func append(_ messages: [NewMessage], slot: String) throws -> [MessageID] {
        try chat.append(contentsOf: messages, to: try id(slot)).map(\.id)
    }

    mutating func setStatus(_ status: ConversationStatus, slot: String) throws { try chat.setStatus(status, of: try id(slot)) }

    mutating func setTitle(_ title: String?, slot: String) throws { try chat.setTitle(title, of: try id(slot)) }

    mutating func deleteConversation(slot: String) throws { try chat.deleteConversation(try id(slot)) }

    mutating func addParticipant(_ handle: String, slot: String) throws { try chat.addParticipant(handle, to: try id(slot)) }

    mutating func removeParticipant(_ handle: String, slot: String) throws { try chat.removeParticipant(handle, from: try id(slot)) }

    mutating func markRead(user: String, slot: String, through message: MessageID) throws {
        try chat.markRead(user: user, conversation: try id(slot), through: message)
    }

    mutating func setState(_ name: StateName, value: [UInt8], ttl: Double) throws {
        try chat.setState(try key(name), value: value, ttl: ttl)
    }

    mutating func touchState(_ name: StateName, ttl: Double) throws { try chat.touchState(try key(name), ttl: ttl) }

    mutating func deleteState(_ name: StateName) throws { try chat.deleteState(try key(name)) }

    mutating func purge(olderThanDays days: Double) throws { try chat.purgeMessages(olderThanDays: days) }

    mutating func archive(inactiveForDays days: Double) throws { try chat.archiveConversations(inactiveForDays: days) }
}

/// The tool's own errors (the database's arrive as `ParleyError`).
enum TortureError: Error, CustomStringConvertible {
    /// The workload asked for something its own rules exclude: a bug in the tool, or a state
    /// that differs from what the model says.
    case workload(String)
    case system(String)
    case usage(String)

    var description: String {
        switch self {
        case .workload(let text): return "workload: \(text)"
        case .system(let text): return text
        case .usage(let text): return text
        }
    }
}
