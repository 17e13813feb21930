// The engine: a write-ahead log and a memtable in front of the B+trees (`StorageEngine`).
//
// A commit appends one log record (durable as its mode says) and lays the transaction's changes
// over the memtable; checkpoints move the memtable into the B+trees in the background.
//
// Invariants:
// - One write transaction at a time (`gate`); commits take sequence numbers in order, and the
//   memtable holds exactly the commits after the B+trees' `logSequence`.
// - A snapshot is the memtable layers and a B+tree snapshot taken under one lock, and the
//   checkpointer replaces "frozen layer + old trees" by "new trees" under that same lock, so no
//   reader ever sees a commit twice or not at all.
// - The log is reset (new salt) only while the writer gate is held and after the B+trees hold
//   every record in it.
// - Recovery = newest valid meta page + replay of the longest valid run of log records after its
//   sequence number into the active memtable layer; the log is kept and continues after that run
//   (Engine+Recovery.swift). A version-1 log is written into the trees and reset instead.

import Glibc

/// An open database at the storage layer: named ordered trees of byte strings, with snapshot
/// reads, one writer, a write-ahead log and background checkpoints. For the chat store.
public final class Engine: @unchecked Sendable {
    public let path: String
    public let options: DatabaseOptions
    let storage: StorageEngine
    let log: WriteAheadLog
    private let gate = WriterGate()
    private let checkpointMutex = PThreadMutex()
    private let state = Locked(State())
    /// Set once after open and cleared by close, while committers on other threads read it.
    private let background = Locked<BackgroundWorker?>(nil)
    /// Cleared by close before it stops the worker, so a commit racing with close starts none.
    private let backgroundAllowed = Locked(true)
    /// Work a layer above runs at the start of every checkpoint (see `setCheckpointPreparation`).
    private let checkpointPreparation = Locked<(@Sendable (CheckpointOrigin) throws -> Void)?>(nil)

    private struct State {
        var active = MemLayer()
        /// Layers frozen for a checkpoint, newest first.
        var frozen: [MemLayer] = []
        /// When the oldest commit in `active` was made (monotonic seconds).
        var activeSince: Double?
        var closed = false
        var failure: EngineError?
        /// The log a recovery left the active layer's values in, while anything still holds one
        /// of them: until then a checkpoint may not start the log over (`LoggedValue`).
        weak var recoveredLog: RecoveredLog?
        /// The thread running a checkpoint, whose own commits (the checkpoint preparation's) must
        /// not wait for it.
        var checkpointThread: pthread_t?
        /// Heap bytes of every memtable layer, active and frozen (see `memtableBudget`).
        var memtableBytes: Int { frozen.reduce(active.bytes) { $0 + $1.bytes } }
    }

    /// The log file's path for a database at `path`.
    public static func logPath(for path: String) -> String { path + "-wal" }

    /// Opens the database at `path` (creating it when missing), recovering from its log.
    public static func open(
        path: String, options: DatabaseOptions = DatabaseOptions(), fileSystem: any FileSystem = PosixFileSystem()
    ) throws -> Engine {
        let storage = try StorageEngine.open(path: path, options: options.storage, fileSystem: fileSystem)
        do {
            var recovered: MemLayer?
            var recoveredLog: RecoveredLog?
            let (log, kept) = try WriteAheadLog.open(
                path: logPath(for: path), fileSystem: fileSystem, identity: storage.identity,
                checkpointed: storage.logSequence, preallocate: options.logPreallocation,
                growthStep: options.logGrowthStep
            ) { header, body, spans, checking, mapped in
                guard header.version == LogFormat.version else {
                    var check = checking.check
                    let valid = check.validPrefix(spans, of: body, after: checking.previous)
                    try writeUnchained(body: body, spans: spans.prefix(valid), into: storage, logPath: logPath(for: path))
                    return (false, valid)
                }
                let (layer, valid) = try recoveredLayer(
                    body: body, spans: spans, checking: checking, openBase: { try storage.beginRead() }, logPath: logPath(for: path),
                    valuesIn: mapped)
                guard valid > 0 else { return (false, 0) }
                recovered = layer
                recoveredLog = mapped
                return (true, valid)
            }
            // A kept log continues after its records, which the memtable now holds; otherwise the
            // trees hold everything and the log starts again.
            if kept { try log.syncKeptRecords() } else { try log.reset(base: storage.logSequence) }
            // The background thread starts with the first commit (`startBackgroundWork`).
            let engine = Engine(path: path, options: options, storage: storage, log: log)
            if kept, let recovered {
                engine.state.withLock { state in
                    state.active = recovered
                    state.activeSince = monotonicSeconds()
                    state.recoveredLog = recoveredLog
                }
            }
            return engine
        } catch {
            storage.close()
            throw error
        }
    }

