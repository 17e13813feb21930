// Conversations (threads): who takes part, where they come from, and their lifecycle.

/// Where a conversation is in its lifecycle.
public enum ConversationStatus: String, Hashable, Sendable, Codable, CaseIterable {
    /// Created, no message yet.
    case new
    /// Has messages; the first append moves a `new` conversation here, and an append to an
    /// `archived` one brings it back.
    case active
    /// Put away for inactivity or by hand; still readable, and a new message reactivates it.
    case archived
    /// Finished: readable, but appending to it is refused.
    case closed

    var code: UInt8 {
        switch self {
        case .new: return 0
        case .active: return 1
        case .archived: return 2
        case .closed: return 3
        }
    }

    init?(code: UInt8) {
        switch code {
        case 0: self = .new
        case 1: self = .active
        case 2: self = .archived
        case 3: self = .closed
        default: return nil
        }
    }
}

/// A conversation as stored: its identity, participants, lifecycle and running totals.
public struct Conversation: Hashable, Sendable, Codable {
    public var id: ConversationID
    /// The platform it lives on (for example "slack"), with ``externalID`` unique per platform.
    public var platform: String?
    /// The platform's own id for the conversation.
    public var externalID: String?
    public var title: String?
    public var status: ConversationStatus
    /// Handles of the users taking part, in byte order.
    public var participants: [String]
    public var createdAt: Timestamp
    /// The newest of `createdAt` and every message's `createdAt`; it orders inboxes.
    public var lastActivity: Timestamp
    /// Messages stored now (purges lower it).
    public var messageCount: Int
    /// Sum of the stored messages' token counts.
    public var tokenTotal: Int
    public var metadata: Metadata?
}

/// What ``ChatWriter/createConversation(_:)`` needs to make a conversation.
public struct NewConversation: Sendable {
    /// Handles of existing users; at least one.
    public var participants: [String]
    public var platform: String?
    public var externalID: String?
    public var title: String?
    public var metadata: Metadata?
    /// When it started; now when nil (imports pass the original time).
    public var createdAt: Timestamp?

    public init(
        participants: [String], platform: String? = nil, externalID: String? = nil, title: String? = nil,
        metadata: Metadata? = nil, createdAt: Timestamp? = nil
    ) {
        self.participants = participants
        self.platform = platform
        self.externalID = externalID
        self.title = title
        self.metadata = metadata
        self.createdAt = createdAt
    }
}
