// The write-ahead log file: appends records, makes them durable with group commit, and is reset
// (new salt) once a checkpoint has moved everything in it into the trees and no value recovered
// from it is still read (`keepAfterCheckpoint` until then; `LoggedValue`).
//
// Invariants:
// - The file is created at the first record, not at open: a database opened only to read writes and
//   syncs nothing. Before the first record of a log generation is written, the file exists, is
//   preallocated, holds the current header (synced) and its directory entry is synced (`prepare`),
//   so an acknowledged commit never sits in a file a power loss could unlink or a header it could
//   lose.
// - Records are written in sequence order, each at the end of the previous one. The file is
//   preallocated and grown in steps, and the space ahead of the records is written with zeros a
//   chunk at a time (`warmChunk`), so an fdatasync after an append overwrites blocks that were
//   already written: no size change and no unwritten-extent conversion to journal.
// - `syncedThrough` only grows, and only after an fdatasync that followed the writes it covers.
// - One fdatasync of records at a time (a reset's sync of its new header may overlap it); committers
//   that arrive while it runs wait for the next one, which covers all of them (group commit,
//   `GroupCommit`). A failed write or sync latches the log: it is never retried.
// - A reset writes the new header (new salt, new base sequence) and syncs it before any record
//   after it is written, so old records can never be read as new ones. A log not yet prepared
//   takes the new header in memory only; `prepare` writes it before the first record.
// - Each record's CRC is chained to the previous one's (`chain`), so a log recovered at open can be
//   kept and appended to at the end of its valid run: a stale record past a torn tail was chained
//   to a CRC the new record replaced, and no longer joins the run.

import Glibc

final class WriteAheadLog: @unchecked Sendable {
    let path: String
    private let fileSystem: any FileSystem
    private let identity: Bytes
    private let preallocation: UInt64
    private let growthStep: UInt64
    /// Bytes of zeros written ahead of the records at a time.
    private let warmChunk: UInt64

    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    /// Broadcast when a sync ends or fails, or a reset releases records; its timed waits use the
    /// monotonic clock.
    private let synced = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    // Guarded by `mutex`.
    /// The log file; nil until the first record needs it.
    private var file: (any StorageFile)?
    /// True once `header` is durable in `file` and the file's directory entry is durable.
    private var prepared = false
    private var header: LogFormat.Header
    /// The CRC the next record appended is chained to (the last record's, or the header's).
    private var chain: UInt32
    /// File offset where the next record goes.
    private var writeOffset: UInt64
    /// Records appended but not yet written (async commits), and the sequence of the last one.
    private var pending = Bytes()
    private var lastAppended: UInt64
    private var lastWritten: UInt64
    private var syncedThrough: UInt64
    private var syncing = false
    /// When the open gathering window closes (monotonic seconds), or nil when none is open.
    private var gatherWindowCloses: Double?
    /// Gathering windows opened so far (tests).
    private var gatherWindowCount: UInt64 = 0
    private var groupCommit = GroupCommit()
    /// fdatasyncs of records so far (for the figures of group commit).
    private(set) var syncCount: UInt64 = 0
    private var failure: EngineError?
    private var allocatedSize: UInt64
    /// Bytes from the start of the file known to have been written (header, records or zeros).
    private var writtenThrough: UInt64
    private var zeros = Bytes()

