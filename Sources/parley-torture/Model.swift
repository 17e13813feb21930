// The parent's model of the database: plain dictionaries and sorted arrays, changed by the same
// executor as the database, following the chat store's documented rules. After a kill, the model
// replayed to the durable ledger position is what the reopened database must hold.

import Parley

/// A stored message as the model knows it (the database's conversation id is not knowable).
struct ModelMessage: Codable, Equatable {
    var id: UInt64
    var sender: String
    var role: Role
    var contentType: String
    var text: String
    var attachments: [Attachment]
    var tokens: Int
    var status: MessageStatus
    var createdAt: Timestamp
    var metadata: Metadata?

    var position: MessagePosition { MessagePosition(createdAt: createdAt, id: MessageID(rawValue: id)) }

    /// True when `message` is this one (every field but the conversation's id).
    func matches(_ message: Message) -> Bool {
        message.id.rawValue == id && message.sender == sender && message.role == role
            && message.contentType == contentType && message.text == text && message.attachments == attachments
            && message.tokens == tokens && message.status == status && message.createdAt == createdAt
            && message.metadata == metadata
    }
}

struct ModelConversation: Codable, Equatable {
    var title: String?
    var metadata: Metadata?
    var status: ConversationStatus
    /// In byte order.
    var participants: [String]
    var createdAt: Timestamp
    var lastActivity: Timestamp
    /// In position order.
    var messages: [ModelMessage]
    /// Each participant's read marker, when they have one.
    var markers: [String: MessagePosition]

    var tokenTotal: Int { messages.reduce(0) { $0 + $1.tokens } }

    /// Messages after `user`'s marker (all of them without one).
    func unread(_ user: String) -> Int {
        guard let marker = markers[user] else { return messages.count }
        return messages.count(where: { $0.position > marker })
    }
}

struct ModelState: Codable, Equatable {
    var value: [UInt8]
    var expiresAt: Timestamp
}

struct Model: Codable, Equatable {
    /// The ledger position this model is at.
    var seq: UInt64 = 0
    var nextMessageID: UInt64 = 1
    var users: [String: User] = [:]
    /// By slot name ("s3", "ledger").
    var conversations: [String: ModelConversation] = [:]
    /// Live or expired: expiry is judged when compared.
    var state: [StateName: ModelState] = [:]
    /// The clock of the transaction being replayed.
    private var now = LogicalClock.time(0)

    /// Replays transaction `plan`, which must be the one after `seq`.
    mutating func replay(_ plan: TransactionPlan) throws {
        guard plan.seq == seq + 1 else { throw TortureError.workload("the model is at \(seq), cannot replay \(plan.seq)") }
        now = LogicalClock.time(plan.seq)
        try Executor.run(plan, on: &self)
        seq = plan.seq
    }

    /// The live state values at the model's position.
    func liveState(_ name: StateName) -> ModelState? {
        guard let value = state[name], value.expiresAt > LogicalClock.time(seq) else { return nil }
        return value
    }

    private func require(_ slot: String) throws -> ModelConversation {
        guard let conversation = conversations[slot] else { throw TortureError.workload("model: slot \(slot) is empty") }
        return conversation
    }

    static func byteOrder(_ a: String, _ b: String) -> Bool { Array(a.utf8).lexicographicallyPrecedes(Array(b.utf8)) }
}

extension Model: WorkloadTarget {
    func slot(_ name: String) throws -> SlotInfo? {
        guard let conversation = conversations[name] else { return nil }
        return SlotInfo(status: conversation.status, participants: conversation.participants, messageCount: conversation.messages.count)
    }

    func userExists(_ handle: String) throws -> Bool { users[handle] != nil }

    func messageID(slot: String, index: Int) throws -> MessageID? {
        let messages = try require(slot).messages
        return messages.indices.contains(index) ? MessageID(rawValue: messages[index].id) : nil
    }

    mutating func upsertUser(_ handle: String, displayName: String?, metadata: Metadata?) throws {
        var user = users[handle] ?? User(handle: handle, createdAt: now)
        if let displayName { user.displayName = displayName }
        if let metadata { user.metadata = metadata }
        users[handle] = user
    }

    mutating func createConversation(slot: String, _ new: NewConversation) throws {
        guard conversations[slot] == nil else { throw TortureError.workload("model: slot \(slot) is taken") }
        var handles: [String] = []
        for handle in new.participants where !handles.contains(where: { $0.utf8.elementsEqual(handle.utf8) }) {
            guard users[handle] != nil else { throw TortureError.workload("model: no user \(handle)") }
            handles.append(handle)
        }
        let created = new.createdAt ?? now
        conversations[slot] = ModelConversation(
            title: new.title, metadata: new.metadata, status: .new, participants: handles.sorted(by: Self.byteOrder),
            createdAt: created, lastActivity: created, messages: [], markers: [:])
    }

