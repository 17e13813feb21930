// The write-ahead log file: appends records, makes them durable with group commit, and is reset
// (new salt) once a checkpoint has moved everything in it into the trees.
//
// Invariants:
// - Records are written in sequence order, each at the end of the previous one; the file is
//   preallocated and grown in steps, so an fdatasync after an append rarely has a size change to
//   journal too.
// - `syncedThrough` only grows, and only after an fdatasync that followed the writes it covers.
// - One fdatasync at a time; committers that arrive while it runs wait for the next one, which
//   covers all of them (group commit). A failed write or sync latches the log: it is never retried.
// - A reset writes the new header (new salt, new base sequence) and syncs it before any record
//   after it is written, so old records can never be read as new ones.

import Glibc

final class WriteAheadLog: @unchecked Sendable {
    let path: String
    private let file: any StorageFile
    private let fileSystem: any FileSystem
    private let identity: Bytes
    private let growthStep: UInt64

    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let synced = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    // Guarded by `mutex`.
    private var header: LogFormat.Header
    /// File offset where the next record goes.
    private var writeOffset: UInt64
    /// Records appended but not yet written (async commits), and the sequence of the last one.
    private var pending = Bytes()
    private var lastAppended: UInt64
    private var lastWritten: UInt64
    private var syncedThrough: UInt64
    private var syncing = false
    /// fdatasyncs of records so far (for the figures of group commit).
    private(set) var syncCount: UInt64 = 0
    private var failure: EngineError?
    private var allocatedSize: UInt64

    private init(path: String, file: any StorageFile, fileSystem: any FileSystem, identity: Bytes, header: LogFormat.Header,
                 writeOffset: UInt64, lastSequence: UInt64, allocatedSize: UInt64, growthStep: UInt64) {
        self.path = path
        self.file = file
        self.fileSystem = fileSystem
        self.identity = identity
        self.header = header
        self.writeOffset = writeOffset
        self.lastAppended = lastSequence
        self.lastWritten = lastSequence
        self.syncedThrough = lastSequence
        self.allocatedSize = allocatedSize
        self.growthStep = growthStep
        mutex.initialize(to: pthread_mutex_t())
        synced.initialize(to: pthread_cond_t())
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(synced, nil)
    }

    deinit {
        file.close()
        pthread_cond_destroy(synced)
        pthread_mutex_destroy(mutex)
        synced.deallocate()
        mutex.deallocate()
    }

    /// Opens the log beside a database (creating it when missing) and reads its valid records after
    /// `checkpointed`. A log whose header is torn or belongs to another database holds nothing.
    static func open(
        path: String, fileSystem: any FileSystem, identity: Bytes, checkpointed: UInt64,
        preallocate: UInt64, growthStep: UInt64
    ) throws -> (WriteAheadLog, [LogFormat.Record]) {
        let existed = fileSystem.fileExists(at: path)
        let file = try fileSystem.openFile(at: path, existed ? .existing : .createIfMissing)
        do {
            var records: [LogFormat.Record] = []
            var size = try file.size()
            if existed, size >= UInt64(LogFormat.headerSize),
               let header = try file.withBytes(at: 0, count: LogFormat.headerSize, { LogFormat.Header.decode($0, identity: identity) }) {
                let body = try file.withBytes(at: UInt64(LogFormat.headerSize), count: Int(size) - LogFormat.headerSize) {
                    LogFormat.scan($0, header: header).records
                }
                records = body.filter { $0.sequence > checkpointed }
                // Records the trees already hold must be a prefix, and what follows must start
                // right after the trees' sequence; otherwise the log is not this state's.
                if let first = records.first, first.sequence != checkpointed &+ 1 { records = [] }
            }
            // Whatever was read, the log starts again empty after the caller's recovery; until
            // then it is written only through `reset`.
            if size < preallocate {
                try file.grow(to: preallocate)
                size = preallocate
            }
            let header = LogFormat.Header(identity: identity, salt: 0, baseSequence: checkpointed)
            let log = WriteAheadLog(
                path: path, file: file, fileSystem: fileSystem, identity: identity, header: header,
                writeOffset: UInt64(LogFormat.headerSize), lastSequence: checkpointed, allocatedSize: size,
                growthStep: growthStep)
            if !existed { try fileSystem.syncDirectory(containing: path) }
            return (log, records)
        } catch {
            file.close()
            throw error
        }
    }

