// Users: the caller's string handles, with a display name and metadata.

/// A user of the conversations: a person, a bot or a tool, known by the caller's handle.
public struct User: Hashable, Sendable, Codable {
    /// The caller's identifier for this user (for example a platform user id). 1 to 255 bytes of UTF-8.
    public var handle: String
    /// A name to show; nil when none was given.
    public var displayName: String?
    /// Anything else the caller keeps about the user.
    public var metadata: Metadata?
    /// When the user was first stored.
    public var createdAt: Timestamp

    public init(handle: String, displayName: String? = nil, metadata: Metadata? = nil, createdAt: Timestamp) {
        self.handle = handle
        self.displayName = displayName
        self.metadata = metadata
        self.createdAt = createdAt
    }
}