    private init(path: String, options: DatabaseOptions, storage: StorageEngine, log: WriteAheadLog) {
        self.path = path
        self.options = options
        self.storage = storage
        self.log = log
    }

    /// Writes logged operations into a B+tree transaction (recovery and checkpoints).
    static func apply(_ operations: [LogOperation], to txn: WriteTransaction) throws {
        for operation in operations {
            switch operation {
            case .createTree(let tree): try txn.createTree(tree)
            case .dropTree(let tree): if try txn.treeExists(tree) { try txn.dropTree(tree) }
            case .put(let tree, let key, let value), .insert(let tree, let key, let value): try txn.put(tree, key, value)
            case .delete(let tree, let key): try txn.delete(tree, key)
            case .deleteRange(let tree, let start, let end):
                for key in try txn.cursor(tree).keys(from: start, to: end) { try txn.delete(tree, key) }
            }
        }
    }

    // MARK: - Transactions

    /// A snapshot of the last commit, reading pages in place through the file's mapping.
    public func snapshot() throws -> Snapshot { try snapshot(readingInPlace: true) }

    /// A snapshot whose page reads the file's resident limit counts (for work that belongs to
    /// writing: write transactions and the checkpoint's preparation), or in place (for readers).
    public func snapshot(readingInPlace: Bool) throws -> Snapshot {
        try state.withLock { state in
            guard !state.closed else { throw EngineError.closed }
            let layers = [state.active] + state.frozen
            let base = try storage.beginRead(checkingEveryPage: false, readingInPlace: readingInPlace)
            return Snapshot(view: LayeredView(layers: layers, base: base))
        }
    }

    /// Runs `body` on a snapshot of the last commit.
    public func read<R>(_ body: (Snapshot) throws -> R) throws -> R {
        let snapshot = try snapshot()
        defer { snapshot.close() }
        return try body(snapshot)
    }

    /// Starts the write transaction, waiting while another is open.
    public func beginWrite(durability: Durability? = nil) throws -> Transaction {
        try gate.acquire()
        do {
            try checkWritable()
            return Transaction(
                database: self, snapshot: try snapshot(readingInPlace: false), durability: durability ?? options.durability)
        } catch {
            gate.release()
            throw error
        }
    }

    /// Runs `body` in a write transaction and commits it; if `body` throws, nothing is kept.
    public func write<R>(durability: Durability? = nil, _ body: (Transaction) throws -> R) throws -> R {
        let transaction = try beginWrite(durability: durability)
        do {
            let result = try body(transaction)
            try transaction.commit()
            return result
        } catch {
            transaction.abort()
            throw error
        }
    }

    func writerEnded() { gate.release() }

    private func checkWritable() throws {
        try state.withLock { state in
            guard !state.closed else { throw EngineError.closed }
            if let failure = state.failure { throw failure }
        }
        if let failure = log.failureReason { throw failure }
        if let reason = storage.readOnlyReason { throw EngineError.readOnly(reason: reason) }
    }

    func commit(_ transaction: Transaction) throws {
        guard !transaction.operations.isEmpty else {
            gate.release()
            return
        }
        let sequence: UInt64
        do {
            try checkWritable()
            sequence = try log.append(transaction.operations, write: transaction.durability != .async)
        } catch {
            gate.release()
            throw error
        }
        startBackgroundWork()
        var layer = transaction.local
        layer.lastSequence = sequence
        let now = monotonicSeconds()
        // Merged under the lock, in place: nodes no reader's snapshot holds are changed rather
        // than copied (readers that start meanwhile wait for the merge, not for the commit).
        let memtableBytes = state.withLock { state -> Int in
            state.active.absorb(layer)
            if state.activeSince == nil { state.activeSince = now }
            return state.memtableBytes
        }
        gate.release()
        if transaction.durability == .full {
            try log.makeDurable(through: sequence)
        }
        background.withLock { $0 }?.nudgeIfNeeded(memtableBytes: memtableBytes)
        if memtableBytes > options.memtableBudget { relieveMemtable() }
    }