    private init(path: String, file: (any StorageFile)?, fileSystem: any FileSystem, identity: Bytes, header: LogFormat.Header,
                 lastSequence: UInt64, allocatedSize: UInt64, preallocation: UInt64, growthStep: UInt64) {
        self.path = path
        self.file = file
        self.fileSystem = fileSystem
        self.identity = identity
        self.header = header
        self.chain = header.checksum
        self.writeOffset = UInt64(LogFormat.headerSize)
        self.lastAppended = lastSequence
        self.lastWritten = lastSequence
        self.syncedThrough = lastSequence
        self.allocatedSize = allocatedSize
        // What an earlier process left past the header may be unwritten (fallocated) space.
        self.writtenThrough = 0
        self.preallocation = preallocation
        self.growthStep = growthStep
        self.warmChunk = max(4096, min(1 << 20, growthStep))
        mutex.initialize(to: pthread_mutex_t())
        synced.initialize(to: pthread_cond_t())
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(synced, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        file?.close()
        pthread_cond_destroy(synced)
        pthread_mutex_destroy(mutex)
        synced.deallocate()
        mutex.deallocate()
    }

    /// Opens the log beside a database and hands its records after `checkpointed` to `replay`
    /// (header, log body, the records' frames in it, what to check them with, and the body as a
    /// `RecoveredLog` when the file is mapped, which values may keep reading from). `replay` checks
    /// the records as it goes (CRC and form, `LogFormat.RecordCheck`) and returns how many are valid
    /// from the first (the run ends there), and whether it kept them in memory (the memtable) or
    /// wrote them into the trees. Kept records stay in the log, which continues after them: same
    /// salt, the chain from the last one, the next sequence. Otherwise the log starts again empty
    /// (the caller resets it). A missing log is not created here (the first record creates it); a
    /// log whose header is torn or belongs to another database holds nothing. Nothing is written or
    /// synced.
    static func open(
        path: String, fileSystem: any FileSystem, identity: Bytes, checkpointed: UInt64,
        preallocate: UInt64, growthStep: UInt64,
        replay: (LogFormat.Header, UnsafeRawBufferPointer, ArraySlice<LogFormat.Span>, Engine.RecordsToCheck, RecoveredLog?) throws
            -> (kept: Bool, valid: Int)
    ) throws -> (log: WriteAheadLog, kept: Bool) {
        var header = LogFormat.Header(identity: identity, salt: 0, baseSequence: checkpointed)
        guard fileSystem.fileExists(at: path) else {
            let log = WriteAheadLog(
                path: path, file: nil, fileSystem: fileSystem, identity: identity, header: header,
                lastSequence: checkpointed, allocatedSize: 0, preallocation: preallocate, growthStep: growthStep)
            return (log, false)
        }
        let file = try fileSystem.openFile(at: path, .existing)
        do {
            let size = try file.size()
            var continued: (header: LogFormat.Header, run: LogFormat.Run, last: UInt64)?
            if size >= UInt64(LogFormat.headerSize),
               let found = try file.withBytes(at: 0, count: LogFormat.headerSize, { LogFormat.Header.decode($0, identity: identity) }) {
                let bodySize = try checkedBodySize(size, path: path)
                func recover(_ body: UnsafeRawBufferPointer, _ mapped: RecoveredLog?) throws {
                    // One serial walk of the frames; the records' CRCs and payloads are checked by
                    // the replay, spread over its workers.
                    let frames = LogFormat.scanFrames(body, header: found)
                    var check = LogFormat.RecordCheck(header: found)
                    // Records the trees already hold (only after a crash between a checkpoint and
                    // its reset, or while recovered values held the log) are checked here: the run
                    // must reach past them.
                    let older = frames.prefix { $0.sequence <= checkpointed }
                    guard check.validPrefix(older, of: body, after: found.checksum) == older.count else { return }
                    // What follows must start right after the trees' sequence; otherwise the log is
                    // not this state's.
                    let newer = frames[older.endIndex...]
                    guard let first = newer.first, first.sequence == checkpointed &+ 1 else { return }
                    let toCheck = Engine.RecordsToCheck(check: check, previous: older.last?.checksum ?? found.checksum)
                    let (kept, valid) = try replay(found, body, newer, toCheck, mapped)
                    guard valid > 0, valid <= newer.count else { return }
                    // Only a chained log is appended to (an unchained one cannot tell a stale tail).
                    if kept, found.version == LogFormat.version {
                        let run = LogFormat.run(frames[..<(older.endIndex + valid)], header: found)
                        continued = (found, run, newer[newer.startIndex + valid - 1].sequence)
                    }
                }
                // Read in place where the file is mapped (uncounted, like a reader's pages: the
                // recovered values keep reading it); otherwise through `withBytes`.
                if let mapping = file.mappedBytes(covering: size),
                   let mapped = RecoveredLog(mapping: mapping, from: LogFormat.headerSize), mapped.body.count == bodySize {
                    try recover(mapped.body, mapped)
                } else {
                    try file.withBytes(at: UInt64(LogFormat.headerSize), count: bodySize) { try recover($0, nil) }
                }
                // Remembered so that the next salt differs from the one on disk.
                header.salt = found.salt
            }
            guard let continued else {
                // The log starts again empty after the caller's recovery; the first record after
                // it writes a new header first (`prepare`).
                let log = WriteAheadLog(
                    path: path, file: file, fileSystem: fileSystem, identity: identity, header: header,
                    lastSequence: checkpointed, allocatedSize: size, preallocation: preallocate, growthStep: growthStep)
                return (log, false)
            }
            let log = WriteAheadLog(
                path: path, file: file, fileSystem: fileSystem, identity: identity, header: continued.header,
                lastSequence: continued.last, allocatedSize: size, preallocation: preallocate, growthStep: growthStep)
            log.continueAfter(continued.run)
            return (log, true)
        } catch {
            file.close()
            throw error
        }
    }

    private static func checkedBodySize(_ size: UInt64, path: String) throws -> Int {
        guard size <= UInt64(Int.max) else { throw EngineError.corruptFile(path: path, reason: "the log is larger than memory can address") }
        return Int(size) - LogFormat.headerSize
    }

    /// Appends from now on after `run`, the valid records of the header on disk. The header is the
    /// one the writer synced before its first record, so the log counts as prepared; the records
    /// themselves are synced once by `syncKeptRecords` before the open returns.
    private func continueAfter(_ run: LogFormat.Run) {
        lock()
        defer { unlock() }
        prepared = true
        chain = run.chain
        writeOffset = UInt64(LogFormat.headerSize) + UInt64(run.length)
        // What follows the run (a torn or stale tail, zeros, unwritten space) is overwritten by the
        // next records and the zeros written ahead of them.
        writtenThrough = writeOffset
    }

    /// Makes the records a recovery kept durable with one fdatasync. The session that wrote them
    /// may have died before syncing them, and readers are about to see them: a power loss after
    /// this open must not take back what a reader of it was shown.
    func syncKeptRecords() throws {
        lock()
        let file = self.file
        unlock()
        guard let file else { return }
        try file.sync()  // a failure fails the open, which closes the log
        lock()
        syncCount += 1
        unlock()
    }

    @inline(__always) private func lock() { pthread_mutex_lock(mutex) }
    @inline(__always) private func unlock() { pthread_mutex_unlock(mutex) }

    /// Starts the log over after a checkpoint that holds every record through `base`: new salt,
    /// header synced (or, while the log is not prepared, kept for `prepare` to write). Waiters for
    /// records through `base` are released (the trees hold them).
    func reset(base: UInt64) throws {
        lock()
        defer { unlock() }
        if let failure { throw failure }
        var random = SystemRandomNumberGenerator()
        var salt = random.next() as UInt64
        if salt == header.salt { salt &+= 1 }
        let fresh = LogFormat.Header(identity: identity, salt: salt, baseSequence: base)
        if prepared, let file {
            do {
                try fresh.encode().withUnsafeBytes { try file.write($0, at: 0) }
                try file.sync()
            } catch {
                latch(error)
                throw error
            }
        }
        header = fresh
        chain = fresh.checksum
        writeOffset = UInt64(LogFormat.headerSize)
        pending.removeAll(keepingCapacity: true)
        lastAppended = base
        lastWritten = base
        syncedThrough = max(syncedThrough, base)
        gatherWindowCloses = nil
        pthread_cond_broadcast(synced)
    }

    /// After a checkpoint that holds every record through `base`, when the log may not start over
    /// (values are still read from its records, see `RecoveredLog`): the records stay, new ones
    /// follow them, and waiters for records through `base` are released (the trees hold them).
    /// Recovery skips the records the trees hold, as it does after a crash before a reset.
    func keepAfterCheckpoint(base: UInt64) throws {
        lock()
        defer { unlock() }
        if let failure { throw failure }
        syncedThrough = max(syncedThrough, base)
        pthread_cond_broadcast(synced)
    }

    /// Appends a record of `operations` and returns its sequence number. With `write`, it is
    /// written to the file before returning (with whatever earlier appends were still pending);
    /// otherwise it waits in memory for `writePending`.
    func append(_ operations: [LogOperation], write: Bool) throws -> UInt64 {
        var record = LogOperation.encode(operations, leadingRoom: LogFormat.recordFrameSize)
        let payloadCount = record.count - LogFormat.recordFrameSize
        guard payloadCount <= LogFormat.maximumPayload else {
            throw EngineError.valueTooLarge(length: payloadCount, maximum: LogFormat.maximumPayload)
        }
        lock()
        defer { unlock() }
        if let failure { throw failure }
        let sequence = lastAppended + 1
        let mark = pending.count
        let previous = chain
        chain = LogFormat.frameRecord(&record, sequence: sequence, salt: header.salt, previous: previous)
        do {
            if write && pending.isEmpty {
                // Written from the record itself: a sealing commit's record can be tens of MiB,
                // and a copy in `pending` would double it (and stay as its capacity).
                try writeLocked(record, through: sequence)
            } else {
                pending.append(contentsOf: record)
                if write { try writePendingLocked(through: sequence) }
            }
        } catch EngineError.diskFull(let where_) {
            // Nothing of this record reached the file: drop it, the commit fails cleanly.
            if pending.count > mark { pending.removeSubrange(mark...) }
            chain = previous
            throw EngineError.diskFull(path: where_)
        }
        lastAppended = sequence
        return sequence
    }

    /// Writes the records appended without `write`.
    func writePending() throws {
        lock()
        defer { unlock() }
        if let failure { throw failure }
        guard !pending.isEmpty else { return }
        do {
            try writePendingLocked(through: lastAppended)
        } catch {
            // A background write that fails after its commits returned: the database must stop.
            latch(error)
            throw error
        }
    }

    /// Makes the log ready for its first record: creates the file (when missing), preallocates it,
    /// writes and syncs the header, and syncs the directory, in that order, so that a power loss
    /// at any step leaves either no log or a log holding nothing. Running out of space fails only
    /// the commit that asked; any other failure latches the log.
    private func prepareLocked() throws -> any StorageFile {
        if prepared, let file { return file }
        let file: any StorageFile
        if let existing = self.file {
            file = existing
        } else {
            file = try fileSystem.openFile(at: path, .createIfMissing)
            self.file = file
            allocatedSize = try file.size()
            writtenThrough = 0
        }
        if allocatedSize < preallocation {
            try file.grow(to: preallocation)  // disk full here fails only this commit
            allocatedSize = preallocation
        }
        do {
            try header.encode().withUnsafeBytes { try file.write($0, at: 0) }
            writtenThrough = max(writtenThrough, UInt64(LogFormat.headerSize))
            try file.sync()
            try fileSystem.syncDirectory(containing: path)
        } catch {
            latch(error)
            throw error
        }
        prepared = true
        return file
    }

    /// Writes `pending`, which ends with record `last`.
    private func writePendingLocked(through last: UInt64) throws {
        guard !pending.isEmpty else { return }
        try writeLocked(pending, through: last)
        // Kept for the next records unless an unusually large run grew it: its pages would stay
        // resident for the life of the log.
        if pending.capacity > Self.retainedPendingCapacity {
            pending = Bytes()
        } else {
            pending.removeAll(keepingCapacity: true)
        }
    }

    /// Capacity of `pending` kept between writes.
    static let retainedPendingCapacity = 4 << 20

    /// Writes `bytes`, whole records ending with record `last`, at the end of the log. Running out
    /// of space while growing the file throws `diskFull` with nothing written; any failure to
    /// write latches the log.
    private func writeLocked(_ bytes: Bytes, through last: UInt64) throws {
        let file = try prepareLocked()
        let end = writeOffset + UInt64(bytes.count)
        if end > allocatedSize {
            let target = max(end, allocatedSize + max(growthStep, allocatedSize / 4))
            try file.grow(to: target)  // disk full here fails only this commit
            allocatedSize = target
        }
        try warmLocked(file, past: end)
        do {
            try bytes.withUnsafeBytes { try file.write($0, at: writeOffset) }
        } catch {
            latch(error)
            throw error
        }
        writeOffset = end
        writtenThrough = max(writtenThrough, end)
        lastWritten = last
    }

    /// Writes zeros over the next chunk of allocated space once the records come within half a
    /// chunk of the written part. The zeros reach the disk with the next fdatasync, which journals
    /// the extent change once for the chunk; the records that follow overwrite written blocks.
    /// Zeros are never a valid record, and nothing past `end` belongs to this log generation.
    private func warmLocked(_ file: any StorageFile, past end: UInt64) throws {
        guard writtenThrough < end + warmChunk / 2 else { return }
        let from = max(writtenThrough, end)
        let to = min(allocatedSize, from + warmChunk)
        guard to > from else { return }
        if zeros.count < Int(warmChunk) { zeros = Bytes(repeating: 0, count: Int(warmChunk)) }
        do {
            try zeros.withUnsafeBytes { try file.write(UnsafeRawBufferPointer(rebasing: $0[0..<Int(to - from)]), at: from) }
        } catch EngineError.diskFull(let where_) {
            throw EngineError.diskFull(path: where_)  // nothing of the record was written
        } catch {
            latch(error)
            throw error
        }
        writtenThrough = to
    }

    /// Returns once every record through `sequence` is durable; one fdatasync serves every caller
    /// waiting at the time it starts. While fewer committers wait than the last sync released, a
    /// short, bounded window (`GroupCommit`) holds the sync back for them: the committer that
    /// completes the crowd starts the sync itself, and if the window closes first, one of those
    /// waiting starts it. A caller that is not a committing thread (a flush) is not counted among
    /// them.
    func makeDurable(through sequence: UInt64, committer: Bool = true) throws {
        var wakeWaiters = false
        lock()
        defer {
            unlock()
            // After the unlock, so that the woken do not block at once on the mutex.
            if wakeWaiters { pthread_cond_broadcast(synced) }
        }
        if committer { groupCommit.arrive(waitingFor: sequence) }
        defer { if committer { groupCommit.leave(waitingFor: sequence) } }
        while syncedThrough < sequence {
            if wakeWaiters {
                pthread_cond_broadcast(synced)
                wakeWaiters = false
            }
            if let failure { throw failure }
            if syncing {
                pthread_cond_wait(synced, mutex)
                continue
            }
            if let window = groupCommit.window(synced: syncedThrough) {
                // The first to find the crowd short opens the window; everyone waiting in it wakes
                // at its end (or at the sync's end), so none is left waiting for a sync nobody
                // will start.
                let now = monotonicSeconds()
                let closes = gatherWindowCloses ?? (now + window)
                if gatherWindowCloses == nil {
                    gatherWindowCloses = closes
                    gatherWindowCount += 1
                }
                if now < closes {
                    var deadline = timespec(seconds: closes)
                    _ = pthread_cond_timedwait(synced, mutex, &deadline)
                    continue
                }
            }
            // From here this thread is the syncer: others that arrive wait for its sync.
            syncing = true
            gatherWindowCloses = nil
            if lastWritten < lastAppended {
                // Async records not yet written: write them first, so this sync covers every
                // caller waiting (a flush's records included), not only this thread's.
                do { try writePendingLocked(through: lastAppended) } catch {
                    latch(error)
                    syncing = false
                    pthread_cond_broadcast(synced)
                    throw error
                }
            }
            let target = lastWritten
            let file = self.file
            unlock()
            var syncError: Error?
            let started = monotonicSeconds()
            do {
                guard let file else { throw EngineError.closed }
                try file.sync()
            } catch { syncError = error }
            let seconds = monotonicSeconds() - started
            lock()
            syncing = false
            if let syncError {
                latch(syncError)
                pthread_cond_broadcast(synced)
                throw syncError
            }
            syncedThrough = max(syncedThrough, target)
            syncCount += 1
            groupCommit.finishedSync(seconds: seconds)
            wakeWaiters = true
        }
    }

    /// Makes everything appended so far durable.
    func flush() throws {
        let last: UInt64 = {
            lock()
            defer { unlock() }
            return lastAppended
        }()
        try makeDurable(through: last, committer: false)
    }

    /// The last sequence number appended, and the last one known durable.
    var sequences: (appended: UInt64, durable: UInt64) {
        lock()
        defer { unlock() }
        return (lastAppended, syncedThrough)
    }

    /// Bytes of records in the log since its last reset.
    var usedBytes: UInt64 {
        lock()
        defer { unlock() }
        return writeOffset - UInt64(LogFormat.headerSize) + UInt64(pending.count)
    }

    var syncCountValue: UInt64 {
        lock()
        defer { unlock() }
        return syncCount
    }

    /// Gathering windows opened so far (tests).
    var gatherWindowsOpened: UInt64 {
        lock()
        defer { unlock() }
        return gatherWindowCount
    }

    /// The reason the log refuses writes, if it does.
    var failureReason: EngineError? {
        lock()
        defer { unlock() }
        return failure
    }

    private func latch(_ error: Error) {
        if failure == nil {
            failure = .readOnly(reason: "a log write or sync failed (\(error)); reopen the database")
        }
    }

    /// Closes the log file; with `remove`, deletes it and syncs the directory (when it exists).
    func close(remove: Bool) throws {
        let file: (any StorageFile)? = {
            lock()
            defer { unlock() }
            return self.file
        }()
        guard let file else { return }
        file.close()
        if remove {
            try fileSystem.removeFile(at: path)
            try fileSystem.syncDirectory(containing: path)
        }
    }

    /// True once the log file exists (it is created at the first record).
    var fileCreated: Bool {
        lock()
        defer { unlock() }
        return file != nil
    }
}
