// The vocabulary of the model target: questions (reads), mutations (writes), the steps of a
// program, and outcomes, which both the store and the model produce and which must be equal.

import FuzzSupport
import Parley

/// A read of the chat store.
enum Question {
    case user(String)
    case conversation(ConversationID)
    case external(platform: String, externalID: String)
    case messages(ConversationID, MessageQuery)
    case page(ConversationID, Range<Int>, MessageOrder)
    case context(ConversationID, budget: Int)
    case inbox(String, InboxQuery)
    case unread(String, ConversationID?)
    case marker(String, ConversationID)
    case state(StateKey)
    case message(MessageID)
    case stats
}

/// A write of the chat store (one transaction), or a checkpoint.
enum Mutation {
    case upsertUser(String, displayName: String?, metadata: Metadata?)
    case create(NewConversation)
    case append(ConversationID, [NewMessage])
    case markRead(user: String, ConversationID, MessageID)
    case setState(StateKey, value: [UInt8], ttl: Double)
    case touchState(StateKey, ttl: Double)
    case deleteState(StateKey)
    case archive(days: Double)
    case purge(days: Double)
    case delete(ConversationID)
    case setStatus(ConversationID, ConversationStatus)
    case join(String, ConversationID)
    case leave(String, ConversationID)
    case checkpoint

    /// A crash can interrupt it and leave the model knowing what may have happened: not
    /// `create`, whose new id is lost with its answer.
    var crashable: Bool {
        if case .create = self { return false }
        return true
    }
}

/// One step of a program.
enum Step {
    case ask(Question)
    case change(Mutation)
    /// Power fails after `budget` disk operations of the mutation; what survives is drawn from
    /// `seed`, and with `recoveryBudget` power fails again while recovering.
    case crash(Mutation, budget: Int, seed: UInt64, recoveryBudget: Int?)
    case powerLoss(seed: UInt64, recoveryBudget: Int?)
    case reopen
    case advanceClock(Int64)
}

/// What a read or write gave: equal for the store and the model, or the harness fails.
enum Outcome: Equatable {
    case done
    case failed(ParleyError)
    case user(User?)
    case conversationValue(ConversationValue?)
    case created(ConversationID)
    case messageValues([MessageValue])
    case messageValue(MessageValue?)
    case windowValue(WindowValue)
    case inboxValues([InboxValue])
    case count(Int)
    case flag(Bool)
    case stateValue(StateView?)
    case marker(MessagePosition?)
    case totals([Int])

    /// Runs `body`; a `ParleyError` becomes `.failed` (with an invalid argument's wording
    /// dropped: the model does not copy the store's sentences), anything else is a failure.
    static func of(_ body: () throws -> Outcome) -> Outcome {
        do {
            return try body()
        } catch let error as ParleyError {
            if case .invalidArgument = error { return .failed(.invalidArgument("")) }
            return .failed(error)
        } catch {
            fuzzFailure("a chat operation threw \(type(of: error)), not ParleyError: \(error)")
        }
    }

    var isStorageFailure: Bool {
        if case .failed(.storage) = self { return true }
        return false
    }
}

// The answer types (Message, Conversation, ContextWindow, InboxEntry, StateValue) have no public
// initializer, so the model cannot make them: both sides are compared as these mirrors of every
// public field instead.

struct MessageValue: Equatable {
    var id: MessageID
    var conversation: ConversationID
    var sender: String
    var role: Role
    var contentType: String
    var text: String
    var attachments: [Attachment]
    var tokens: Int
    var status: MessageStatus
    var createdAt: Timestamp
    var metadata: Metadata?

    var position: MessagePosition { MessagePosition(createdAt: createdAt, id: id) }

    init(_ m: Message) {
        self.init(
            id: m.id, conversation: m.conversation, sender: m.sender, role: m.role, contentType: m.contentType, text: m.text,
            attachments: m.attachments, tokens: m.tokens, status: m.status, createdAt: m.createdAt, metadata: m.metadata)
    }

    init(
        id: MessageID, conversation: ConversationID, sender: String, role: Role, contentType: String, text: String,
        attachments: [Attachment], tokens: Int, status: MessageStatus, createdAt: Timestamp, metadata: Metadata?
    ) {
        self.id = id
        self.conversation = conversation
        self.sender = sender
        self.role = role
        self.contentType = contentType
        self.text = text
        self.attachments = attachments
        self.tokens = tokens
        self.status = status
        self.createdAt = createdAt
        self.metadata = metadata
    }
}

struct ConversationValue: Equatable {
    var id: ConversationID
    var platform: String?
    var externalID: String?
    var title: String?
    var status: ConversationStatus
    var participants: [String]
    var createdAt: Timestamp
    var lastActivity: Timestamp
    var messageCount: Int
    var tokenTotal: Int
    var metadata: Metadata?
}

extension ConversationValue {
    init(_ c: Conversation) {
        self.init(
            id: c.id, platform: c.platform, externalID: c.externalID, title: c.title, status: c.status,
            participants: c.participants, createdAt: c.createdAt, lastActivity: c.lastActivity, messageCount: c.messageCount,
            tokenTotal: c.tokenTotal, metadata: c.metadata)
    }
}

struct WindowValue: Equatable {
    var messages: [MessageValue]
    var tokens: Int
    var truncated: Bool
    var systemOverBudget: Bool
}

struct InboxValue: Equatable {
    var conversation: ConversationValue
    var lastMessage: MessageValue?
    var unreadCount: Int

    var cursor: InboxCursor { InboxCursor(lastActivity: conversation.lastActivity, conversation: conversation.id) }
}

struct StateView: Equatable {
    var value: [UInt8]
    var expiresAt: Timestamp
}

extension Outcome {
    static func messages(_ list: [Message]) -> Outcome { .messageValues(list.map(MessageValue.init)) }
    static func message(_ message: Message?) -> Outcome { .messageValue(message.map(MessageValue.init)) }
    static func conversation(_ conversation: Conversation?) -> Outcome { .conversationValue(conversation.map(ConversationValue.init)) }
    static func window(_ w: ContextWindow) -> Outcome {
        .windowValue(WindowValue(messages: w.messages.map(MessageValue.init), tokens: w.tokens, truncated: w.truncated, systemOverBudget: w.systemOverBudget))
    }
    static func inbox(_ entries: [InboxEntry]) -> Outcome {
        .inboxValues(entries.map {
            InboxValue(conversation: ConversationValue($0.conversation), lastMessage: $0.lastMessage.map(MessageValue.init), unreadCount: $0.unreadCount)
        })
    }
    static func state(_ value: StateValue?) -> Outcome { .stateValue(value.map { StateView(value: $0.value, expiresAt: $0.expiresAt) }) }
}
