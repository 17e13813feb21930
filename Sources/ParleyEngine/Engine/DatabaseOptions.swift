// Options of the logged engine: durability, log and memtable sizing, background work.

/// When a commit counts as done.
public enum Durability: String, Sendable, CaseIterable {
    /// Commit returns once its log record is fsynced. Concurrent committers share one fdatasync.
    case full
    /// Commit returns once its record is written to the log; the log is fsynced at intervals and at
    /// every checkpoint. A crash may lose the last interval, never corrupt.
    case normal
    /// Commit returns at once; a background writer appends and syncs the log. Same guarantee as
    /// `normal`.
    case async
}

/// Why a checkpoint runs.
public enum CheckpointOrigin: Sendable, Equatable {
    /// The engine started it: the memtable passed its trigger, its age or (a writer's
    /// backpressure) its budget.
    case automatic
    /// A caller asked for it (`Engine.checkpoint()`), or the engine is closing.
    case requested
}

/// How a database is opened.
public struct DatabaseOptions: Sendable {
    /// Options of the page store (page size for a new database, growth step).
    public var storage = EngineOptions()
    /// The durability of commits that do not ask for another.
    public var durability: Durability = .full
    /// How often `normal` and `async` commits are written and fsynced, in seconds.
    public var syncInterval: Double = 0.1
    /// Heap bytes the memtable may hold, its active layer and the layers a checkpoint is writing
    /// together. A checkpoint starts when the active layer reaches half of it; a commit that finds
    /// the memtable over it waits for that checkpoint (or runs one) before it returns.
    public var memtableBudget: Int = 64 << 20
    /// A checkpoint starts when the oldest unwritten commit is this old, in seconds.
    public var checkpointAge: Double = 30
    /// Bytes the log file is preallocated to.
    public var logPreallocation: UInt64 = 64 << 20
    /// Step by which the log grows past its preallocation.
    public var logGrowthStep: UInt64 = 16 << 20
    /// Runs syncs and checkpoints on a background thread. Off, they happen only when asked for
    /// (`flush`, `checkpoint`, close) — for tests that want every step in their own hands.
    public var backgroundWork = true

    public init() {}
}

extension DatabaseOptions {
    /// The active layer's size at which a checkpoint starts: half the budget, so the layer being
    /// written and the one filling meanwhile fit in it together.
    var checkpointTrigger: Int { max(1, memtableBudget / 2) }
}
