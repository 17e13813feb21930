// The chat store's error type. Each case is raised before anything changes, so a caller that
// catches one inside a write transaction may go on with it.

/// An error of the chat store. Storage failures arrive as ``ParleyError/storage(_:)``.
public enum ParleyError: Error, Equatable, Sendable, CustomStringConvertible {
    case unknownConversation(ConversationID)
    case unknownUser(String)
    case unknownMessage(MessageID)
    /// The user does not take part in the conversation.
    case notAParticipant(user: String, conversation: ConversationID)
    /// A conversation needs at least one participant.
    case noParticipants
    /// Another conversation has this (platform, external id).
    case duplicateExternalID(platform: String, externalID: String)
    /// Text or a handle was not valid UTF-8.
    case invalidUTF8(field: String)
    /// A message's encoded size is over ``Limits/maximumMessageBytes``.
    case messageTooLarge(bytes: Int, maximum: Int)
    case negativeTTL(Double)
    /// The conversation is closed to new messages.
    case conversationClosed(ConversationID)
    /// An argument is out of its documented range.
    case invalidArgument(String)
    /// A message block failed its checksum or did not decode.
    case corruptBlock(conversation: ConversationID, reason: String)
    /// A record of the chat store did not decode.
    case corruptRecord(tree: String, reason: String)
    /// The file is a ParleyDB engine file but not a chat store this version understands.
    case unsupportedStoreVersion(UInt64)
    /// An error from the storage engine (I/O, corruption, locking, ...).
    case storage(EngineError)

    public var description: String {
        switch self {
        case .unknownConversation(let id): return "no conversation \(id)"
        case .unknownUser(let handle): return "no user \"\(handle)\""
        case .unknownMessage(let id): return "no message \(id)"
        case .notAParticipant(let user, let conversation): return "\"\(user)\" does not take part in conversation \(conversation)"
        case .noParticipants: return "a conversation needs at least one participant"
        case .duplicateExternalID(let platform, let externalID):
            return "a conversation with platform \"\(platform)\" and external id \"\(externalID)\" exists"
        case .invalidUTF8(let field): return "\(field) is not valid UTF-8"
        case .messageTooLarge(let bytes, let maximum): return "message of \(bytes) bytes exceeds the maximum of \(maximum)"
        case .negativeTTL(let ttl): return "a TTL must not be negative (got \(ttl))"
        case .conversationClosed(let id): return "conversation \(id) is closed"
        case .invalidArgument(let message): return "invalid argument: \(message)"
        case .corruptBlock(let conversation, let reason): return "corrupt message block in conversation \(conversation): \(reason)"
        case .corruptRecord(let tree, let reason): return "corrupt record in \(tree): \(reason)"
        case .unsupportedStoreVersion(let version): return "unsupported chat store version \(version)"
        case .storage(let error): return error.description
        }
    }
}

/// Documented size limits of the chat store.
public enum Limits {
    /// Longest handle, platform, external id, content type or attachment field, in UTF-8 bytes.
    public static let maximumNameBytes = 255
    /// Longest custom state key, in UTF-8 bytes.
    public static let maximumStateKeyBytes = 512
    /// Largest message: text, metadata and attachments as encoded.
    public static let maximumMessageBytes = 1 << 20
    /// Largest state value.
    public static let maximumStateValueBytes = 16 << 20
    /// Largest encoded metadata of a user or conversation.
    public static let maximumMetadataBytes = 1 << 20
    /// Deepest nesting of metadata arrays and objects.
    public static let maximumMetadataDepth = 64
    /// Most participants of one conversation. Every append moves each participant's inbox entry
    /// and rewrites the conversation's record, which lists them all, so the cost of an append
    /// grows with this.
    public static let maximumParticipants = 1_000
}

/// Runs `body`, turning engine errors into ``ParleyError/storage(_:)``.
@inline(__always)
func storage<R>(_ body: () throws -> R) throws -> R {
    do {
        return try body()
    } catch let error as EngineError {
        throw ParleyError.storage(error)
    }
}
