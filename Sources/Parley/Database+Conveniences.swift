// Single operations in their own transaction, for callers that need only one.

extension Database {
    // MARK: Users

    /// Stores or updates a user in its own transaction. See ``ChatWriter/upsertUser(_:displayName:metadata:)``.
    @discardableResult
    public func upsertUser(_ handle: String, displayName: String? = nil, metadata: Metadata? = nil) throws -> User {
        try write { try $0.upsertUser(handle, displayName: displayName, metadata: metadata) }
    }

    /// The user with this handle, or nil.
    public func user(_ handle: String) throws -> User? { try read { try $0.user(handle) } }

    // MARK: Conversations

    /// Creates a conversation in its own transaction and returns its id.
    public func createConversation(_ new: NewConversation) throws -> ConversationID {
        try write { try $0.createConversation(new) }
    }

    /// The conversation with this id, or nil.
    public func conversation(_ id: ConversationID) throws -> Conversation? { try read { try $0.conversation(id) } }

    /// The conversation with this (platform, external id), or nil.
    public func conversation(platform: String, externalID: String) throws -> Conversation? {
        try read { try $0.conversation(platform: platform, externalID: externalID) }
    }

    /// Sets a conversation's status in its own transaction.
    public func setStatus(_ status: ConversationStatus, of id: ConversationID) throws {
        try write { try $0.setStatus(status, of: id) }
    }

    /// Deletes a conversation and everything in it, in its own transaction.
    public func deleteConversation(_ id: ConversationID) throws { try write { try $0.deleteConversation(id) } }

    // MARK: Messages

    /// Appends one message in its own transaction.
    @discardableResult
    public func append(_ message: NewMessage, to conversation: ConversationID, durability: Durability? = nil) throws -> Message {
        try write(durability: durability) { try $0.append(message, to: conversation) }
    }

    /// Appends messages in one transaction.
    @discardableResult
    public func append(
        contentsOf messages: [NewMessage], to conversation: ConversationID, durability: Durability? = nil
    ) throws -> [Message] {
        try write(durability: durability) { try $0.append(contentsOf: messages, to: conversation) }
    }

    /// The message with this id, or nil.
    public func message(_ id: MessageID) throws -> Message? { try read { try $0.message(id) } }

    /// A page of a conversation's messages.
    public func messages(in conversation: ConversationID, _ query: MessageQuery = MessageQuery()) throws -> [Message] {
        try read { try $0.messages(in: conversation, query) }
    }

    /// The context window of a conversation for `tokenBudget`.
    public func contextWindow(in conversation: ConversationID, tokenBudget: Int) throws -> ContextWindow {
        try read { try $0.contextWindow(in: conversation, tokenBudget: tokenBudget) }
    }

    // MARK: Inbox and read markers

    /// A page of `user`'s inbox.
    public func inbox(of user: String, _ query: InboxQuery = InboxQuery()) throws -> [InboxEntry] {
        try read { try $0.inbox(of: user, query) }
    }

    /// Marks messages read up to and including `message`, in its own transaction.
    public func markRead(user: String, conversation: ConversationID, through message: MessageID) throws {
        try write { try $0.markRead(user: user, conversation: conversation, through: message) }
    }

    /// Unread messages of `user` over all their conversations.
    public func unreadCount(user: String) throws -> Int { try read { try $0.unreadCount(user: user) } }

    // MARK: State

    /// The live state value under `key`, or nil.
    public func state(_ key: StateKey) throws -> StateValue? { try read { try $0.state(key) } }

    /// Stores a state value for `ttl` seconds, in its own transaction.
    public func setState(_ key: StateKey, value: [UInt8], ttl: Double = ChatWriter.defaultStateTTL) throws {
        try write { try $0.setState(key, value: value, ttl: ttl) }
    }

    /// Slides a live state value's expiry; false when there is none.
    @discardableResult
    public func touchState(_ key: StateKey, ttl: Double = ChatWriter.defaultStateTTL) throws -> Bool {
        try write { try $0.touchState(key, ttl: ttl) }
    }

    /// Deletes a state value; true when a live one was there.
    @discardableResult
    public func deleteState(_ key: StateKey) throws -> Bool { try write { try $0.deleteState(key) } }

    // MARK: Lifecycle

    /// Archives conversations idle for `days` days; returns how many.
    @discardableResult
    public func archiveConversations(inactiveForDays days: Double) throws -> Int {
        try write { try $0.archiveConversations(inactiveForDays: days) }
    }

    /// Purges messages older than `days` days; returns how many.
    @discardableResult
    public func purgeMessages(olderThanDays days: Double) throws -> Int {
        try write { try $0.purgeMessages(olderThanDays: days) }
    }

    /// Totals for the whole database.
    public func stats() throws -> Stats { try read { try $0.stats() } }
}
