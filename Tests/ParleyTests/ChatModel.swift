// A naive in-memory model of the chat store for `ChatModelTests`: plain dictionaries and sorted
// arrays, every query answered by brute force. Each mutating method checks its input in the same
// order as the store and throws the same `ParleyError` before it changes anything.

import Foundation
@testable import Parley

/// The engine's SplitMix64, so that a failing run can be replayed from its seed.
struct ChatModelRNG: RandomNumberGenerator {
    private var generator: SplitMix64

    init(seed: UInt64) { generator = SplitMix64(seed: seed) }

    mutating func next() -> UInt64 { generator.next() }

    /// A uniform integer in `range` (which must not be empty).
    mutating func int(_ range: Range<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.count))
    }

    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.count))
    }

    mutating func int64(_ range: ClosedRange<Int64>) -> Int64 {
        let span = UInt64(range.upperBound - range.lowerBound) &+ 1
        return range.lowerBound + Int64(span == 0 ? next() >> 1 : next() % span)
    }

    /// True with probability `p`.
    mutating func chance(_ p: Double) -> Bool { Double(next() >> 11) / Double(1 << 53) < p }

    mutating func pick<T>(_ items: [T]) -> T? { items.isEmpty ? nil : items[int(0..<items.count)] }

    /// One of `choices`, each with its weight.
    mutating func weighted<T>(_ choices: [(Double, T)]) -> T {
        let total = choices.reduce(0) { $0 + $1.0 }
        var roll = Double(next() >> 11) / Double(1 << 53) * total
        for (weight, value) in choices where weight > 0 {
            if roll < weight { return value }
            roll -= weight
        }
        return choices.last { $0.0 > 0 }!.1
    }
}

/// The clock the database under test reads: a time the test moves by hand.
final class ChatModelClock: @unchecked Sendable {
    private let lock = NSLock()
    private var microseconds: Int64

    init(start: Int64) { microseconds = start }

    var now: Timestamp {
        lock.lock()
        defer { lock.unlock() }
        return Timestamp(microseconds: microseconds)
    }

    func advance(by delta: Int64) {
        lock.lock()
        microseconds += delta
        lock.unlock()
    }
}

/// The store's totals that do not depend on bytes.
struct ChatModelStats: Equatable, CustomStringConvertible {
    var users: Int
    var conversations: Int
    var activeConversations30d: Int
    var messages: Int
    var messages30d: Int
    var tokens: Int

    init(users: Int, conversations: Int, activeConversations30d: Int, messages: Int, messages30d: Int, tokens: Int) {
        self.users = users
        self.conversations = conversations
        self.activeConversations30d = activeConversations30d
        self.messages = messages
        self.messages30d = messages30d
        self.tokens = tokens
    }

    init(_ stats: Stats) {
        self.init(
            users: stats.users, conversations: stats.conversations, activeConversations30d: stats.activeConversations30d,
            messages: stats.messages, messages30d: stats.messages30d, tokens: stats.tokens)
    }

    var description: String {
        "users \(users), conversations \(conversations), active30d \(activeConversations30d), messages \(messages), "
            + "messages30d \(messages30d), tokens \(tokens)"
    }
}

/// A handle compared as the store compares handles, by its UTF-8 bytes: Swift's String equality
/// would merge canonically equivalent spellings ("é" and "e\u{301}"), which are different users
/// in the store.
struct ChatHandle: Hashable, Comparable {
    let bytes: [UInt8]

    init(_ handle: String) { bytes = Array(handle.utf8) }

    var string: String { String(decoding: bytes, as: UTF8.self) }

    static func < (a: ChatHandle, b: ChatHandle) -> Bool { a.bytes.lexicographicallyPrecedes(b.bytes) }
}

struct ChatModel {
    /// One conversation with its messages (sorted by position) and read markers.
    struct Thread {
        var id: ConversationID
        var platform: String?
        var externalID: String?
        var title: String?
        var status: ConversationStatus
        var participants: Set<ChatHandle>
        var createdAt: Timestamp
        var lastActivity: Timestamp
        var lastPosition: MessagePosition?
        var tokenTotal = 0
        var metadata: Metadata?
        var messages: [Message] = []
        var markers: [ChatHandle: MessagePosition] = [:]

        var value: Conversation {
            Conversation(
                id: id, platform: platform, externalID: externalID, title: title, status: status,
                participants: participants.sorted().map(\.string), createdAt: createdAt,
                lastActivity: lastActivity, messageCount: messages.count, tokenTotal: tokenTotal, metadata: metadata)
        }