    @inline(__always) private func lock() { pthread_mutex_lock(mutex) }
    @inline(__always) private func unlock() { pthread_mutex_unlock(mutex) }

    /// Starts the log over after a checkpoint that holds every record through `base`: new salt,
    /// header synced. Waiters for records through `base` are released (the trees hold them).
    func reset(base: UInt64) throws {
        lock()
        defer { unlock() }
        if let failure { throw failure }
        var random = SystemRandomNumberGenerator()
        var salt = random.next() as UInt64
        if salt == header.salt { salt &+= 1 }
        let fresh = LogFormat.Header(identity: identity, salt: salt, baseSequence: base)
        do {
            try fresh.encode().withUnsafeBytes { try file.write($0, at: 0) }
            try file.sync()
        } catch {
            latch(error)
            throw error
        }
        header = fresh
        writeOffset = UInt64(LogFormat.headerSize)
        pending.removeAll(keepingCapacity: true)
        lastAppended = base
        lastWritten = base
        syncedThrough = max(syncedThrough, base)
        pthread_cond_broadcast(synced)
    }

    /// Appends a record of `operations` and returns its sequence number. With `write`, it is
    /// written to the file before returning (with whatever earlier appends were still pending);
    /// otherwise it waits in memory for `writePending`.
    func append(_ operations: [LogOperation], write: Bool) throws -> UInt64 {
        let payload = LogOperation.encode(operations)
        guard payload.count <= LogFormat.maximumPayload else {
            throw EngineError.valueTooLarge(length: payload.count, maximum: LogFormat.maximumPayload)
        }
        lock()
        defer { unlock() }
        if let failure { throw failure }
        let sequence = lastAppended + 1
        let mark = pending.count
        LogFormat.appendRecord(sequence: sequence, salt: header.salt, payload: payload, to: &pending)
        if write {
            do {
                try writePendingLocked(through: sequence)
            } catch EngineError.diskFull(let where_) {
                // Nothing of this record reached the file: drop it, the commit fails cleanly.
                pending.removeSubrange(mark...)
                throw EngineError.diskFull(path: where_)
            }
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

    /// Writes `pending`, which ends with record `last`.
    private func writePendingLocked(through last: UInt64) throws {
        guard !pending.isEmpty else { return }
        let end = writeOffset + UInt64(pending.count)
        if end > allocatedSize {
            let target = max(end, allocatedSize + max(growthStep, allocatedSize / 4))
            try file.grow(to: target)  // disk full here fails only this commit
            allocatedSize = target
        }
        do {
            try pending.withUnsafeBytes { try file.write($0, at: writeOffset) }
        } catch {
            latch(error)
            throw error
        }
        writeOffset = end
        pending.removeAll(keepingCapacity: true)
        lastWritten = last
    }

    /// Returns once every record through `sequence` is durable; one fdatasync serves every caller
    /// waiting at the time it starts.
    func makeDurable(through sequence: UInt64) throws {
        lock()
        defer { unlock() }
        while syncedThrough < sequence {
            if let failure { throw failure }
            if syncing {
                pthread_cond_wait(synced, mutex)
                continue
            }
            if lastWritten < sequence {
                // Async records not yet written: write them first.
                do { try writePendingLocked(through: lastAppended) } catch {
                    latch(error)
                    throw error
                }
            }
            syncing = true
            let target = lastWritten
            unlock()
            var syncError: Error?
            do { try file.sync() } catch { syncError = error }
            lock()
            syncing = false
            if let syncError {
                latch(syncError)
                pthread_cond_broadcast(synced)
                throw syncError
            }
            syncedThrough = max(syncedThrough, target)
            syncCount += 1
            pthread_cond_broadcast(synced)
        }
    }

    /// Makes everything appended so far durable.
    func flush() throws {
        let last: UInt64 = {
            lock()
            defer { unlock() }
            return lastAppended
        }()
        try makeDurable(through: last)
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

    /// Closes the log file; with `remove`, deletes it and syncs the directory.
    func close(remove: Bool) throws {
        file.close()
        if remove {
            try fileSystem.removeFile(at: path)
            try fileSystem.syncDirectory(containing: path)
        }
    }
}
