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
    /// Most overflow pages a write transaction keeps in memory before writing them to the file
    /// (at least 1). A checkpoint that stores thousands of large values then holds a bounded
    /// number of their pages instead of all of them until its commit.
    public var heldOverflowPages: Int = 256
    /// Changed leaves a write transaction keeps decoded, beside its branches, before it writes them
    /// to the file (at least 1); a leaf it changes again is read back. Bounds a checkpoint's decoded
    /// nodes, which cost several times their page each.
    public var heldNodes: Int = 1024
    /// At a clean close with no read transaction open, when at least this fraction of the file's
    /// pages is free, the pages in use at the end of the file are moved into free ones and the
    /// file is cut after the last page in use (`TailCompaction.swift`). 1 or more turns it off.
    public var closeCompactionFreeFraction: Double = 0.1

    public init(pageSize: Int = 4096, growthStep: Int = 1 << 20) {
        self.pageSize = pageSize
        self.growthStep = growthStep
    }
}