    /// Backpressure: a commit that leaves the memtable over its budget waits for the checkpoint
    /// under way, or runs one itself, so writers can never outrun the checkpointer and memory stays
    /// bounded. The commit has succeeded already: a failing checkpoint latches the engine, and
    /// the next commit reports it.
    private func relieveMemtable() {
        let me = pthread_self()
        let ownCheckpoint = state.withLock { state in state.checkpointThread.map { pthread_equal($0, me) != 0 } ?? false }
        guard !ownCheckpoint else { return }
        checkpointMutex.withLock {}
        guard state.withLock({ $0.memtableBytes }) > options.memtableBudget else { return }
        try? checkpoint(origin: .automatic)
    }

    /// Starts the background thread if it is not running: at the first commit, since until then
    /// it has nothing to sync or checkpoint, so an open that only reads starts no thread.
    private func startBackgroundWork() {
        guard options.backgroundWork else { return }
        background.withLock { worker in
            if worker == nil, backgroundAllowed.withLock({ $0 }) { worker = BackgroundWorker(engine: self) }
        }
    }

    /// True once the background thread runs (tests).
    var backgroundWorkStarted: Bool { background.withLock { $0 != nil } }

    /// Makes every commit so far durable, whatever its mode.
    public func flush() throws {
        try log.writePending()
        try log.flush()
    }

    // MARK: - Checkpoints

    /// Sets work to run at the start of every checkpoint, before the memtable is frozen: the chat
    /// store seals recent messages into blocks there, in an ordinary write transaction, so that
    /// what it replaces never reaches the B+trees. It runs on the checkpointing thread, with no
    /// engine lock held; an error it throws fails the checkpoint. It is told why the checkpoint
    /// runs, so it may leave work for later in an automatic one.
    public func setCheckpointPreparation(_ work: (@Sendable (CheckpointOrigin) throws -> Void)?) {
        checkpointPreparation.withLock { $0 = work }
    }

    /// Moves the memtable into the B+trees and resets the log. Writers wait only for the final
    /// step, which moves what was committed while the rest was being written.
    public func checkpoint() throws { try checkpoint(origin: .requested) }

    /// A checkpoint, telling the checkpoint preparation why it runs. With `.automatic` the
    /// preparation may leave work for later (the chat store leaves some sealing); callers that
    /// want everything done use ``checkpoint()``.
    public func checkpoint(origin: CheckpointOrigin) throws {
        try checkpointMutex.withLock {
            state.withLock { $0.checkpointThread = pthread_self() }
            defer { state.withLock { $0.checkpointThread = nil } }
            if let preparation = checkpointPreparation.withLock({ $0 }) { try preparation(origin) }
            // Phase 1: freeze the active layer and write it while commits go on.
            try gate.acquire()
            let froze = freezeActive()
            gate.release()
            if froze { try writeOldestFrozen() }
            // Phase 2: with writers held back, write what came meanwhile and reset the log.
            try gate.acquire()
            defer { gate.release() }
            if freezeActive() { try writeOldestFrozen() }
            // Records that values are still read from stay; the log starts over at a later
            // checkpoint, once nothing holds them.
            if state.withLock({ $0.recoveredLog != nil }) {
                try log.keepAfterCheckpoint(base: storage.logSequence)
            } else {
                try log.reset(base: storage.logSequence)
            }
        }
        // The trees' pages this checkpoint read through the map, and the heap it freed on two
        // threads, stay resident unless given back.
        storage.file.releaseResidentPages()
        Heap.trim()
    }

    /// Moves `active` to the front of `frozen`; false when it was empty. Call with the gate held.
    private func freezeActive() -> Bool {
        state.withLock { state in
            guard !state.active.isEmpty else { return false }
            state.frozen.insert(state.active, at: 0)
            state.active = MemLayer()
            state.activeSince = nil
            return true
        }
    }

    private func writeOldestFrozen() throws {
        guard let layer = state.withLock({ $0.frozen.last }) else { return }
        do {
            let txn = try storage.beginWrite()
            do {
                for name in layer.trees.keys.sorted() {
                    guard let overlay = layer.trees[name] else { continue }
                    if overlay.hidesBelow, try txn.treeExists(name) { try txn.dropTree(name) }
                    if overlay.exists == true || !overlay.entries.isEmptyMap { try txn.createTree(name) }
                    if overlay.exists == false { continue }
                    var iterator = MapIterator(overlay.entries)
                    iterator.seek(atOrAfter: nil)
                    while let (key, value) = iterator.current {
                        if let bytes = value.bytes { try txn.put(name, key, bytes) } else { try txn.delete(name, key) }
                        iterator.next()
                    }
                }
                txn.logSequence = layer.lastSequence
                var written: MemLayer?
                try txn.commit { publish in
                    // The new trees and the frozen layer's removal become visible together.
                    self.state.withLock { state in
                        publish()
                        written = state.frozen.popLast()
                    }
                }
                // Freed here, not under the lock that every commit's merge takes: the layer may
                // hold the last references to a whole memtable's nodes.
                withExtendedLifetime(written) {}
            } catch {
                txn.abort()
                throw error
            }
        } catch let error as EngineError {
            state.withLock { if $0.failure == nil { $0.failure = .readOnly(reason: "a checkpoint failed (\(error)); reopen the database") } }
            throw error
        }
    }