        /// Index of the first message at a position greater than `position`.
        func firstIndex(after position: MessagePosition) -> Int {
            var low = 0
            var high = messages.count
            while low < high {
                let middle = (low + high) / 2
                if messages[middle].position <= position { low = middle + 1 } else { high = middle }
            }
            return low
        }

        /// Index of the first message at `position` or greater.
        func firstIndex(atOrAfter position: MessagePosition) -> Int {
            var low = 0
            var high = messages.count
            while low < high {
                let middle = (low + high) / 2
                if messages[middle].position < position { low = middle + 1 } else { high = middle }
            }
            return low
        }

        func unread(for user: ChatHandle) -> Int {
            guard let marker = markers[user] else { return messages.count }
            return messages.count - firstIndex(after: marker)
        }
    }

    struct ExternalKey: Hashable {
        var platform: String
        var externalID: String
    }

    var users: [ChatHandle: User] = [:]
    var threads: [ConversationID: Thread] = [:]
    var externals: [ExternalKey: ConversationID] = [:]
    /// Message id -> where it is.
    var locator: [UInt64: (conversation: ConversationID, position: MessagePosition)] = [:]
    /// User -> conversations they take part in.
    var memberships: [ChatHandle: Set<ConversationID>] = [:]
    var states: [StateKey: StateValue] = [:]
    var nextMessageID: UInt64 = 1

    static func bytesLess(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }

    func hasUser(_ handle: String) -> Bool { users[ChatHandle(handle)] != nil }

    /// A conversation's participants in byte order (none when it does not exist).
    func participants(_ id: ConversationID) -> [String] { (threads[id]?.participants ?? []).sorted().map(\.string) }

    static func validName(_ name: String) -> Bool { (1...Limits.maximumNameBytes).contains(name.utf8.count) }

    static func invalid(_ what: String) -> ParleyError { .invalidArgument(what) }

    func requireThread(_ id: ConversationID) throws -> Thread {
        guard let thread = threads[id] else { throw ParleyError.unknownConversation(id) }
        return thread
    }

    // MARK: - Users

    mutating func upsertUser(_ handle: String, displayName: String?, metadata: Metadata?, now: Timestamp) throws -> User {
        guard Self.validName(handle) else { throw Self.invalid("handle") }
        if let displayName, displayName.utf8.count > Limits.maximumTitleBytes { throw Self.invalid("display name") }
        var user = users[ChatHandle(handle)] ?? User(handle: handle, createdAt: now)
        if let displayName { user.displayName = displayName }
        if let metadata { user.metadata = metadata }
        users[ChatHandle(handle)] = user
        return user
    }

    func user(_ handle: String) -> User? { users[ChatHandle(handle)] }

    func users(after handle: String?, limit: Int) throws -> [User] {
        guard limit >= 0 else { throw Self.invalid("limit") }
        var all = users.values.sorted { Self.bytesLess($0.handle, $1.handle) }
        if let handle { all.removeAll { !Self.bytesLess(handle, $0.handle) } }
        return Array(all.prefix(limit))
    }

    // MARK: - Conversations

    /// The checks of `createConversation`, in the store's order.
    func validate(_ new: NewConversation) throws {
        let handles = Set(new.participants.map(ChatHandle.init)).sorted()
        guard !handles.isEmpty else { throw ParleyError.noParticipants }
        for handle in handles {
            guard Self.validName(handle.string) else { throw Self.invalid("handle") }
            guard users[handle] != nil else { throw ParleyError.unknownUser(handle.string) }
        }
        guard (new.platform == nil) == (new.externalID == nil) else { throw Self.invalid("platform and external id") }
        if let platform = new.platform, let externalID = new.externalID {
            guard Self.validName(platform), Self.validName(externalID) else { throw Self.invalid("platform") }
            if externals[ExternalKey(platform: platform, externalID: externalID)] != nil {
                throw ParleyError.duplicateExternalID(platform: platform, externalID: externalID)
            }
        }
        if let title = new.title, title.utf8.count > Limits.maximumTitleBytes { throw Self.invalid("title") }
    }

