// Reading the chat store: every query, written once over `KeyValueView`, so that it runs on a
// snapshot (`Database.read`) and inside a write transaction (`ChatWriter` inherits it).

import Glibc

/// A consistent view of the chat store, as of one commit (or, inside ``Database/write(durability:_:)``,
/// as the transaction has changed it so far). Use it only inside the closure it was passed to.
public class ChatReader {
    let view: any KeyValueView
    let store: StoreContext

    init(view: any KeyValueView, store: StoreContext) {
        self.view = view
        self.store = store
    }

    /// The store's clock (wall time unless the options replaced it).
    var now: Timestamp { store.clock() }

    // MARK: - Users

    /// The user with this handle, or nil.
    public func user(_ handle: String) throws -> User? {
        guard let bytes = try storage({ try view.get(Tree.users, Key.handle(handle)) }) else { return nil }
        return try UserCodec.decode(handle: handle, bytes)
    }

    /// Number of users.
    public func userCount() throws -> Int { Int(try storage { try view.count(Tree.users) }) }

    /// Users in handle order, starting after `handle` (nil: from the first), at most `limit`.
    public func users(after handle: String? = nil, limit: Int = 100) throws -> [User] {
        try checkLimit(limit)
        let start = handle.map { Key.handle($0) + [0] } ?? []
        return try storage { try view.entries(Tree.users, from: start, to: nil, limit: limit) }.map { entry in
            guard let handle = validUTF8String(entry.key) else {
                throw ParleyError.corruptRecord(tree: Tree.users, reason: "a handle is not UTF-8")
            }
            return try UserCodec.decode(handle: handle, entry.value)
        }
    }

    func requireUser(_ handle: String) throws {
        guard try storage({ try view.get(Tree.users, Key.handle(handle)) }) != nil else { throw ParleyError.unknownUser(handle) }
    }

    // MARK: - Conversations

    func record(_ id: ConversationID) throws -> ConversationRecord? {
        guard let bytes = try storage({ try view.get(Tree.conversations, id.bytes) }) else { return nil }
        return try ConversationRecord(decoding: bytes, id: id)
    }

    /// The encoded records of `ids`, in their order (nil for one that does not exist), looked up
    /// together so that their pages are fetched side by side. Decoded one at a time by the
    /// caller, so that no array of decoded records is built and copied out of.
    func encodedRecords(_ ids: [ConversationID]) throws -> [Bytes?] {
        try storage { try view.getMany(Tree.conversations, ids.map(\.bytes)) }
    }

    /// Throws `unknownConversation` unless the conversation exists; for reads that need only
    /// that, it spares decoding the record (participants, the newest message's copy).
    func requireConversation(_ id: ConversationID) throws {
        guard try storage({ try view.get(Tree.conversations, id.bytes) }) != nil else { throw ParleyError.unknownConversation(id) }
    }

    func requireRecord(_ id: ConversationID) throws -> ConversationRecord {
        guard let record = try record(id) else { throw ParleyError.unknownConversation(id) }
        return record
    }

    /// Handles of a conversation's participants, in byte order.
    func participantHandles(_ id: ConversationID) throws -> [String] {
        try requireRecord(id).participantHandles
    }

    func isParticipant(_ handle: String, of id: ConversationID) throws -> Bool {
        try record(id)?.memberIndex(handle) != nil
    }

    /// The conversation with this id, or nil.
    public func conversation(_ id: ConversationID) throws -> Conversation? {
        guard let record = try record(id) else { return nil }
        return record.conversation(id: id)
    }

    /// The conversation with this (platform, external id), or nil.
    public func conversation(platform: String, externalID: String) throws -> Conversation? {
        guard let bytes = try storage({ try view.get(Tree.external, Key.external(platform: platform, externalID: externalID)) })
        else { return nil }
        guard let id = ConversationID(bytes: bytes) else {
            throw ParleyError.corruptRecord(tree: Tree.external, reason: "a conversation id must be 16 bytes")
        }
        return try conversation(id)
    }