    /// What a background pass should do now.
    func backgroundPass() {
        do {
            let (appended, durable) = log.sequences
            if appended > durable { try flush() }
            let (bytes, since) = state.withLock { ($0.active.bytes, $0.activeSince) }
            if bytes >= options.checkpointTrigger || (since.map { monotonicSeconds() - $0 >= options.checkpointAge } ?? false) {
                try checkpoint(origin: .automatic)
            }
        } catch {
            // Latched in the log, the trees or `state.failure`; commits report it.
        }
    }

    // MARK: - Close

    /// Checkpoints, removes the log and closes the file, leaving one file, cut after its last page
    /// in use when enough of it is free (`EngineOptions.closeCompactionFreeFraction`). After a
    /// failure, the log is left for the next open to recover from.
    public func close() throws {
        backgroundAllowed.withLock { $0 = false }
        let worker = background.withLock { worker -> BackgroundWorker? in
            defer { worker = nil }
            return worker
        }
        worker?.stop()
        let alreadyClosed = state.withLock { $0.closed }
        guard !alreadyClosed else { return }
        var firstError: Error?
        do {
            try checkWritable()
            try checkpoint()
            try log.close(remove: true)
            // Best effort: every commit of it leaves a complete state, and a failed one latches
            // the file as any failed write does (the next open reads the last durable state).
            _ = try? storage.compactTail(minimumFreeFraction: options.storage.closeCompactionFreeFraction)
        } catch {
            firstError = error
            try? log.close(remove: false)
        }
        state.withLock { $0.closed = true }
        storage.close()
        if let firstError { throw firstError }
    }

    /// The integrity walk over the B+trees (the memtable is checked by the model tests).
    public func checkIntegrity() throws -> IntegrityReport { try storage.checkIntegrity() }

    /// Bytes of log records since the log last started over: at a checkpoint, unless values a
    /// recovery left in it were still held then (`LoggedValue`).
    public var logBytes: UInt64 { log.usedBytes }

    /// Heap bytes the memtable holds, active and frozen layers together.
    var memtableBytes: Int { state.withLock { $0.memtableBytes } }

    /// Whether values a recovery left in the log are still held (tests).
    var holdsValuesInLog: Bool { state.withLock { $0.recoveredLog != nil } }

    /// The root node of the active layer's map for `tree` (tests: whether a commit changed the
    /// memtable in place or copied its path).
    func activeMapRoot(_ tree: String) -> MapNode? { state.withLock { $0.active.trees[tree]?.entries.root } }

    /// Gathering windows group commit has opened since open (tests).
    var groupCommitWindows: UInt64 { log.gatherWindowsOpened }

    /// Log records appended since open, and the fdatasyncs that made them durable.
    public var logStatistics: (sequence: UInt64, syncs: UInt64) {
        (log.sequences.appended, log.syncCountValue)
    }
}

func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

extension timespec {
    /// `seconds` as a timespec, rounded up to the next nanosecond, so a timed wait until it does
    /// not end before that instant. A deadline comes from options a caller sets (a sync interval
    /// of `.infinity` means no timed sync): negative or NaN is taken as 0 and anything past
    /// `latestDeadline` as that, so no value traps the conversion to whole seconds.
    init(seconds requested: Double) {
        let seconds = requested.isNaN ? 0 : min(max(requested, 0), Self.latestDeadline)
        var whole = Int(seconds.rounded(.down))
        var nanoseconds = Int(((seconds - seconds.rounded(.down)) * 1e9).rounded(.up))
        if nanoseconds >= 1_000_000_000 {
            whole += 1
            nanoseconds -= 1_000_000_000
        }
        self.init(tv_sec: whole, tv_nsec: nanoseconds)
    }

    /// About 31,700 years: later than any wait, well inside `Int`.
    static let latestDeadline: Double = 1e12
}