    mutating func createConversation(_ new: NewConversation, id: ConversationID, now: Timestamp) throws {
        try validate(new)
        precondition(threads[id] == nil, "the store reused a conversation id")
        let createdAt = new.createdAt ?? now
        let thread = Thread(
            id: id, platform: new.platform, externalID: new.externalID, title: new.title, status: .new,
            participants: Set(new.participants.map(ChatHandle.init)), createdAt: createdAt, lastActivity: createdAt, metadata: new.metadata)
        threads[id] = thread
        if let platform = new.platform, let externalID = new.externalID {
            externals[ExternalKey(platform: platform, externalID: externalID)] = id
        }
        for handle in thread.participants { memberships[handle, default: []].insert(id) }
    }

    func conversation(_ id: ConversationID) -> Conversation? { threads[id]?.value }

    func conversation(platform: String, externalID: String) -> Conversation? {
        externals[ExternalKey(platform: platform, externalID: externalID)].flatMap { threads[$0]?.value }
    }

    func conversations(status: ConversationStatus, lastActiveBefore: Timestamp?, limit: Int) throws -> [Conversation] {
        guard limit >= 0 else { throw Self.invalid("limit") }
        let matching = threads.values.filter { thread in
            thread.status == status && (lastActiveBefore.map { thread.lastActivity < $0 } ?? true)
        }
        let sorted = matching.sorted {
            ($0.lastActivity, $0.id) < ($1.lastActivity, $1.id)
        }
        return sorted.prefix(limit).map(\.value)
    }

    mutating func setStatus(_ status: ConversationStatus, of id: ConversationID) throws {
        var thread = try requireThread(id)
        thread.status = status
        threads[id] = thread
    }

    mutating func setTitle(_ title: String?, of id: ConversationID) throws {
        var thread = try requireThread(id)
        if let title, title.utf8.count > Limits.maximumTitleBytes { throw Self.invalid("title") }
        thread.title = title
        threads[id] = thread
    }

    mutating func setMetadata(_ metadata: Metadata?, of id: ConversationID) throws {
        var thread = try requireThread(id)
        thread.metadata = metadata
        threads[id] = thread
    }

    mutating func addParticipant(_ handle: String, to id: ConversationID) throws -> Bool {
        var thread = try requireThread(id)
        let key = ChatHandle(handle)
        guard users[key] != nil else { throw ParleyError.unknownUser(handle) }
        guard !thread.participants.contains(key) else { return false }
        thread.participants.insert(key)
        threads[id] = thread
        memberships[key, default: []].insert(id)
        return true
    }

    mutating func removeParticipant(_ handle: String, from id: ConversationID) throws {
        var thread = try requireThread(id)
        let key = ChatHandle(handle)
        guard thread.participants.contains(key) else { throw ParleyError.notAParticipant(user: handle, conversation: id) }
        guard thread.participants.count > 1 else { throw ParleyError.noParticipants }
        thread.participants.remove(key)
        thread.markers[key] = nil
        threads[id] = thread
        memberships[key]?.remove(id)
    }

    mutating func deleteConversation(_ id: ConversationID) throws {
        let thread = try requireThread(id)
        for message in thread.messages { locator[message.id.rawValue] = nil }
        for handle in thread.participants { memberships[handle]?.remove(id) }
        if let platform = thread.platform, let externalID = thread.externalID {
            externals[ExternalKey(platform: platform, externalID: externalID)] = nil
        }
        states[.conversation(id)] = nil
        threads[id] = nil
    }

    // MARK: - Messages

    mutating func append(_ batch: [NewMessage], to id: ConversationID, now: Timestamp) throws -> [Message] {
        var thread = try requireThread(id)
        guard thread.status != .closed else { throw ParleyError.conversationClosed(id) }
        guard !batch.isEmpty else { return [] }
        var next = nextMessageID
        var prepared: [Message] = []
        for new in batch {
            guard Self.validName(new.sender) else { throw Self.invalid("sender") }
            guard thread.participants.contains(ChatHandle(new.sender)) else {
                throw ParleyError.notAParticipant(user: new.sender, conversation: id)
            }
            guard Self.validName(new.contentType) else { throw Self.invalid("content type") }
            if let tokens = new.tokens, tokens < 0 || tokens > Int(Int32.max) { throw Self.invalid("tokens") }
            for attachment in new.attachments {
                guard Self.validName(attachment.mimeType), attachment.size >= 0 else { throw Self.invalid("attachment") }
            }
            prepared.append(
                Message(
                    id: MessageID(rawValue: next), conversation: id, sender: new.sender, role: new.role,
                    contentType: new.contentType, text: new.text, attachments: new.attachments,
                    tokens: new.tokens ?? (new.text.utf8.count + 3) / 4, status: new.status,
                    createdAt: new.createdAt ?? now, metadata: new.metadata))
            next += 1
        }
        for message in prepared {
            let position = message.position
            thread.messages.insert(message, at: thread.firstIndex(after: position))
            thread.tokenTotal += message.tokens
            thread.lastActivity = max(thread.lastActivity, message.createdAt)
            thread.lastPosition = max(thread.lastPosition ?? position, position)
            locator[message.id.rawValue] = (id, position)
            let sender = ChatHandle(message.sender)
            if let marker = thread.markers[sender], marker >= position {} else { thread.markers[sender] = position }
        }
        if thread.status == .new || thread.status == .archived { thread.status = .active }
        nextMessageID = next
        threads[id] = thread
        return prepared
    }

