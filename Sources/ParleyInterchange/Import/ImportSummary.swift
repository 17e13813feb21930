// What an import did: totals, and the first bad lines it skipped.

/// The outcome of an import that ran to the end of its input.
public struct ImportSummary: Hashable, Sendable {
    /// Conversations stored.
    public var conversations = 0
    /// Messages stored.
    public var messages = 0
    /// Users that did not exist before and were created.
    public var usersCreated = 0
    /// Lines read, empty ones included.
    public var lines = 0
    /// Bad lines skipped (only with ``ImportOptions/skipBad``).
    public var linesSkipped = 0
    /// The first skipped lines (up to ``ImportOptions/maximumReportedSkips``) with their reasons.
    public var skipped: [SkippedLine] = []
    /// Messages without `created_at` that were given a made-up time (see ``ImportOptions/baseTime``).
    public var timestampsMadeUp = 0
    /// Bytes of input read (compressed bytes for gzip).
    public var bytesRead = 0

    /// An empty summary.
    public init() {}
}

/// A line an import skipped, and why.
public struct SkippedLine: Hashable, Sendable, CustomStringConvertible {
    /// 1-based line number.
    public var line: Int
    /// Why it was skipped (as ``InterchangeError/badLine(line:reason:)`` would say).
    public var reason: String

    /// Makes a record of a skipped line.
    public init(line: Int, reason: String) {
        self.line = line
        self.reason = reason
    }

    /// `line N: reason`.
    public var description: String { "line \(line): \(reason)" }
}
