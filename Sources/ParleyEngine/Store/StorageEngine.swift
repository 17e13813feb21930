// The engine object: one open database file, its committed state, its readers and its writer.
//
// Invariants:
// - One writer at a time (`writerLock`, held from `beginWrite` to commit or abort); readers never
//   take it, so they never block the writer nor wait for it.
// - Every reader registers the generation it reads; the writer hands out a freed page only when no
//   registered reader is older than the commit that freed it (see Freelist).
// - The first failed write or sync latches the engine read-only (`latched`); an fsync is never
//   retried, because after a failed fsync the kernel may have dropped the dirty pages.
// - The file's exclusive lock is held from open to close: one open engine per file.

import Glibc
import Synchronization

/// The committed state that new transactions start from.
struct CommittedState: Sendable {
    var meta: MetaPage
    /// The free pages, or nil while the chain `meta` names has not been read: open leaves it to
    /// the first write transaction (`StorageEngine.beginWrite`), the only one that uses it, so an
    /// open that only reads never touches the chunk pages (see `StorageEngine.freelist(of:)`).
    var freelist: Freelist?
    /// Catalog answers for this commit, shared by every reader of it.
    let descriptors = DescriptorCache()
}

/// The trees of one commit's catalog, looked up once: the catalog of a commit never changes, and
/// reading it again for every get and cursor cost a fifth of a query's time.
final class DescriptorCache: Sendable {
    /// A short list, scanned: a store has a handful of trees, and comparing short names is far
    /// cheaper than hashing them on every get.
    private let known = Locked([(name: String, descriptor: TreeDescriptor?)]())

    func descriptor(_ tree: String, lookup: () throws -> TreeDescriptor?) rethrows -> TreeDescriptor? {
        let found = known.withLock { known -> TreeDescriptor?? in
            for entry in known where entry.name == tree { return .some(entry.descriptor) }
            return .none
        }
        if let found { return found }
        let descriptor = try lookup()
        known.withLock { known in
            if !known.contains(where: { $0.name == tree }) { known.append((tree, descriptor)) }
        }
        return descriptor
    }
}

/// An open database file at the storage layer: named B+trees under snapshot transactions.
///
/// `StorageEngine` is for the chat store above it, not for end users. It is safe to use from any
/// thread: any number of read transactions run beside one write transaction.
public final class StorageEngine: @unchecked Sendable {
    /// The database file's path.
    public let path: String
    /// Page size in bytes, fixed when the database was created.
    public let pageSize: Int
    /// The database's identity (16 bytes from its header).
    public let identity: [UInt8]
    let options: EngineOptions
    let fileSystem: any FileSystem
    let file: any StorageFile
    /// Pages whose checksum this process has checked (see VerifiedPages).
    let verifiedPages = VerifiedPages()
    /// Tree pages whose cell layout this process has validated.
    let shapedPages = VerifiedPages()

    private let writerGate = WriterGate()
    private let state: Locked<State>
    /// `state.closed`, readable without the lock (set under it, in `close`).
    private let closedFlag = Atomic<Bool>(false)

    private struct State {
        var committed: CommittedState
        /// Generation -> number of live readers on it.
        var readers: [UInt64: Int] = [:]
        var latched: String?
        var closed = false
        /// Set by a close-time compaction: no new read transaction may start on a file about to
        /// lose its last pages.
        var refusingReaders = false
        var writerActive = false
    }

    /// Opens the database at `path`, creating it when it does not exist.
    public static func open(
        path: String, options: EngineOptions = EngineOptions(), fileSystem: any FileSystem = PosixFileSystem()
    ) throws -> StorageEngine {
        guard PageLayout.isValidPageSize(options.pageSize) else {
            throw EngineError.invalidArgument("page size \(options.pageSize) is not a power of two from 1024 to 65536")
        }
        let file: any StorageFile
        if fileSystem.fileExists(at: path) {
            file = try fileSystem.openFile(at: path, .existing)
        } else {
            file = try create(path: path, options: options, fileSystem: fileSystem)
        }
        // Tree pages are read in no particular order: a cold read should fetch its page, not the
        // megabytes of read-ahead around it (most of an open's time on a cold file without this).
        file.adviseRandomAccess()
        do {
            try file.lockExclusive()
            return try StorageEngine(path: path, file: file, options: options, fileSystem: fileSystem)
        } catch {
            file.close()
            throw error
        }
    }