    /// Number of conversations.
    public func conversationCount() throws -> Int { Int(try storage { try view.count(Tree.conversations) }) }

    /// Conversations in id order, starting after `id` (nil: from the first), at most `limit`:
    /// a walk over every conversation, a page at a time.
    public func conversations(after id: ConversationID? = nil, limit: Int = 100) throws -> [Conversation] {
        try checkLimit(limit)
        let start = id.map { $0.bytes + [0] } ?? []
        return try storage { try view.entries(Tree.conversations, from: start, to: nil, limit: limit) }.map { entry in
            guard let id = ConversationID(bytes: entry.key) else {
                throw ParleyError.corruptRecord(tree: Tree.conversations, reason: "a key must be 16 bytes")
            }
            return try ConversationRecord(decoding: entry.value, id: id).conversation(id: id)
        }
    }

    /// Conversations with `status` whose last activity is before `lastActiveBefore` (all of them
    /// when nil), least recently active first, at most `limit`.
    public func conversations(
        status: ConversationStatus, lastActiveBefore: Timestamp? = nil, limit: Int = 100
    ) throws -> [Conversation] {
        try checkLimit(limit)
        let start: [UInt8] = [status.code]
        let end = lastActiveBefore.map { Key.status(status, $0, ConversationID(uncheckedBytes: [UInt8](repeating: 0, count: 16))) }
            ?? [status.code + 1]
        return try storage { try view.entries(Tree.status, from: start, to: end, limit: limit) }.compactMap { entry in
            guard entry.key.count == 25, let id = ConversationID(bytes: Array(entry.key[9...])) else {
                throw ParleyError.corruptRecord(tree: Tree.status, reason: "a key must be 25 bytes")
            }
            return try conversation(id)
        }
    }

    // MARK: - Messages

    /// The message with this id, or nil.
    public func message(_ id: MessageID) throws -> Message? {
        guard let located = try locate(id) else { return nil }
        return try message(at: located.position, in: located.conversation)
    }

    func locate(_ id: MessageID) throws -> (conversation: ConversationID, position: MessagePosition)? {
        guard let bytes = try storage({ try view.get(Tree.locator, Key.locator(id)) }) else { return nil }
        guard bytes.count == 24, let conversation = ConversationID(bytes: Array(bytes[0..<16])) else {
            throw ParleyError.corruptRecord(tree: Tree.locator, reason: "an entry must be 24 bytes")
        }
        let at = timestamp(fromOrderedBits: Key.readBE(bytes[16..<24]))
        return (conversation, MessagePosition(createdAt: at, id: id))
    }

    /// The message at `position` in a conversation: a pending one, or one inside a block.
    func message(at position: MessagePosition, in conversation: ConversationID) throws -> Message? {
        let key = Key.message(conversation, position)
        if let bytes = try storage({ try view.get(Tree.pending, key) }) {
            return try MessageCodec.decodePending(bytes, conversation: conversation, position: position)
        }
        let stream = try storage { try messageStream(conversation, forward: true, from: before(position)) }
        guard let found = try storage({ try stream.next() }), found.position == position else { return nil }
        return found
    }

    /// A walk over a conversation's messages through the store's dictionaries and its cache of
    /// decoded blocks (see ``MessageStream``).
    func messageStream(_ conversation: ConversationID, forward: Bool, from start: MessagePosition?) throws -> MessageStream {
        try MessageStream(
            view: view, dictionaries: dictionaries, decoded: store.decodedBlocks, conversation: conversation, forward: forward,
            from: start)
    }

    /// The position just before `position` (so a stream "after" it starts at it).
    private func before(_ position: MessagePosition) -> MessagePosition {
        if position.id.rawValue > 0 { return MessagePosition(createdAt: position.createdAt, id: MessageID(rawValue: position.id.rawValue - 1)) }
        return MessagePosition(createdAt: Timestamp(microseconds: position.createdAt.microseconds &- 1), id: MessageID(rawValue: .max))
    }

