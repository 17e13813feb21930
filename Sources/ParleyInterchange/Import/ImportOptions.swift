// What an import may be told: skip bad lines or stop, durability, the base of made-up
// timestamps, a bound on line length, and a progress callback.

import Parley

/// How ``Importer`` imports.
public struct ImportOptions: Sendable {
    /// Count and skip bad lines instead of stopping at the first one with
    /// ``InterchangeError/badLine(line:reason:)``.
    public var skipBad = false
    /// Durability of each conversation's transaction. `.normal` by default, for speed: the
    /// import calls ``Database/flush()`` at its end (also when it stops on an error).
    public var durability: Durability = .normal
    /// Where made-up timestamps start: the n-th message without `created_at` (counting from 0,
    /// in file order, over the conversations stored) gets this time plus n seconds.
    /// 2020-01-01T00:00:00Z by default.
    public var baseTime = Timestamp(microseconds: 1_577_836_800_000_000)
    /// Longest line accepted, in bytes (decompressed); a longer line is a bad line, and it is
    /// never held in memory whole. 64 MiB by default.
    public var maximumLineBytes = 64 << 20
    /// How many skipped lines ``ImportSummary/skipped`` describes (the first ones).
    public var maximumReportedSkips = 10
    /// Called with the import's progress at most once per ``progressInterval``, and once at the end.
    public var progress: (@Sendable (ImportProgress) -> Void)?
    /// Seconds between two progress calls (0.1 by default).
    public var progressInterval = 0.1

    /// Default options: stop at the first bad line, `.normal` durability, made-up times from 2020.
    public init() {}

    /// Options with the fields the command-line tool sets.
    public init(skipBad: Bool, durability: Durability = .normal, progress: (@Sendable (ImportProgress) -> Void)? = nil) {
        self.skipBad = skipBad
        self.durability = durability
        self.progress = progress
    }
}

/// How far an import has come.
public struct ImportProgress: Hashable, Sendable {
    /// Lines read so far (empty ones included).
    public var lines: Int
    /// Bytes of the input read so far: of the file as stored, so compressed bytes for gzip.
    public var bytesRead: Int
    /// Size of the input when known (a regular file's size, or the byte count of in-memory input).
    public var totalBytes: Int?

    /// Makes a progress report.
    public init(lines: Int, bytesRead: Int, totalBytes: Int?) {
        self.lines = lines
        self.bytesRead = bytesRead
        self.totalBytes = totalBytes
    }
}