    /// Creates a database crash-safely: it is built under a temporary name, synced, then linked to
    /// its real name and the directory synced, so `path` holds either nothing or a whole database.
    private static func create(path: String, options: EngineOptions, fileSystem: any FileSystem) throws -> any StorageFile {
        let temporary = path + "-creating"
        let file = try fileSystem.openFile(at: temporary, .createIfMissing)
        do {
            try file.lockExclusive()
            try file.truncate(to: 0)
            var identity = [UInt8](repeating: 0, count: 16)
            var generator = SystemRandomNumberGenerator()
            for i in identity.indices { identity[i] = UInt8.random(in: 0...255, using: &generator) }
            var now = timespec()
            clock_gettime(CLOCK_REALTIME, &now)
            let micros = UInt64(max(0, now.tv_sec)) * 1_000_000 + UInt64(max(0, now.tv_nsec)) / 1000
            let header = FileHeader(pageSize: options.pageSize, identity: identity, createdMicros: micros)
            let meta = MetaPage(
                generation: 1, pageCount: PageLayout.firstDataPage, catalog: .empty,
                freelistHead: 0, freelistTail: 0, freelistTailConsumed: 0, freeCount: 0,
                logSequence: 0, identity: identity)
            try file.grow(to: UInt64(options.pageSize) * PageLayout.firstDataPage)
            try header.encode().withUnsafeBytes { try file.write($0, at: 0) }
            try meta.encode(pageSize: options.pageSize).withUnsafeBytes {
                try file.write($0, at: meta.slot * UInt64(options.pageSize))
            }
            try file.sync()
            try fileSystem.moveFile(from: temporary, to: path)
            try fileSystem.syncDirectory(containing: path)
            file.close()
        } catch {
            file.close()
            if case EngineError.fileInUse = error { throw EngineError.fileInUse(path: path) }
            try? fileSystem.removeFile(at: temporary)
            throw error
        }
        // Opened again under its real name, so that errors name it.
        return try fileSystem.openFile(at: path, .existing)
    }

    private init(path: String, file: any StorageFile, options: EngineOptions, fileSystem: any FileSystem) throws {
        self.path = path
        self.file = file
        self.options = options
        self.fileSystem = fileSystem
        let fileSize = try file.size()
        guard fileSize >= UInt64(FileHeader.prefixSize) else {
            throw EngineError.corruptFile(path: path, reason: "file of \(fileSize) bytes is too short for a header")
        }
        let pageSize = try file.withBytes(at: 0, count: FileHeader.prefixSize) {
            try FileHeader.pageSize(fromPrefix: $0, path: path)
        }
        guard fileSize >= UInt64(pageSize) * PageLayout.firstDataPage else {
            throw EngineError.corruptFile(path: path, reason: "file of \(fileSize) bytes is shorter than its header and meta pages")
        }
        let header = try file.withBytes(at: 0, count: pageSize) { try FileHeader.decode($0, path: path) }
        self.pageSize = pageSize
        self.identity = header.identity

        var best: MetaPage?
        var problems: [String] = []
        for slot in [PageLayout.metaPages.0, PageLayout.metaPages.1] {
            // A page that does not decode is a problem to report; a failed read is thrown.
            let (decoded, problem) = try file.withBytes(at: slot * UInt64(pageSize), count: pageSize) { page -> (MetaPage?, String?) in
                do throws(EngineError) { return (try MetaPage.decode(page, number: slot), nil) } catch { return (nil, error.description) }
            }
            if let problem { problems.append(problem) }
            if let meta = decoded {
                if meta.identity != header.identity {
                    problems.append("meta page \(slot) belongs to another database")
                } else if meta.pageCount > fileSize / UInt64(pageSize) {
                    problems.append("meta page \(slot) counts \(meta.pageCount) pages, the file holds \(fileSize / UInt64(pageSize))")
                } else if let current = best, current.generation >= meta.generation {
                    // Keep the newer one.
                } else {
                    best = meta
                }
            }
        }
        guard let meta = best else {
            throw EngineError.corruptFile(path: path, reason: "no valid meta page (" + problems.joined(separator: "; ") + ")")
        }
        // The freelist is read by the first write transaction, not here (`freelist(of:)`).
        state = Locked(State(committed: CommittedState(meta: meta, freelist: nil)))
    }