    /// A page of a conversation's messages: see ``MessageQuery``.
    public func messages(in conversation: ConversationID, _ query: MessageQuery = MessageQuery()) throws -> [Message] {
        try requireConversation(conversation)
        if let limit = query.limit { try checkLimit(limit) }
        // Both bounds exclusive. Ids start at 1, so (t, 0) sorts before every message at time t.
        var lower = query.after
        var upper = query.before
        if let range = query.timeRange {
            let from = MessagePosition(createdAt: range.lowerBound, id: MessageID(rawValue: 0))
            let to = MessagePosition(createdAt: range.upperBound, id: MessageID(rawValue: 0))
            if lower.map({ $0 < from }) ?? true { lower = from }
            if upper.map({ $0 > to }) ?? true { upper = to }
        }
        let limit = query.limit ?? .max
        var out: [Message] = []
        guard limit > 0 else { return out }
        out.reserveCapacity(min(limit, 256))
        let forward = query.order == .oldestFirst
        let stream = try storage {
            try messageStream(conversation, forward: forward, from: forward ? lower : upper)
        }
        while out.count < limit, let message = try storage({ try stream.next() }) {
            if forward, let upper, message.position >= upper { break }
            if !forward, let lower, message.position <= lower { break }
            if let roles = query.roles, !roles.contains(message.role) { continue }
            if let sender = query.sender, !message.sender.utf8.elementsEqual(sender.utf8) { continue }
            out.append(message)
        }
        return out
    }

    /// Messages by index, as a messenger pages: index 0 is the oldest message with `.oldestFirst`,
    /// the newest with `.newestFirst`; returns those at `indices` that exist, in that order.
    public func messages(in conversation: ConversationID, indices: Range<Int>, order: MessageOrder = .oldestFirst) throws -> [Message] {
        try requireConversation(conversation)
        guard indices.lowerBound >= 0 else { throw ParleyError.invalidArgument("indices must not be negative") }
        let stream = try storage {
            try messageStream(conversation, forward: order == .oldestFirst, from: nil)
        }
        guard try storage({ try stream.skip(indices.lowerBound) }) == indices.lowerBound else { return [] }
        var out: [Message] = []
        while out.count < indices.count, let message = try storage({ try stream.next() }) { out.append(message) }
        return out
    }

    /// Number of messages in a conversation.
    public func messageCount(in conversation: ConversationID) throws -> Int {
        Int(clamping: try requireRecord(conversation).messageCount)
    }

    /// The newest messages whose tokens, with every system message's, fit `tokenBudget`: the
    /// conversation's system messages plus the longest run of newest other messages that fits,
    /// oldest first.
    public func contextWindow(in conversation: ConversationID, tokenBudget: Int) throws -> ContextWindow {
        try requireConversation(conversation)
        guard tokenBudget >= 0 else { throw ParleyError.invalidArgument("a token budget must not be negative") }
        var system: [Message] = []
        for entry in try storage({ try view.entries(Tree.system, prefix: conversation.bytes) }) {
            guard let position = Key.position(inMessageKey: entry.key) else {
                throw ParleyError.corruptRecord(tree: Tree.system, reason: "a key must be 32 bytes")
            }
            guard let message = try message(at: position, in: conversation) else {
                throw ParleyError.corruptRecord(tree: Tree.system, reason: "system message \(position.id) is missing")
            }
            system.append(message)
        }
        var tokens = system.reduce(0) { $0 + $1.tokens }
        let systemOverBudget = tokens > tokenBudget
        var recent: [Message] = []
        var truncated = false
        let stream = try storage { try messageStream(conversation, forward: false, from: nil) }
        while let message = try storage({ try stream.next() }) {
            if message.role == .system { continue }
            if tokens + message.tokens > tokenBudget {
                truncated = true
                break
            }
            tokens += message.tokens
            recent.append(message)
        }
        var messages = system + recent
        messages.sort { $0.position < $1.position }
        return ContextWindow(messages: messages, tokens: tokens, truncated: truncated, systemOverBudget: systemOverBudget)
    }

