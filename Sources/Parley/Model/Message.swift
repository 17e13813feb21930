// Messages: immutable once written, ordered in their conversation by (created_at, id).

import CParleySupport

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
///
/// A value like any other: setting a field changes this copy only. Its fields live in one shared
/// object, so copying a message (out of the decoded-block cache into a query's answer, thousands
/// of times a query) takes one reference count, not one per string, id and array.
public struct Message: Hashable, Sendable, Codable {
    private var storage: MessageStorage

    /// Asks the CPU to start fetching this message's fields (a hint: nothing is read). A walk
    /// over a decoded block issues it a few messages ahead: each message's storage is its own
    /// allocation, cold in a large cache, and the walk would otherwise wait for each in turn.
    func prefetch() {
        parley_prefetch(Unmanaged.passUnretained(storage).toOpaque())
    }

    /// The id the database gave it, unique in the file and increasing in commit order.
    public var id: MessageID {
        get { storage.id }
        set { update { $0.id = newValue } }
    }
    /// The conversation it belongs to.
    public var conversation: ConversationID {
        get { storage.conversation }
        set { update { $0.conversation = newValue } }
    }
    /// Handle of the user who sent it (a participant of the conversation when it was appended).
    public var sender: String {
        get { storage.sender }
        set { update { $0.sender = newValue } }
    }
    /// Who speaks, in the sense LLM prompts use.
    public var role: Role {
        get { storage.role }
        set { update { $0.role = newValue } }
    }
    /// A MIME type; `text/plain` unless the caller said otherwise.
    public var contentType: String {
        get { storage.extras?.contentType ?? MessageCodec.defaultContentType }
        set { update { $0.contentType = newValue } }
    }
    /// The body, as given.
    public var text: String {
        get { storage.text }
        set { update { $0.text = newValue } }
    }
    /// References to objects stored elsewhere; empty for most messages.
    public var attachments: [Attachment] {
        get { storage.extras?.attachments ?? [] }
        set { update { $0.attachments = newValue } }
    }
    /// The caller's token count, or an estimate (UTF-8 bytes / 4, rounded up) when none was given.
    public var tokens: Int {
        get { storage.tokens }
        set { update { $0.tokens = newValue } }
    }
    /// How it ended when it was written.
    public var status: MessageStatus {
        get { storage.status }
        set { update { $0.status = newValue } }
    }
    /// When it was created: its place in the conversation's time order (ties broken by ``id``).
    public var createdAt: Timestamp {
        get { storage.createdAt }
        set { update { $0.createdAt = newValue } }
    }
    /// The caller's structured data, if any.
    public var metadata: Metadata? {
        get { storage.extras?.metadata }
        set { update { $0.metadata = newValue } }
    }

    /// This message's place in its conversation's order: the cursor for paged queries.
    public var position: MessagePosition {
        MessagePosition(createdAt: storage.createdAt, id: storage.id)
    }

    init(
        id: MessageID, conversation: ConversationID, sender: String, role: Role, contentType: String, text: String,
        attachments: [Attachment], tokens: Int, status: MessageStatus, createdAt: Timestamp, metadata: Metadata?
    ) {
        storage = MessageStorage(
            id: id, conversation: conversation, sender: sender, role: role, contentType: contentType, text: text,
            attachments: attachments, tokens: tokens, status: status, createdAt: createdAt, metadata: metadata)
    }

    /// Setting a field gives this value a new storage object: other copies keep the old one.
    /// (Messages are read far more than changed, and an immutable object needs no exclusivity
    /// check on each read.)
    private mutating func update(_ change: (inout MessageFields) -> Void) {
        var fields = storage.fields
        change(&fields)
        storage = MessageStorage(fields)
    }

    /// Heap bytes one message's storage object takes: its fields, the object's 16-byte header and
    /// the allocator's 8-byte header, rounded up to the allocator's 16 (messages with a content
    /// type, attachments or metadata take a second object besides).
    static let storageBytes = (MessageStorage.fieldBytes + 16 + 8 + 15) / 16 * 16

    public static func == (a: Message, b: Message) -> Bool {
        a.storage === b.storage || a.storage.fields == b.storage.fields
    }

    public func hash(into hasher: inout Hasher) { storage.fields.hash(into: &hasher) }

    public init(from decoder: any Decoder) throws {
        storage = MessageStorage(try MessageFields(from: decoder))
    }

    public func encode(to encoder: any Encoder) throws { try storage.fields.encode(to: encoder) }
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