    mutating func append(_ messages: [NewMessage], slot: String) throws -> [MessageID] {
        var conversation = try require(slot)
        guard conversation.status != .closed else { throw TortureError.workload("model: slot \(slot) is closed") }
        var newest: [String: MessagePosition] = [:]
        var ids: [MessageID] = []
        for new in messages {
            guard conversation.participants.contains(new.sender) else {
                throw TortureError.workload("model: \(new.sender) is not in \(slot)")
            }
            let message = ModelMessage(
                id: nextMessageID, sender: new.sender, role: new.role, contentType: new.contentType, text: new.text,
                attachments: new.attachments, tokens: new.tokens ?? ChatWriter.estimateTokens(new.text),
                status: new.status, createdAt: new.createdAt ?? now, metadata: new.metadata)
            nextMessageID += 1
            ids.append(MessageID(rawValue: message.id))
            // Messages read back in (created_at, id) order whatever order they arrived in.
            let index = conversation.messages.lastIndex { $0.position < message.position }.map { $0 + 1 } ?? 0
            conversation.messages.insert(message, at: index)
            conversation.lastActivity = max(conversation.lastActivity, message.createdAt)
            newest[new.sender] = max(newest[new.sender] ?? message.position, message.position)
        }
        if !messages.isEmpty, conversation.status == .new || conversation.status == .archived { conversation.status = .active }
        // A sender has read what they wrote: their marker moves forward to their newest message.
        for (sender, position) in newest where conversation.markers[sender].map({ $0 < position }) ?? true {
            conversation.markers[sender] = position
        }
        conversations[slot] = conversation
        return ids
    }

    mutating func setStatus(_ status: ConversationStatus, slot: String) throws {
        var conversation = try require(slot)
        conversation.status = status
        conversations[slot] = conversation
    }

    mutating func setTitle(_ title: String?, slot: String) throws {
        var conversation = try require(slot)
        conversation.title = title
        conversations[slot] = conversation
    }

    mutating func deleteConversation(slot: String) throws {
        _ = try require(slot)
        conversations[slot] = nil
        state[.conversation(slot)] = nil
    }

    mutating func addParticipant(_ handle: String, slot: String) throws {
        var conversation = try require(slot)
        guard users[handle] != nil else { throw TortureError.workload("model: no user \(handle)") }
        guard !conversation.participants.contains(handle) else { return }
        conversation.participants.append(handle)
        conversation.participants.sort(by: Self.byteOrder)
        conversations[slot] = conversation
    }

    mutating func removeParticipant(_ handle: String, slot: String) throws {
        var conversation = try require(slot)
        guard conversation.participants.count > 1, conversation.participants.contains(handle) else {
            throw TortureError.workload("model: cannot remove \(handle) from \(slot)")
        }
        conversation.participants.removeAll { $0 == handle }
        conversation.markers[handle] = nil
        conversations[slot] = conversation
    }

    mutating func markRead(user: String, slot: String, through message: MessageID) throws {
        var conversation = try require(slot)
        guard conversation.participants.contains(user),
            let target = conversation.messages.first(where: { $0.id == message.rawValue })
        else { throw TortureError.workload("model: \(user) cannot mark \(message) read in \(slot)") }
        if conversation.markers[user].map({ $0 < target.position }) ?? true { conversation.markers[user] = target.position }
        conversations[slot] = conversation
    }

    mutating func setState(_ key: StateName, value: [UInt8], ttl: Double) throws {
        if case .conversation(let slot) = key { _ = try require(slot) }
        state[key] = ModelState(value: value, expiresAt: now.adding(seconds: ttl))
    }

    mutating func touchState(_ key: StateName, ttl: Double) throws {
        // Only a live value slides; an expired one stays as it is until it is swept.
        guard var value = state[key], value.expiresAt > now else { return }
        value.expiresAt = now.adding(seconds: ttl)
        state[key] = value
    }

    mutating func deleteState(_ key: StateName) throws { state[key] = nil }

    mutating func purge(olderThanDays days: Double) throws {
        let cutoff = now.adding(seconds: -days * 86_400)
        for (slot, var conversation) in conversations {
            let before = conversation.messages.count
            conversation.messages.removeAll { $0.createdAt < cutoff }
            if conversation.messages.count != before { conversations[slot] = conversation }
        }
    }

    mutating func archive(inactiveForDays days: Double) throws {
        let cutoff = now.adding(seconds: -days * 86_400)
        for (slot, var conversation) in conversations
        where (conversation.status == .new || conversation.status == .active) && conversation.lastActivity < cutoff {
            conversation.status = .archived
            conversations[slot] = conversation
        }
    }
}