    // MARK: - Read markers and unread counts

    /// The position of the last message `user` has read in `conversation`, or nil.
    public func readMarker(user: String, conversation: ConversationID) throws -> MessagePosition? {
        try marker(user, conversation)?.position
    }

    func marker(_ user: String, _ conversation: ConversationID) throws -> MarkerRecord? {
        guard let record = try record(conversation), let index = record.memberIndex(user) else { return nil }
        return record.members[index].marker
    }

    /// Messages of a conversation at or before `position`.
    func rank(of position: MessagePosition, in conversation: ConversationID, record: ConversationRecord) throws -> Int64 {
        if let last = record.lastPosition, position >= last { return record.messageCount }
        let stream = try storage { try messageStream(conversation, forward: true, from: position) }
        return record.messageCount - Int64(try storage { try stream.countRemaining() })
    }

    /// Messages of `conversation` after `user`'s read marker (all of them when there is none).
    public func unreadCount(user: String, conversation: ConversationID) throws -> Int {
        let record = try requireRecord(conversation)
        try requireUser(user)
        return try unreadCount(user: user, conversation: conversation, record: record)
    }

    func unreadCount(user: String, conversation: ConversationID, record: ConversationRecord) throws -> Int {
        let readCount = record.memberIndex(user).flatMap { record.members[$0].marker?.readCount } ?? 0
        return Self.unread(messageCount: record.messageCount, readCount: readCount)
    }

    /// Messages past a member's read marker (none for a marker past the count, which a stored
    /// count bounded by `maximumStoredCount` cannot overflow).
    static func unread(messageCount: Int64, readCount: Int64) -> Int {
        Int(clamping: max(0, messageCount - readCount))
    }

    /// Unread messages over every conversation `user` takes part in.
    public func unreadCount(user: String) throws -> Int {
        try requireUser(user)
        var total = 0
        let ids = try inboxConversationIDs(user: user)
        for start in stride(from: 0, to: ids.count, by: Self.recordBatch) {
            let batch = Array(ids[start..<min(start + Self.recordBatch, ids.count)])
            for (id, bytes) in zip(batch, try encodedRecords(batch)) {
                guard let bytes else { continue }
                total += try unreadCount(user: user, conversation: id, record: try ConversationRecord(decoding: bytes, id: id))
            }
        }
        return total
    }

    // MARK: - Inbox

    /// Conversation records an inbox looks up at once: a page of 20 rows in one go, and a bound
    /// on what a large offset or a status filter reads ahead.
    static let recordBatch = 64

    private func inboxConversationIDs(user: String) throws -> [ConversationID] {
        try storage { try view.entries(Tree.inbox, prefix: Key.inboxPrefix(user)) }.map { entry in
            guard entry.key.count >= 24, let id = ConversationID(bytes: Array(entry.key.suffix(16))) else {
                throw ParleyError.corruptRecord(tree: Tree.inbox, reason: "a key is too short")
            }
            return id
        }
    }