    deinit { file.close() }

    /// The generation of the last commit.
    public var generation: UInt64 { state.withLock { $0.committed.meta.generation } }

    /// The log sequence number recorded by the last commit.
    public var logSequence: UInt64 { state.withLock { $0.committed.meta.logSequence } }

    /// Number of pages the committed state spans (in use or free).
    public var pageCount: UInt64 { state.withLock { $0.committed.meta.pageCount } }

    /// Refuses every read transaction from now on (the file is closing), and returns the last
    /// commit's meta page and whether a read transaction is still open.
    func refuseReaders() -> (meta: MetaPage, readersOpen: Bool) {
        state.withLock { state in
            state.refusingReaders = true
            return (state.committed.meta, !state.readers.isEmpty)
        }
    }

    /// Free pages recorded in the committed freelist: until a write transaction has read the
    /// list, the count its meta page records (reading the list checks that they agree).
    public var freePageCount: UInt64 {
        state.withLock { $0.committed.freelist?.freeCount ?? $0.committed.meta.freeCount }
    }

    /// The committed freelist, read and checked now if no write transaction has yet (for tests).
    func committedFreelist() throws -> Freelist {
        try freelist(of: state.withLock { $0.committed })
    }

    /// The free pages of `committed`: read from the chain its meta names, every chunk and entry
    /// checked (`Freelist.load`), the first time a caller asks, and kept for later writers.
    private func freelist(of committed: CommittedState) throws -> Freelist {
        if let freelist = committed.freelist { return freelist }
        let reader = PageReader(file: file, pageSize: pageSize, pageCount: committed.meta.pageCount, verified: nil)
        let loaded = try Freelist.load(meta: committed.meta, reader: reader)
        state.withLock { state in
            // Kept only for the state it was read from (a commit meanwhile brings its own list).
            if state.committed.meta.generation == committed.meta.generation, state.committed.freelist == nil {
                state.committed.freelist = loaded
            }
        }
        return loaded
    }

    /// Why the engine refuses writes, if it does.
    public var readOnlyReason: String? { state.withLock { $0.latched } }

    /// Starts a read transaction on the last committed state.
    public func beginRead() throws -> ReadTransaction { try beginRead(checkingEveryPage: false) }

    /// A read transaction; `checkingEveryPage` checks every page's checksum on every read (the
    /// integrity check). `readingInPlace` reads pages through a mapping taken once, which the
    /// file's resident limit does not count: for readers, whose pages stay mapped like SQLite's
    /// mmap; writers and checkpoints read page by page, so what they touch stays under the limit.
    func beginRead(checkingEveryPage: Bool, readingInPlace: Bool = true) throws -> ReadTransaction {
        let committed: CommittedState = try state.withLock { state in
            guard !state.closed, !state.refusingReaders else { throw EngineError.closed }
            state.readers[state.committed.meta.generation, default: 0] += 1
            return state.committed
        }
        return ReadTransaction(
            engine: self, meta: committed.meta, descriptors: committed.descriptors, checkingEveryPage: checkingEveryPage,
            readingInPlace: readingInPlace)
    }

    /// Runs `body` in a read transaction.
    public func read<R>(_ body: (ReadTransaction) throws -> R) throws -> R {
        let transaction = try beginRead()
        defer { transaction.close() }
        return try body(transaction)
    }

