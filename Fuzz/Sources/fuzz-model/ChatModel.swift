// The naive model of the chat store: dictionaries and sorted arrays, every answer by brute force.
// Each write checks its input in the store's order and throws the store's error before it
// changes anything (see ChatWriter and its extensions). Handles are identities by their UTF-8
// bytes, as the store keys them: Swift's String equality would merge "é" and "e\u{301}".

import Parley

struct ModelThread {
    var id: ConversationID
    var platform: String?
    var externalID: String?
    var title: String?
    var status: ConversationStatus = .new
    var participants: [[UInt8]: String] = [:]
    var createdAt: Timestamp
    var lastActivity: Timestamp
    var metadata: Metadata?
    /// In position order.
    var messages: [MessageValue] = []
    var markers: [[UInt8]: MessagePosition] = [:]

    var value: ConversationValue {
        ConversationValue(
            id: id, platform: platform, externalID: externalID, title: title, status: status,
            participants: participants.keys.sorted { $0.lexicographicallyPrecedes($1) }.compactMap { participants[$0] },
            createdAt: createdAt, lastActivity: lastActivity, messageCount: messages.count,
            tokenTotal: messages.reduce(0) { $0 + $1.tokens }, metadata: metadata)
    }

    /// Messages after `user`'s read marker (all without one).
    func unread(_ user: [UInt8]) -> Int {
        guard let marker = markers[user] else { return messages.count }
        return messages.filter { $0.position > marker }.count
    }
}

struct ChatModel {
    struct External: Hashable {
        var platform: String
        var externalID: String
    }

    var users: [[UInt8]: User] = [:]
    var threads: [ConversationID: ModelThread] = [:]
    var externals: [External: ConversationID] = [:]
    var states: [StateKey: StateView] = [:]
    var nextMessageID: UInt64 = 1

    static func bytes(_ handle: String) -> [UInt8] { Array(handle.utf8) }
    static func validName(_ name: String) -> Bool { (1...Limits.maximumNameBytes).contains(name.utf8.count) }
    static let invalid = ParleyError.invalidArgument("")

    func thread(_ id: ConversationID) throws -> ModelThread {
        guard let thread = threads[id] else { throw ParleyError.unknownConversation(id) }
        return thread
    }

    func requireUser(_ handle: String) throws {
        guard users[Self.bytes(handle)] != nil else { throw ParleyError.unknownUser(handle) }
    }

    // MARK: - Writes

    mutating func upsertUser(_ handle: String, displayName: String?, metadata: Metadata?, now: Timestamp) throws -> User {
        guard Self.validName(handle) else { throw Self.invalid }
        if let displayName, displayName.utf8.count > Limits.maximumTitleBytes { throw Self.invalid }
        var user = users[Self.bytes(handle)] ?? User(handle: handle, createdAt: now)
        if let displayName { user.displayName = displayName }
        if let metadata { user.metadata = metadata }
        users[Self.bytes(handle)] = user
        return user
    }

    /// The checks of `createConversation`, in the store's order.
    func validate(_ new: NewConversation) throws {
        var seen = Set<[UInt8]>()
        let handles = new.participants.filter { seen.insert(Self.bytes($0)).inserted }
            .sorted { Self.bytes($0).lexicographicallyPrecedes(Self.bytes($1)) }
        guard !handles.isEmpty else { throw ParleyError.noParticipants }
        for handle in handles {
            guard Self.validName(handle) else { throw Self.invalid }
            try requireUser(handle)
        }
        guard (new.platform == nil) == (new.externalID == nil) else { throw Self.invalid }
        if let platform = new.platform, let externalID = new.externalID {
            guard Self.validName(platform), Self.validName(externalID) else { throw Self.invalid }
            if externals[External(platform: platform, externalID: externalID)] != nil {
                throw ParleyError.duplicateExternalID(platform: platform, externalID: externalID)
            }
        }
        if let title = new.title, title.utf8.count > Limits.maximumTitleBytes { throw Self.invalid }
    }

    mutating func create(_ new: NewConversation, id: ConversationID, now: Timestamp) throws {
        try validate(new)
        let createdAt = new.createdAt ?? now
        var thread = ModelThread(
            id: id, platform: new.platform, externalID: new.externalID, title: new.title, createdAt: createdAt,
            lastActivity: createdAt, metadata: new.metadata)
        for handle in new.participants { thread.participants[Self.bytes(handle)] = handle }
        threads[id] = thread
        if let platform = new.platform, let externalID = new.externalID {
            externals[External(platform: platform, externalID: externalID)] = id
        }
    }