    func message(_ id: MessageID) -> Message? {
        guard let located = locator[id.rawValue], let thread = threads[located.conversation] else { return nil }
        let index = thread.firstIndex(atOrAfter: located.position)
        guard index < thread.messages.count, thread.messages[index].id == id else { return nil }
        return thread.messages[index]
    }

    func messages(in id: ConversationID, _ query: MessageQuery) throws -> [Message] {
        let thread = try requireThread(id)
        if let limit = query.limit, limit < 0 { throw Self.invalid("limit") }
        var out = thread.messages.filter { message in
            if let after = query.after, message.position <= after { return false }
            if let before = query.before, message.position >= before { return false }
            if let range = query.timeRange, !range.contains(message.createdAt) { return false }
            if let roles = query.roles, !roles.contains(message.role) { return false }
            // Handles are identities by their bytes (canonically equivalent spellings are
            // different users), so the sender filter compares bytes too.
            if let sender = query.sender, !message.sender.utf8.elementsEqual(sender.utf8) { return false }
            return true
        }
        if query.order == .newestFirst { out.reverse() }
        if let limit = query.limit { out = Array(out.prefix(limit)) }
        return out
    }

    func messages(in id: ConversationID, indices: Range<Int>, order: MessageOrder) throws -> [Message] {
        let thread = try requireThread(id)
        guard indices.lowerBound >= 0 else { throw Self.invalid("indices") }
        let ordered = order == .oldestFirst ? thread.messages : thread.messages.reversed()
        guard indices.lowerBound < ordered.count else { return [] }
        return Array(ordered[indices.lowerBound..<min(indices.upperBound, ordered.count)])
    }

    func messageCount(in id: ConversationID) throws -> Int { try requireThread(id).messages.count }

    func contextWindow(in id: ConversationID, tokenBudget: Int) throws -> ContextWindow {
        let thread = try requireThread(id)
        guard tokenBudget >= 0 else { throw Self.invalid("budget") }
        let system = thread.messages.filter { $0.role == .system }
        var tokens = system.reduce(0) { $0 + $1.tokens }
        let systemOverBudget = tokens > tokenBudget
        var recent: [Message] = []
        var truncated = false
        for message in thread.messages.reversed() where message.role != .system {
            if tokens + message.tokens > tokenBudget {
                truncated = true
                break
            }
            tokens += message.tokens
            recent.append(message)
        }
        let messages = (system + recent).sorted { $0.position < $1.position }
        return ContextWindow(messages: messages, tokens: tokens, truncated: truncated, systemOverBudget: systemOverBudget)
    }

    // MARK: - Read markers, unread counts, inboxes

    mutating func markRead(user: String, conversation id: ConversationID, through message: MessageID) throws {
        var thread = try requireThread(id)
        let key = ChatHandle(user)
        guard thread.participants.contains(key) else {
            guard users[key] != nil else { throw ParleyError.unknownUser(user) }
            throw ParleyError.notAParticipant(user: user, conversation: id)
        }
        guard let located = locator[message.rawValue], located.conversation == id else {
            throw ParleyError.unknownMessage(message)
        }
        if let marker = thread.markers[key], marker >= located.position { return }
        thread.markers[key] = located.position
        threads[id] = thread
    }

    func readMarker(user: String, conversation id: ConversationID) -> MessagePosition? { threads[id]?.markers[ChatHandle(user)] }

    func unreadCount(user: String, conversation id: ConversationID) throws -> Int {
        let thread = try requireThread(id)
        guard hasUser(user) else { throw ParleyError.unknownUser(user) }
        return thread.unread(for: ChatHandle(user))
    }

