// What an export did.

/// What an export wrote.
public struct ExportSummary: Hashable, Sendable {
    /// Conversations (lines) written.
    public var conversations = 0
    /// Messages written.
    public var messages = 0
    /// Bytes written.
    public var bytesWritten = 0

    /// An empty summary.
    public init() {}
}