    /// Starts the write transaction, waiting while another one is open.
    public func beginWrite() throws -> WriteTransaction {
        try writerGate.acquire()
        let committed: CommittedState
        let limit: UInt64
        do {
            (committed, limit) = try state.withLock { state -> (CommittedState, UInt64) in
                guard !state.closed else { throw EngineError.closed }
                if let reason = state.latched { throw EngineError.readOnly(reason: reason) }
                state.writerActive = true
                return (state.committed, state.readers.keys.min() ?? UInt64.max)
            }
        } catch {
            writerGate.release()
            throw error
        }
        do {
            // A damaged freelist stops the writer before it could hand out a page twice; readers,
            // which never use it, go on.
            let freelist = try freelist(of: committed)
            return WriteTransaction(engine: self, base: committed, freelist: freelist, reusableUpTo: limit)
        } catch {
            // Nothing was written: the writer lets go as an abort does (a close meanwhile closes).
            writerFinished(committed: nil)
            throw error
        }
    }

    /// Runs `body` in a write transaction and commits it; if `body` throws, nothing is kept.
    public func write<R>(_ body: (WriteTransaction) throws -> R) throws -> R {
        let transaction = try beginWrite()
        do {
            let result = try body(transaction)
            try transaction.commit()
            return result
        } catch {
            transaction.abort()
            throw error
        }
    }

    /// Closes the database and releases the file and its lock. A write transaction still open may
    /// not commit after this; one already committing finishes first (the file is released when it
    /// ends). Read transactions still open fail from then on with `EngineError.closed`.
    public func close() {
        let closeNow = state.withLock { state -> Bool in
            defer {
                state.closed = true
                closedFlag.store(true, ordering: .releasing)
            }
            return !state.closed && !state.writerActive
        }
        if closeNow { closeFile() }
    }

    /// Cuts the file after the last page (the growth allowance, and the pages a close-time
    /// compaction moved out of the page count), then closes the file. Both meta pages count no page
    /// past the newest one's `pageCount` (it only grows, except by a compaction, which commits the
    /// lower count twice), so the bytes cut belong to no state open can pick. Best effort: a file
    /// left longer is still correct.
    private func closeFile() {
        let pageCount = state.withLock { $0.latched == nil ? $0.committed.meta.pageCount : nil }
        if let pageCount {
            let (end, overflow) = pageCount.multipliedReportingOverflow(by: UInt64(pageSize))
            if !overflow, let size = try? file.size(), size > end { try? file.truncate(to: end) }
        }
        file.close()
    }

    /// True once `close()` was called. Read from the atomic copy, not under the state lock: every
    /// page a read transaction visits asks, and the writer holds that lock through its commits.
    var isClosed: Bool { closedFlag.load(ordering: .acquiring) }

    // MARK: - For transactions

    func readerFinished(generation: UInt64) {
        state.withLock { state in
            if let n = state.readers[generation] {
                if n <= 1 { state.readers[generation] = nil } else { state.readers[generation] = n - 1 }
            }
        }
    }

    /// Makes a committed state the one new transactions start from.
    func publish(_ committed: CommittedState) {
        state.withLock { $0.committed = committed }
    }

    func writerFinished(committed: CommittedState?) {
        let closeNow = state.withLock { state -> Bool in
            if let committed { state.committed = committed }
            state.writerActive = false
            return state.closed
        }
        // A close() that came while this transaction was open left the file to us.
        if closeNow { closeFile() }
        writerGate.release()
    }

    /// Latches the engine read-only after a failed write or sync; the first reason sticks.
    func latch(_ error: Error) {
        state.withLock { state in
            if state.latched == nil { state.latched = "an earlier write or sync failed (\(error)); reopen the database" }
        }
    }

    func checkWritable() throws {
        try state.withLock { state in
            guard !state.closed else { throw EngineError.closed }
            if let reason = state.latched { throw EngineError.readOnly(reason: reason) }
        }
    }

    /// The size the file should be grown to so that `pageCount` pages fit.
    func growthTarget(forPages pageCount: UInt64, currentSize: UInt64) -> UInt64 {
        let needed = pageCount * UInt64(pageSize)
        guard needed > currentSize else { return currentSize }
        let step = max(UInt64(options.growthStep), min(currentSize / 8, 64 << 20))
        let rounded = (needed + step - 1) / step * step
        return (rounded + UInt64(pageSize) - 1) / UInt64(pageSize) * UInt64(pageSize)
    }
}
