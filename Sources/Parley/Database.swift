// The chat store's entry point: a database file opened for conversations, users, messages and
// state. Reads run on snapshots and never wait for the writer; writes run one at a time.

@_exported import ParleyEngine

/// ParleyDB's version, as `parley --version` prints it.
public enum ParleyVersion {
    public static let string = "0.1.0"
}

/// An open ParleyDB database: conversations, their messages in compressed blocks, users, inboxes,
/// read markers and state, in one file (plus its write-ahead log while open).
///
/// ```swift
/// let db = try Database.open(path: "bot.parley")
/// let id = try db.write { chat in
///     try chat.upsertUser("alice")
///     try chat.upsertUser("bot")
///     return try chat.createConversation(NewConversation(participants: ["alice", "bot"]))
/// }
/// try db.append(NewMessage(sender: "alice", text: "Hello!"), to: id)
/// let recent = try db.messages(in: id, .newest(20))
/// try db.close()
/// ```
///
/// A `Database` may be shared between threads and tasks. One write transaction runs at a time;
/// any number of reads run beside it, each on the state of one commit.
public final class Database: Sendable {
    /// How a database is opened.
    public struct Options: Sendable {
        /// The storage engine's options: durability, page size, memtable budget, checkpoints.
        public var engine = DatabaseOptions()
        /// Raw bytes a message block grows to before it is closed to appends.
        public var blockTargetBytes = 32 << 10
        /// Pending message bytes an automatic checkpoint (one the engine starts: memtable trigger,
        /// age or budget) may leave unsealed, when sealing them would mostly recompress their
        /// conversation's open block: a conversation whose open block holds at least as many raw
        /// bytes as its pending messages waits, the costliest first, until this many bytes wait.
        /// Waiting messages stay in the pending tree (read like any pending message, and written
        /// to the file's pages uncompressed) and are sealed by a later checkpoint, once they
        /// outweigh their block, others cost more, or they have waited four automatic
        /// checkpoints in a row; ``Database/checkpoint()`` and ``Database/close()`` seal every
        /// message pending when they start. 0 seals every pending message at every checkpoint;
        /// negative values are refused.
        public var sealDeferralBytes = 8 << 20
        /// Memory for decoded message blocks kept for readers that come back to them (estimated
        /// heap bytes of decoded messages: their raw bytes plus about 168 bytes each; 0 turns the
        /// cache off). Reads of a busy conversation's newest messages then skip decompressing and
        /// decoding its blocks. Filled only by reads; when it is full, a block is let in only when
        /// it is read again soon after a first read (so a long history read once does not push
        /// out the blocks readers come back to), and blocks not read since the cache's clock last
        /// passed them go first (an approximation of least recently read).
        public var decodedBlockCacheBytes = 64 << 20
        /// The wall clock the store reads for default timestamps, TTLs and lifecycle cutoffs.
        public var clock: @Sendable () -> Timestamp = { Timestamp.now() }
        /// The file system (tests pass a fault-injecting one).
        public var fileSystem: any FileSystem = PosixFileSystem()
        /// Pending text a checkpoint needs before it builds a block dictionary (tests lower it
        /// so that small stores use dictionaries too).
        var dictionaryMinimumSample = BlockDictionaryBuilder.minimumSampleBytes

        public init() {}

        /// Options with `durability` as the default for every commit.
        public init(durability: Durability) { engine.durability = durability }
    }

    /// Version of the chat store's layout over the engine's trees. Version 2 keeps participants,
    /// read markers and a copy of the newest message in the conversation record, and compresses
    /// blocks against shared dictionaries (`chat.dictionaries`, block codec 2).
    static let storeVersion: UInt64 = 2
    /// The longest engine key the store's limits produce: an expiry key of a 512-byte state key.
    static let requiredKeyLength = 8 + 1 + Limits.maximumStateKeyBytes

    /// The database file's path.
    public let path: String
    let engine: Engine
    let store: StoreContext
    let fileSystem: any FileSystem
    private let queues = AsyncQueues()

    /// Opens the database at `path`, creating it when it does not exist and recovering from its
    /// log when it was not closed cleanly.
    public static func open(path: String, options: Options = Options()) throws -> Database {
        guard options.blockTargetBytes >= 1024, options.blockTargetBytes <= 16 << 20 else {
            throw ParleyError.invalidArgument("blockTargetBytes must be 1 KiB to 16 MiB")
        }
        guard options.sealDeferralBytes >= 0 else {
            throw ParleyError.invalidArgument("sealDeferralBytes must not be negative")
        }
        guard options.decodedBlockCacheBytes >= 0 else {
            throw ParleyError.invalidArgument("decodedBlockCacheBytes must not be negative")
        }
        guard options.engine.storage.pageSize >= 4096 else {
            throw ParleyError.invalidArgument("the chat store needs pages of at least 4 KiB")
        }
        let engine = try storage { try Engine.open(path: path, options: options.engine, fileSystem: options.fileSystem) }
        do {
            let database = Database(path: path, engine: engine, options: options)
            try database.prepareLayout()
            // Sealing and expiry run at the start of every checkpoint, in the background too.
            engine.setCheckpointPreparation { [weak database] origin in try database?.maintain(origin: origin) }
            return database
        } catch {
            try? engine.close()
            throw error
        }
    }

