// Options fixed when a database is opened.

/// How a database is opened.
public struct EngineOptions: Sendable {
    /// Page size for a new database, a power of two from 1 KiB to 64 KiB. An existing database keeps
    /// the page size it was created with.
    public var pageSize: Int = 4096
    /// Smallest step by which the file grows, in bytes (rounded up to whole pages). Growth is in
    /// steps of at least this, or an eighth of the file, whichever is larger, capped at 64 MiB.
    public var growthStep: Int = 1 << 20
    /// Deepest tree the engine will descend; a deeper path is reported as corruption.
    public var maximumDepth: Int = 32

    public init(pageSize: Int = 4096, growthStep: Int = 1 << 20) {
        self.pageSize = pageSize
        self.growthStep = growthStep
    }
}