    mutating func append(_ batch: [NewMessage], to id: ConversationID, now: Timestamp) throws -> [MessageValue] {
        var thread = try thread(id)
        guard thread.status != .closed else { throw ParleyError.conversationClosed(id) }
        var prepared: [MessageValue] = []
        var next = nextMessageID
        for new in batch {
            guard Self.validName(new.sender) else { throw Self.invalid }
            guard thread.participants[Self.bytes(new.sender)] != nil else {
                throw ParleyError.notAParticipant(user: new.sender, conversation: id)
            }
            guard Self.validName(new.contentType) else { throw Self.invalid }
            if let tokens = new.tokens, tokens < 0 || tokens > Int(Int32.max) { throw Self.invalid }
            for attachment in new.attachments where !Self.validName(attachment.mimeType) || attachment.size < 0 {
                throw Self.invalid
            }
            prepared.append(
                MessageValue(
                    id: MessageID(rawValue: next), conversation: id, sender: new.sender, role: new.role,
                    contentType: new.contentType, text: new.text, attachments: new.attachments,
                    tokens: new.tokens ?? (new.text.utf8.count + 3) / 4, status: new.status,
                    createdAt: new.createdAt ?? now, metadata: new.metadata))
            next += 1
        }
        guard !prepared.isEmpty else { return [] }
        for message in prepared {
            let index = thread.messages.firstIndex { $0.position > message.position } ?? thread.messages.count
            thread.messages.insert(message, at: index)
            thread.lastActivity = max(thread.lastActivity, message.createdAt)
            let sender = Self.bytes(message.sender)
            if thread.markers[sender].map({ $0 < message.position }) ?? true { thread.markers[sender] = message.position }
        }
        if thread.status == .new || thread.status == .archived { thread.status = .active }
        nextMessageID = next
        threads[id] = thread
        return prepared
    }

    mutating func markRead(user: String, conversation id: ConversationID, through message: MessageID) throws {
        var thread = try thread(id)
        let key = Self.bytes(user)
        guard thread.participants[key] != nil else {
            try requireUser(user)
            throw ParleyError.notAParticipant(user: user, conversation: id)
        }
        guard let found = thread.messages.first(where: { $0.id == message }) else { throw ParleyError.unknownMessage(message) }
        if thread.markers[key].map({ $0 < found.position }) ?? true { thread.markers[key] = found.position }
        threads[id] = thread
    }

    static func validateTTL(_ ttl: Double) throws {
        guard !(ttl < 0) else { throw ParleyError.negativeTTL(ttl) }
        guard ttl.isFinite else { throw invalid }
    }

    mutating func setState(_ key: StateKey, value: [UInt8], ttl: Double, now: Timestamp) throws {
        switch key {
        case .conversation(let id): _ = try thread(id)
        case .custom(let name): guard (1...Limits.maximumStateKeyBytes).contains(name.utf8.count) else { throw Self.invalid }
        }
        try Self.validateTTL(ttl)
        states[key] = StateView(value: value, expiresAt: now.adding(seconds: ttl))
    }

    func state(_ key: StateKey, now: Timestamp) -> StateView? {
        guard let value = states[key], value.expiresAt > now else { return nil }
        return value
    }

    mutating func touchState(_ key: StateKey, ttl: Double, now: Timestamp) throws -> Bool {
        try Self.validateTTL(ttl)
        guard var value = state(key, now: now) else { return false }
        value.expiresAt = now.adding(seconds: ttl)
        states[key] = value
        return true
    }

    mutating func deleteState(_ key: StateKey, now: Timestamp) -> Bool {
        defer { states[key] = nil }
        return state(key, now: now) != nil
    }

    mutating func archive(inactiveForDays days: Double, now: Timestamp) throws -> Int {
        guard days >= 0, days.isFinite else { throw Self.invalid }
        let cutoff = now.adding(seconds: -days * 86_400)
        var archived = 0
        for (id, thread) in threads where (thread.status == .new || thread.status == .active) && thread.lastActivity < cutoff {
            threads[id]?.status = .archived
            archived += 1
        }
        return archived
    }

    mutating func purge(olderThanDays days: Double, now: Timestamp) throws -> Int {
        guard days >= 0, days.isFinite else { throw Self.invalid }
        let cutoff = now.adding(seconds: -days * 86_400)
        var purged = 0
        for (id, thread) in threads {
            let kept = thread.messages.filter { $0.createdAt >= cutoff }
            purged += thread.messages.count - kept.count
            threads[id]?.messages = kept
        }
        return purged
    }

    mutating func delete(_ id: ConversationID) throws {
        let thread = try thread(id)
        if let platform = thread.platform, let externalID = thread.externalID {
            externals[External(platform: platform, externalID: externalID)] = nil
        }
        states[.conversation(id)] = nil
        threads[id] = nil
    }

    mutating func setStatus(_ status: ConversationStatus, of id: ConversationID) throws {
        _ = try thread(id)
        threads[id]?.status = status
    }

    mutating func join(_ handle: String, _ id: ConversationID) throws -> Bool {
        let thread = try thread(id)
        try requireUser(handle)
        guard thread.participants[Self.bytes(handle)] == nil else { return false }
        threads[id]?.participants[Self.bytes(handle)] = handle
        return true
    }

    mutating func leave(_ handle: String, _ id: ConversationID) throws {
        let thread = try thread(id)
        guard thread.participants[Self.bytes(handle)] != nil else {
            throw ParleyError.notAParticipant(user: handle, conversation: id)
        }
        guard thread.participants.count > 1 else { throw ParleyError.noParticipants }
        threads[id]?.participants[Self.bytes(handle)] = nil
        threads[id]?.markers[Self.bytes(handle)] = nil
    }
}