    private init(path: String, engine: Engine, options: Options) {
        self.path = path
        self.engine = engine
        self.fileSystem = options.fileSystem
        self.store = StoreContext(
            path: path, clock: options.clock, blockTargetBytes: options.blockTargetBytes,
            sealDeferralBytes: options.sealDeferralBytes, dictionaryMinimumSample: options.dictionaryMinimumSample,
            decodedBlockCacheBytes: options.decodedBlockCacheBytes, engine: engine)
    }

    /// Creates the trees on first open and checks the layout version.
    private func prepareLayout() throws {
        let version = try storage {
            try engine.read { snapshot -> UInt64? in
                guard try snapshot.treeExists(Tree.meta), let bytes = try snapshot.get(Tree.meta, Key.version) else { return nil }
                var reader = ByteReader(bytes)
                guard let version = try? reader.varint() else { return UInt64.max }
                return version
            }
        }
        // The documented limits (255-byte handles inside inbox keys, 512-byte state keys inside
        // expiry keys) need keys of 521 bytes: pages of at least 4 KiB.
        let maximumKey = try storage { try engine.write { $0.maximumKeyLength } }
        guard maximumKey >= Self.requiredKeyLength else {
            throw ParleyError.invalidArgument(
                "the chat store needs pages of at least 4 KiB (keys up to \(Self.requiredKeyLength) bytes; this file allows \(maximumKey))")
        }
        if let version {
            guard version == Self.storeVersion else { throw ParleyError.unsupportedStoreVersion(version) }
            return
        }
        try storage {
            try engine.write(durability: .full) { transaction in
                for tree in Tree.all { try transaction.createTree(tree) }
                var writer = ByteWriter()
                writer.varint(Self.storeVersion)
                try transaction.put(Tree.meta, Key.version, writer.bytes)
            }
        }
    }

    /// Checkpoint work: seal pending messages into blocks and delete expired state. Sealing is
    /// planned on a snapshot, so writers go on while blocks are compressed, then applied in one
    /// short write transaction (`SealPlan`); an automatic checkpoint may leave some for later
    /// (`Options.sealDeferralBytes`). `afterPlanningConversation` is for tests.
    func maintain(origin: CheckpointOrigin = .requested, afterPlanningConversation: (() throws -> Void)? = nil) throws {
        // The plan belongs to writing: its page reads count against the file's resident limit.
        let snapshot = try storage { try engine.snapshot(readingInPlace: false) }
        defer { snapshot.close() }
        let plan = try ChatReader(view: snapshot, store: store).planSealing(
            deferringUpTo: origin == .automatic ? store.sealDeferralBytes : 0, passesWaited: store.sealDeferrals.current,
            afterConversation: afterPlanningConversation)
        store.sealDeferrals.record(deferred: plan.deferred)
        try write { chat in
            try chat.applySealing(plan)
            try chat.sweepExpiredState()
        }
    }

    /// Checkpoints and closes the database, leaving one file. Further calls throw
    /// ``ParleyError/storage(_:)`` with `EngineError.closed`.
    public func close() throws {
        try storage { try engine.close() }
    }

    // MARK: - Transactions

    /// Runs `body` on a snapshot of the last commit.
    public func read<R>(_ body: (ChatReader) throws -> R) throws -> R {
        let snapshot = try storage { try engine.snapshot() }
        defer { snapshot.close() }
        return try body(ChatReader(view: snapshot, store: store))
    }

    /// Runs `body` in the write transaction and commits it, durable as `durability` says (the
    /// database's default when nil). If `body` throws, nothing it did is kept.
    public func write<R>(durability: Durability? = nil, _ body: (ChatWriter) throws -> R) throws -> R {
        let transaction = try storage { try engine.beginWrite(durability: durability) }
        do {
            let result = try body(ChatWriter(transaction: transaction, store: store))
            try storage { try transaction.commit() }
            return result
        } catch {
            transaction.abort()
            throw error
        }
    }

    // MARK: - Maintenance

    /// Seals recent messages into blocks and moves everything committed into the file's B+trees,
    /// emptying the log. This also happens in the background (where some messages may be left
    /// pending for a later checkpoint, `Options.sealDeferralBytes`) and at close.
    public func checkpoint() throws { try storage { try engine.checkpoint() } }

    /// Makes every commit so far durable, whatever its durability mode.
    public func flush() throws { try storage { try engine.flush() } }

    /// The storage engine's integrity walk: every page, tree and free page accounted for.
    public func checkStorage() throws -> IntegrityReport { try storage { try engine.checkIntegrity() } }

    var asyncQueues: AsyncQueues { queues }
}