    /// `user`'s conversations, most recently active first, each with its newest message and the
    /// user's unread count. Page with ``InboxQuery/after`` or ``InboxQuery/offset``.
    public func inbox(of user: String, _ query: InboxQuery = InboxQuery()) throws -> [InboxEntry] {
        if query.limit < 0 || query.offset < 0 {
            // An unknown user is reported before a bad argument.
            try requireUser(user)
            try checkLimit(query.limit)
            throw ParleyError.invalidArgument("an offset must not be negative")
        }
        let prefix = Key.inboxPrefix(user)
        let userBytes = Array(user.utf8)
        let cursor = try storage { try view.cursor(Tree.inbox) }
        var entry = try storage {
            try cursor.seek(atOrAfter: query.after.map { Key.inbox(user, $0.lastActivity, $0.conversation) + [0] } ?? prefix)
        }
        // Inbox rows are only made for participants, who are users, and users are never deleted:
        // a row under the prefix shows the user exists without a lookup of its own.
        if entry.map({ !$0.key.hasPrefix(prefix) }) ?? true { try requireUser(user) }
        var skipped = 0
        var out: [InboxEntry] = []
        while out.count < query.limit {
            // The next rows' conversations, as many as the page still needs (skipped ones
            // included), looked up together; a status filter that drops some asks for more.
            // Each term is bounded first: a limit or an offset near Int.max must not overflow.
            let rows = min(query.limit - out.count, Self.recordBatch)
            let wanted = min(rows + min(max(0, query.offset - skipped), Self.recordBatch), Self.recordBatch)
            var ids: [ConversationID] = []
            while ids.count < wanted, let (key, _) = entry, key.hasPrefix(prefix) {
                entry = try storage { try cursor.next() }
                guard key.count == prefix.count + 24, let id = ConversationID(bytes: Array(key.suffix(16))) else {
                    throw ParleyError.corruptRecord(tree: Tree.inbox, reason: "a key has the wrong length")
                }
                ids.append(id)
            }
            if ids.isEmpty { break }
            for (id, bytes) in zip(ids, try encodedRecords(ids)) where out.count < query.limit {
                guard let bytes else {
                    throw ParleyError.corruptRecord(tree: Tree.inbox, reason: "conversation \(id) is missing")
                }
                if query.statuses != nil || skipped < query.offset {
                    // A row left out needs only its status, not the rest of its record decoded.
                    let status = try InboxRowCodec.status(of: bytes, id: id)
                    if let statuses = query.statuses, !statuses.contains(status) { continue }
                    if skipped < query.offset {
                        skipped += 1
                        continue
                    }
                }
                out.append(try InboxRowCodec.entry(decoding: bytes, id: id, user: userBytes))
            }
        }
        return out
    }

    // MARK: - State

    /// The live state value under `key`, or nil when there is none or it has expired.
    public func state(_ key: StateKey) throws -> StateValue? {
        guard let bytes = try storage({ try view.get(Tree.state, Key.state(key)) }) else { return nil }
        let value = try StateCodec.decode(bytes)
        return value.expiresAt > now ? value : nil
    }

    // MARK: - Stats

    /// Totals for the whole database.
    public func stats() throws -> Stats {
        let counters = try self.counters()
        let cutoff = now.adding(seconds: -30 * 86_400)
        var active = 0
        var recentMessages = 0
        for status in ConversationStatus.allCases {
            let start = Key.status(status, cutoff, ConversationID(uncheckedBytes: [UInt8](repeating: 0, count: 16)))
            for entry in try storage({ try view.entries(Tree.status, from: start, to: [status.code + 1]) }) {
                active += 1
                guard let id = ConversationID(bytes: Array(entry.key.suffix(16))) else { continue }
                let from = MessagePosition(createdAt: cutoff, id: MessageID(rawValue: 0))
                let stream = try storage { try messageStream(id, forward: true, from: from) }
                recentMessages += try storage { try stream.countRemaining() }
            }
        }
        let raw = Int(clamping: counters.rawBytes)
        let stored = Int(clamping: counters.storedBytes)
        return Stats(
            users: try userCount(), conversations: try conversationCount(), activeConversations30d: active,
            messages: Int(clamping: counters.messages), messages30d: recentMessages, tokens: Int(clamping: counters.tokens),
            rawMessageBytes: raw, storedMessageBytes: stored,
            compressionRatio: stored > 0 ? Double(raw) / Double(stored) : 1,
            fileBytes: fileSize(store.path), logBytes: Int(clamping: store.logBytes()))
    }

    func counters() throws -> Counters {
        guard let bytes = try storage({ try view.get(Tree.meta, Key.counters) }) else { return Counters() }
        return try Counters(decoding: bytes)
    }

    func checkLimit(_ limit: Int) throws {
        guard limit >= 0 else { throw ParleyError.invalidArgument("a limit must not be negative") }
    }
}

func fileSize(_ path: String) -> Int {
    var info = stat()
    guard stat(path, &info) == 0 else { return 0 }
    return Int(info.st_size)
}
