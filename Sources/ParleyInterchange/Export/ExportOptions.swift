// What an export may be told, and what it reports while it runs.

import Parley

/// How ``Exporter`` exports.
public struct ExportOptions: Sendable {
    /// The conversations to export, in this order; nil for every conversation, in id order.
    public var conversations: [ConversationID]?
    /// Messages read per query (each page is read on its own snapshot of one conversation).
    public var pageSize = 1000
    /// Output is handed to the sink in pieces of about this many bytes (a piece ends after a
    /// whole message or line, so it may be larger by up to one message).
    public var bufferBytes = 64 << 10
    /// Called with the export's progress at most once per ``progressInterval``, and once at the end.
    public var progress: (@Sendable (ExportProgress) -> Void)?
    /// Seconds between two progress calls (0.1 by default).
    public var progressInterval = 0.1

    /// Default options: every conversation, in id order.
    public init() {}

    /// Options exporting `conversations` (all when nil).
    public init(conversations: [ConversationID]?, progress: (@Sendable (ExportProgress) -> Void)? = nil) {
        self.conversations = conversations
        self.progress = progress
    }
}

/// How far an export has come.
public struct ExportProgress: Hashable, Sendable {
    /// Conversations written so far.
    public var conversations: Int
    /// Conversations the export will write (it may write fewer if some are deleted meanwhile).
    public var totalConversations: Int
    /// Bytes handed to the sink so far.
    public var bytesWritten: Int

    /// Makes a progress report.
    public init(conversations: Int, totalConversations: Int, bytesWritten: Int) {
        self.conversations = conversations
        self.totalConversations = totalConversations
        self.bytesWritten = bytesWritten
    }
}
