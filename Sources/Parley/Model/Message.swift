// Messages: immutable once written, ordered in their conversation by (created_at, id).

/// Who speaks in a message, in the sense LLM prompts use.
public enum Role: String, Hashable, Sendable, Codable, CaseIterable {
    case user, assistant, system, tool

    var code: UInt8 {
        switch self {
        case .user: return 0
        case .assistant: return 1
        case .system: return 2
        case .tool: return 3
        }
    }

    init?(code: UInt8) {
        switch code {
        case 0: self = .user
        case 1: self = .assistant
        case 2: self = .system
        case 3: self = .tool
        default: return nil
        }
    }
}

/// How a message ended when it was written.
public enum MessageStatus: String, Hashable, Sendable, Codable, CaseIterable {
    /// Complete (the default).
    case complete
    /// Cut short (for example a streamed reply that stopped).
    case incomplete
    /// The sender failed to produce or deliver it.
    case failed

    var code: UInt8 {
        switch self {
        case .complete: return 0
        case .incomplete: return 1
        case .failed: return 2
        }
    }

    init?(code: UInt8) {
        switch code {
        case 0: self = .complete
        case 1: self = .incomplete
        case 2: self = .failed
        default: return nil
        }
    }
}

/// A reference to an object stored elsewhere (the database keeps only the reference).
public struct Attachment: Hashable, Sendable, Codable {
    public var uri: String
    public var mimeType: String
    /// Size in bytes of the referenced object.
    public var size: Int64
    public var name: String?

    public init(uri: String, mimeType: String, size: Int64, name: String? = nil) {
        self.uri = uri
        self.mimeType = mimeType
        self.size = size
        self.name = name
    }
}

/// A stored message.
public struct Message: Hashable, Sendable, Codable {
    public var id: MessageID
    public var conversation: ConversationID
    /// Handle of the user who sent it (a participant of the conversation when it was appended).
    public var sender: String
    public var role: Role
    /// A MIME type; `text/plain` unless the caller said otherwise.
    public var contentType: String
    public var text: String
    public var attachments: [Attachment]
    /// The caller's token count, or an estimate (UTF-8 bytes / 4, rounded up) when none was given.
    public var tokens: Int
    public var status: MessageStatus
    public var createdAt: Timestamp
    public var metadata: Metadata?

    /// This message's place in its conversation's order: the cursor for paged queries.
    public var position: MessagePosition { MessagePosition(createdAt: createdAt, id: id) }
}

/// What ``ChatWriter/append(_:to:)`` needs to store a message.
public struct NewMessage: Sendable {
    public var sender: String
    public var role: Role
    public var text: String
    public var contentType: String
    public var attachments: [Attachment]
    /// Nil to let the database estimate it.
    public var tokens: Int?
    public var status: MessageStatus
    /// Now when nil. Imports pass the original time; any order is accepted.
    public var createdAt: Timestamp?
    public var metadata: Metadata?

    public init(
        sender: String, role: Role = .user, text: String, contentType: String = "text/plain",
        attachments: [Attachment] = [], tokens: Int? = nil, status: MessageStatus = .complete,
        createdAt: Timestamp? = nil, metadata: Metadata? = nil
    ) {
        self.sender = sender
        self.role = role
        self.text = text
        self.contentType = contentType
        self.attachments = attachments
        self.tokens = tokens
        self.status = status
        self.createdAt = createdAt
        self.metadata = metadata
    }

    /// A message whose text arrives as bytes (from a file or a socket): throws
    /// ``ParleyError/invalidUTF8(field:)`` unless they are valid UTF-8.
    public init(
        sender: String, role: Role = .user, utf8Text: [UInt8], contentType: String = "text/plain",
        attachments: [Attachment] = [], tokens: Int? = nil, status: MessageStatus = .complete,
        createdAt: Timestamp? = nil, metadata: Metadata? = nil
    ) throws {
        guard let text = String(validating: utf8Text, as: UTF8.self) else { throw ParleyError.invalidUTF8(field: "text") }
        self.init(
            sender: sender, role: role, text: text, contentType: contentType, attachments: attachments, tokens: tokens,
            status: status, createdAt: createdAt, metadata: metadata)
    }
}
