// The shapes of the chat store's queries and their answers: message pages, context windows,
// inbox pages.

/// Which end of a conversation a query starts from.
public enum MessageOrder: String, Sendable, Codable, CaseIterable {
    case newestFirst
    case oldestFirst
}

/// A page of a conversation's messages: an order, a limit, an optional cursor and filters.
public struct MessageQuery: Sendable {
    public var order: MessageOrder
    /// At most this many messages (nil: all that match).
    public var limit: Int?
    /// Only messages strictly after this position (in time order, whatever ``order`` is).
    public var after: MessagePosition?
    /// Only messages strictly before this position.
    public var before: MessagePosition?
    /// Only messages with `createdAt` in this half-open range.
    public var timeRange: Range<Timestamp>?
    /// Only messages with one of these roles.
    public var roles: Set<Role>?
    /// Only messages from this sender.
    public var sender: String?

    public init(
        order: MessageOrder = .newestFirst, limit: Int? = nil, after: MessagePosition? = nil,
        before: MessagePosition? = nil, timeRange: Range<Timestamp>? = nil, roles: Set<Role>? = nil,
        sender: String? = nil
    ) {
        self.order = order
        self.limit = limit
        self.after = after
        self.before = before
        self.timeRange = timeRange
        self.roles = roles
        self.sender = sender
    }

    /// The newest `limit` messages, newest first.
    public static func newest(_ limit: Int) -> MessageQuery { MessageQuery(order: .newestFirst, limit: limit) }
    /// The oldest `limit` messages, oldest first.
    public static func oldest(_ limit: Int) -> MessageQuery { MessageQuery(order: .oldestFirst, limit: limit) }
}

/// The newest messages of a conversation that fit a token budget, with its system messages, in
/// time order: the input of an LLM prompt.
public struct ContextWindow: Hashable, Sendable {
    /// System messages and the newest others that fit, oldest first.
    public var messages: [Message]
    /// Sum of their tokens.
    public var tokens: Int
    /// True when older non-system messages were left out for the budget.
    public var truncated: Bool
    /// True when the system messages alone exceed the budget (they are all included anyway).
    public var systemOverBudget: Bool
}

/// A page of a user's inbox.
public struct InboxQuery: Sendable {
    /// At most this many conversations.
    public var limit: Int
    /// Skip this many first (index paging).
    public var offset: Int
    /// Continue after this entry's ``InboxEntry/cursor`` (cursor paging).
    public var after: InboxCursor?
    /// Only conversations with one of these statuses.
    public var statuses: Set<ConversationStatus>?

    public init(limit: Int = 50, offset: Int = 0, after: InboxCursor? = nil, statuses: Set<ConversationStatus>? = nil) {
        self.limit = limit
        self.offset = offset
        self.after = after
        self.statuses = statuses
    }
}

/// A place in an inbox: the (last activity, conversation) of the last entry seen.
public struct InboxCursor: Hashable, Sendable, Codable {
    public var lastActivity: Timestamp
    public var conversation: ConversationID
    public init(lastActivity: Timestamp, conversation: ConversationID) {
        self.lastActivity = lastActivity
        self.conversation = conversation
    }
}

/// One line of an inbox: a conversation, its newest message and the user's unread count.
public struct InboxEntry: Hashable, Sendable {
    public var conversation: Conversation
    /// The newest message, or nil when the conversation has none.
    public var lastMessage: Message?
    /// Messages after the user's read marker.
    public var unreadCount: Int
    /// Pass as ``InboxQuery/after`` to read the next page.
    public var cursor: InboxCursor { InboxCursor(lastActivity: conversation.lastActivity, conversation: conversation.id) }
}

/// What a state value belongs to.
public enum StateKey: Hashable, Sendable {
    /// The state of one conversation (deleted with it).
    case conversation(ConversationID)
    /// State under a key of the caller's choice (1 to 512 bytes).
    case custom(String)
}

/// A state value and when it expires.
public struct StateValue: Hashable, Sendable {
    public var value: [UInt8]
    public var expiresAt: Timestamp
}

/// Totals for the whole database.
public struct Stats: Hashable, Sendable, Codable {
    public var users: Int
    public var conversations: Int
    /// Conversations with activity in the last 30 days.
    public var activeConversations30d: Int
    public var messages: Int
    /// Messages created in the last 30 days.
    public var messages30d: Int
    public var tokens: Int
    /// Bytes of messages in their encoded, uncompressed form.
    public var rawMessageBytes: Int
    /// Bytes the messages take as stored (compressed blocks, plus pending messages not yet in blocks).
    public var storedMessageBytes: Int
    /// `rawMessageBytes / storedMessageBytes` (1 when there are none).
    public var compressionRatio: Double
    public var fileBytes: Int
    public var logBytes: Int
}
