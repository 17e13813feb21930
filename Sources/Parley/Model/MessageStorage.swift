// Where a message's fields live: one immutable object per message, shared by its copies (see
// `Message`), with the fields most messages leave at their defaults in a second one.

/// A message's fields, as one value (their `Hashable` and `Codable` forms are the message's).
struct MessageFields: Hashable, Codable, Sendable {
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
}

/// The object a ``Message`` keeps its fields in, shared by the message's copies and never changed.
///
/// The fields most messages leave at their defaults (content type, attachments, metadata) live in
/// a second object, absent when all three are: a decoded-block cache holds hundreds of thousands of
/// messages, and this keeps each one's object in the allocator's 112-byte class rather than 160.
final class MessageStorage: Sendable {
    let id: MessageID
    let createdAt: Timestamp
    let tokens: Int
    let conversation: ConversationID
    let sender: String
    let text: String
    let extras: MessageExtras?
    let role: Role
    let status: MessageStatus

    /// The bytes of the stored properties above (the layout the runtime gives a struct of them).
    static let fieldBytes = MemoryLayout<(MessageID, Timestamp, Int, ConversationID, String, String, MessageExtras?, Role, MessageStatus)>.size

    init(
        id: MessageID, conversation: ConversationID, sender: String, role: Role, contentType: String, text: String,
        attachments: [Attachment], tokens: Int, status: MessageStatus, createdAt: Timestamp, metadata: Metadata?
    ) {
        self.id = id
        self.createdAt = createdAt
        self.tokens = tokens
        self.conversation = conversation
        self.sender = sender
        self.text = text
        self.role = role
        self.status = status
        if contentType == MessageCodec.defaultContentType, attachments.isEmpty, metadata == nil {
            extras = nil
        } else {
            extras = MessageExtras(contentType: contentType, attachments: attachments, metadata: metadata)
        }
    }

    convenience init(_ fields: MessageFields) {
        self.init(
            id: fields.id, conversation: fields.conversation, sender: fields.sender, role: fields.role,
            contentType: fields.contentType, text: fields.text, attachments: fields.attachments, tokens: fields.tokens,
            status: fields.status, createdAt: fields.createdAt, metadata: fields.metadata)
    }

    var fields: MessageFields {
        MessageFields(
            id: id, conversation: conversation, sender: sender, role: role,
            contentType: extras?.contentType ?? MessageCodec.defaultContentType, text: text,
            attachments: extras?.attachments ?? [], tokens: tokens, status: status, createdAt: createdAt,
            metadata: extras?.metadata)
    }
}

/// A message's fields that most messages leave at their defaults.
final class MessageExtras: Sendable {
    let contentType: String
    let attachments: [Attachment]
    let metadata: Metadata?

    init(contentType: String, attachments: [Attachment], metadata: Metadata?) {
        self.contentType = contentType
        self.attachments = attachments
        self.metadata = metadata
    }
}