    func unreadCount(user: String) throws -> Int {
        guard hasUser(user) else { throw ParleyError.unknownUser(user) }
        let key = ChatHandle(user)
        return (memberships[key] ?? []).reduce(0) { $0 + (threads[$1]?.unread(for: key) ?? 0) }
    }

    /// A user's conversations in inbox order: last activity descending, then id bytes ascending.
    func inboxThreads(of user: String) -> [Thread] {
        (memberships[ChatHandle(user)] ?? []).compactMap { threads[$0] }.sorted {
            $0.lastActivity != $1.lastActivity ? $0.lastActivity > $1.lastActivity : $0.id < $1.id
        }
    }

    func inbox(of user: String, _ query: InboxQuery) throws -> [InboxEntry] {
        guard hasUser(user) else { throw ParleyError.unknownUser(user) }
        guard query.limit >= 0 else { throw Self.invalid("limit") }
        guard query.offset >= 0 else { throw Self.invalid("offset") }
        var list = inboxThreads(of: user)
        if let after = query.after {
            list.removeAll { thread in
                !(thread.lastActivity < after.lastActivity
                    || (thread.lastActivity == after.lastActivity && thread.id > after.conversation))
            }
        }
        if let statuses = query.statuses { list.removeAll { !statuses.contains($0.status) } }
        return list.dropFirst(query.offset).prefix(query.limit).map { thread in
            InboxEntry(conversation: thread.value, lastMessage: thread.messages.last, unreadCount: thread.unread(for: ChatHandle(user)))
        }
    }

    // MARK: - State

    static func validateTTL(_ ttl: Double) throws {
        guard !(ttl < 0) else { throw ParleyError.negativeTTL(ttl) }
        guard ttl.isFinite else { throw invalid("ttl") }
    }

    mutating func setState(_ key: StateKey, value: [UInt8], ttl: Double, now: Timestamp) throws {
        switch key {
        case .conversation(let id): _ = try requireThread(id)
        case .custom(let name):
            guard (1...Limits.maximumStateKeyBytes).contains(name.utf8.count) else { throw Self.invalid("state key") }
        }
        try Self.validateTTL(ttl)
        states[key] = StateValue(value: value, expiresAt: now.adding(seconds: ttl))
    }

    func state(_ key: StateKey, now: Timestamp) -> StateValue? {
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
        let live = state(key, now: now) != nil
        states[key] = nil
        return live
    }

    // MARK: - Lifecycle

    mutating func archiveConversations(inactiveForDays days: Double, now: Timestamp) throws -> Int {
        guard days >= 0, days.isFinite else { throw Self.invalid("days") }
        let cutoff = now.adding(seconds: -days * 86_400)
        var archived = 0
        for id in Array(threads.keys) {
            guard var thread = threads[id], thread.status == .new || thread.status == .active,
                thread.lastActivity < cutoff
            else { continue }
            thread.status = .archived
            threads[id] = thread
            archived += 1
        }
        return archived
    }

    mutating func purgeMessages(olderThanDays days: Double, now: Timestamp) throws -> Int {
        guard days >= 0, days.isFinite else { throw Self.invalid("days") }
        let cutoff = now.adding(seconds: -days * 86_400)
        var purged = 0
        for id in Array(threads.keys) {
            guard var thread = threads[id] else { continue }
            let keep = thread.messages.firstIndex { $0.createdAt >= cutoff } ?? thread.messages.count
            guard keep > 0 else { continue }
            for message in thread.messages[..<keep] {
                locator[message.id.rawValue] = nil
                thread.tokenTotal -= message.tokens
            }
            thread.messages.removeFirst(keep)
            if thread.messages.isEmpty { thread.lastPosition = nil }
            threads[id] = thread
            purged += keep
        }
        return purged
    }

    func stats(now: Timestamp) -> ChatModelStats {
        let cutoff = now.adding(seconds: -30 * 86_400)
        var active = 0
        var recent = 0
        var messages = 0
        var tokens = 0
        for thread in threads.values {
            messages += thread.messages.count
            tokens += thread.tokenTotal
            guard thread.lastActivity >= cutoff else { continue }
            active += 1
            recent += thread.messages.count - thread.firstIndex(atOrAfter: MessagePosition(createdAt: cutoff, id: MessageID(rawValue: 0)))
        }
        return ChatModelStats(
            users: users.count, conversations: threads.count, activeConversations30d: active, messages: messages,
            messages30d: recent, tokens: tokens)
    }
}
