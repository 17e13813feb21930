// The real file: pread/pwrite, fdatasync, posix_fallocate growth, flock, and a read-only mmap.
//
// Invariants:
// - The mapping is read-only and only ever read below `mappedLimit`, the size the file is known to
//   have (set after a successful growth or truncation, and at open). Bytes past it are read with
//   pread, which fails cleanly where a mapped read would raise SIGBUS.
// - A mapping is reserved larger than the file and followed as the file grows; when the file
//   outgrows it a larger one replaces it, and the old one stays mapped until the file object dies,
//   because a reader may still be inside `withBytes` on it.
// - The mapping's resident pages stay near `residentLimit`: when what `withBytes` read may have
//   passed it, the kernel's count decides, and past the limit they are dropped (MADV_DONTNEED; a
//   shared file mapping then re-reads the page cache, so no reader sees a change).
// - An exclusive flock marks the database as in use for the life of the open file.
// - Once `adviseRandomAccess` is called, every mapping, present and future, is MADV_RANDOM.

import Glibc

/// One read-only shared mapping of a file; unmapped when the last user lets go.
final class FileMapping: @unchecked Sendable {
    let base: UnsafeRawPointer
    let length: Int

    init?(descriptor: Int32, length: Int) {
        guard length > 0 else { return nil }
        let address = mmap(nil, length, PROT_READ, MAP_SHARED, descriptor, 0)
        guard let address, address != MAP_FAILED else { return nil }
        self.base = UnsafeRawPointer(address)
        self.length = length
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: base), length) }

    /// A fault then reads only the page it needs, with no read-ahead around it. Best effort: if
    /// the kernel refuses, reads are as correct, only colder ones read more.
    func adviseRandomAccess() {
        _ = madvise(UnsafeMutableRawPointer(mutating: base), length, MADV_RANDOM)
    }
}

/// A `StorageFile` over a POSIX file descriptor.
public final class PosixFile: StorageFile, @unchecked Sendable {
    public let path: String
    private let descriptor: Int32
    private let state: Locked<State>

    private struct State {
        var closed = false
        var locked = false
        /// The size the file is known to have; mapped reads stay below it.
        var knownSize: UInt64 = 0
        var mapping: FileMapping?
        /// Earlier mappings, kept alive because a reader may still be using them.
        var retired: [FileMapping] = []
        /// What mapped reads may have made resident since the pages were last dropped.
        var account: ResidentAccount
        /// Mappings are advised MADV_RANDOM (see `adviseRandomAccess`).
        var randomAccess = false
        /// Times the mapping's pages were dropped.
        var releases = 0
    }

    /// Bytes of the file that mapped reads may hold resident before they are dropped (0: no limit).
    let residentLimit: Int
    /// Whether the kernel's count of file-backed memory decides when they are dropped (see
    /// `ResidentAccount`); otherwise the touched windows alone do.
    private let readsResidentCount: Bool

    /// Smallest reservation of address space for the mapping (the file need not be this large).
    static let minimumMappingReservation = 1 << 30

    init(path: String, descriptor: Int32, residentLimit: Int = PosixFileSystem.defaultResidentLimit) throws {
        self.path = path
        self.descriptor = descriptor
        self.residentLimit = residentLimit
        readsResidentCount = residentLimit > 0 && FileBackedResidentMemory.isPreciseEnough(forLimit: residentLimit)
        let baseline = readsResidentCount ? FileBackedResidentMemory.bytes() : nil
        let pageSize = max(4096, Int(sysconf(Int32(_SC_PAGESIZE))))
        self.state = Locked(State(account: ResidentAccount(limit: residentLimit, baseline: baseline, pageSize: pageSize)))
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            let code = errno
            Glibc.close(descriptor)
            throw EngineError.io(operation: "fstat", path: path, errno: code)
        }
        let size = UInt64(max(0, info.st_size))
        state.withLock { $0.knownSize = size }
        remapIfNeeded(size: size)
    }

    deinit {
        state.withLock { state in
            if !state.closed, state.locked { _ = flock(descriptor, LOCK_UN) }
            Glibc.close(descriptor)
            state.closed = true
        }
    }

    /// Makes sure the mapping covers `size` bytes, replacing it with a larger one when needed.
    private func remapIfNeeded(size: UInt64) {
        let replaced = state.withLock { state -> Bool in
            if let mapping = state.mapping, UInt64(mapping.length) >= size { return false }
            guard !state.closed else { return false }
            let wanted = max(Self.minimumMappingReservation, Int(clamping: size) &* 2)
            // Round up to a whole number of pages of the machine.
            let osPage = max(4096, Int(sysconf(Int32(_SC_PAGESIZE))))
            let rounded = (wanted + osPage - 1) / osPage * osPage
            guard let fresh = FileMapping(descriptor: descriptor, length: rounded) else {
                // Without a mapping every read goes through pread; slower, still correct.
                return false
            }
            if state.randomAccess { fresh.adviseRandomAccess() }
            let old = state.mapping
            if let old { state.retired.append(old) }
            state.mapping = fresh
            return old != nil
        }
        // The account's pages and windows belong to the old mapping (its addresses, its resident
        // pages, which nobody would read again to charge): start the new one from nothing.
        if replaced, residentLimit > 0 { releaseResidentPages() }
    }

    public func size() throws -> UInt64 {
        try checkOpen()
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw EngineError.io(operation: "fstat", path: path, errno: errno) }
        return UInt64(max(0, info.st_size))
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws {
        try checkOpen()
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        guard offset <= UInt64(Int64.max) - UInt64(buffer.count) else {
            throw EngineError.invalidArgument("read range past the largest file offset")
        }
        var done = 0
        while done < buffer.count {
            let n = pread(descriptor, base + done, buffer.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw EngineError.io(operation: "pread", path: path, errno: errno)
            }
            if n == 0 {
                throw EngineError.io(operation: "pread (short read at end of file)", path: path, errno: EIO)
            }
            done += n
        }
    }

    public func mappedBytes(covering length: UInt64) -> MappedBytes? {
        // Reads through it are not counted against the resident limit: the engine lends it to
        // readers only (see `StorageEngine.beginRead(checkingEveryPage:readingInPlace:)`).
        state.withLock { state in
            guard !state.closed, length <= state.knownSize, let mapping = state.mapping, length <= UInt64(mapping.length) else {
                return nil
            }
            return MappedBytes(owner: mapping, base: mapping.base, length: Int(length))
        }
    }

    public func withBytes<R>(at offset: UInt64, count: Int, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        guard count >= 0, offset <= UInt64(Int64.max) - UInt64(count) else {
            throw EngineError.invalidArgument("read range past the largest file offset")
        }
        let end = offset + UInt64(count)
        let (mapping, step): (FileMapping?, ResidentAccount.Step) = state.withLock { state in
            guard !state.closed, end <= state.knownSize, let m = state.mapping, end <= UInt64(m.length) else { return (nil, .none) }
            guard residentLimit > 0 else { return (m, .none) }
            // Shifted by the mapping's misalignment: the kernel's fault-around windows are aligned
            // in memory, not in the file.
            let skew = UInt64(UInt(bitPattern: m.base) & UInt((1 << state.account.windowShift) - 1))
            return (m, state.account.charge(offset: skew + offset, length: count))
        }
        switch step {
        case .none: break
        case .measure(let epoch):
            // Read outside the lock: other readers go on meanwhile, and a reading a little late
            // only counts their faults too.
            let reading = FileBackedResidentMemory.bytes()
            if state.withLock({ $0.account.measured(reading, epoch: epoch) }) { releaseResidentPages() }
        case .release: releaseResidentPages()
        }
        if let mapping {
            // Keeps the mapping alive for the duration of `body`.
            return try withExtendedLifetime(mapping) {
                try body(UnsafeRawBufferPointer(start: mapping.base + Int(offset), count: count))
            }
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 16)
        defer { buffer.deallocate() }
        let slice = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count])
        try read(into: slice, at: offset)
        return try body(UnsafeRawBufferPointer(slice))
    }

    public func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws {
        try checkOpen()
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        guard offset <= UInt64(Int64.max) - UInt64(bytes.count) else {
            throw EngineError.invalidArgument("write range past the largest file offset")
        }
        var done = 0
        while done < bytes.count {
            let n = pwrite(descriptor, base + done, bytes.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                let code = errno
                if code == ENOSPC || code == EDQUOT { throw EngineError.diskFull(path: path) }
                throw EngineError.io(operation: "pwrite", path: path, errno: code)
            }
            done += n
        }
        let end = offset + UInt64(bytes.count)
        let grew: Bool = state.withLock { state in
            guard end > state.knownSize else { return false }
            state.knownSize = end
            return true
        }
        if grew { remapIfNeeded(size: end) }
    }

    public func sync() throws {
        try checkOpen()
        while fdatasync(descriptor) != 0 {
            // EINTR is the only failure that means "not attempted"; every other one is final.
            if errno == EINTR { continue }
            throw EngineError.io(operation: "fdatasync", path: path, errno: errno)
        }
    }

    public func grow(to size: UInt64) throws {
        try checkOpen()
        guard size <= UInt64(Int64.max) else { throw EngineError.invalidArgument("file size \(size) too large") }
        let current = try self.size()
        guard size > current else { return }
        var result: Int32
        repeat {
            result = posix_fallocate(descriptor, off_t(current), off_t(size - current))
        } while result == EINTR
        if result == EOPNOTSUPP || result == EINVAL {
            // File systems without fallocate: extend the size instead.
            guard ftruncate(descriptor, off_t(size)) == 0 else {
                throw EngineError.io(operation: "ftruncate", path: path, errno: errno)
            }
        } else if result == ENOSPC || result == EDQUOT {
            throw EngineError.diskFull(path: path)
        } else if result != 0 {
            throw EngineError.io(operation: "posix_fallocate", path: path, errno: result)
        }
        state.withLock { $0.knownSize = max($0.knownSize, size) }
        remapIfNeeded(size: size)
    }

    public func truncate(to size: UInt64) throws {
        try checkOpen()
        guard size <= UInt64(Int64.max) else { throw EngineError.invalidArgument("file size \(size) too large") }
        // Lower the readable limit first so no mapped read can reach the bytes being cut.
        state.withLock { $0.knownSize = min($0.knownSize, size) }
        guard ftruncate(descriptor, off_t(size)) == 0 else {
            throw EngineError.io(operation: "ftruncate", path: path, errno: errno)
        }
        state.withLock { $0.knownSize = size }
        remapIfNeeded(size: size)
    }

    public func releaseResidentPages() {
        let (mappings, size) = state.withLock { state -> ([FileMapping], UInt64) in
            guard !state.closed else { return ([], 0) }
            state.account.reset()
            state.releases += 1
            return ((state.mapping.map { [$0] } ?? []) + state.retired, state.knownSize)
        }
        for mapping in mappings {
            // MADV_DONTNEED on a shared file mapping only unmaps this process's pages: the next
            // touch maps the page cache's copy again, the file's current bytes, so a reader inside
            // `withBytes` meanwhile reads exactly what it would have.
            let length = Int(clamping: min(UInt64(mapping.length), size))
            guard length > 0 else { continue }
            _ = madvise(UnsafeMutableRawPointer(mutating: mapping.base), length, MADV_DONTNEED)
        }
        guard residentLimit > 0, !mappings.isEmpty else { return }
        let reading = readsResidentCount ? FileBackedResidentMemory.bytes() : nil
        state.withLock { $0.account.released(baseline: reading) }
    }

    /// How many times the mapping's pages were dropped (for tests).
    var residentReleases: Int { state.withLock { $0.releases } }

    public func adviseRandomAccess() {
        state.withLock { state in
            guard !state.closed else { return }
            state.randomAccess = true
            // Retired mappings are left as they are: new readers take the current one.
            state.mapping?.adviseRandomAccess()
        }
    }

    public func lockExclusive() throws {
        try checkOpen()
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            if errno == EINTR { continue }
            if errno == EWOULDBLOCK { throw EngineError.fileInUse(path: path) }
            throw EngineError.io(operation: "flock", path: path, errno: errno)
        }
        state.withLock { $0.locked = true }
    }

    /// Releases the lock and the file. The descriptor number stays reserved (pointing at
    /// /dev/null) until this object dies, so a reader racing with close can never read another
    /// file that reused the number; reads after close throw.
    public func close() {
        state.withLock { state in
            guard !state.closed else { return }
            if state.locked { _ = flock(descriptor, LOCK_UN) }
            let null = Glibc.open("/dev/null", O_RDWR | O_CLOEXEC)
            if null >= 0 {
                _ = dup2(null, descriptor)
                Glibc.close(null)
            }
            state.closed = true
            state.knownSize = 0
        }
    }

    private func checkOpen() throws {
        if state.withLock({ $0.closed }) { throw EngineError.closed }
    }
}

/// The real file system.
public struct PosixFileSystem: FileSystem {
    /// Bytes of a database file that reads through its memory map may keep resident in this
    /// process (see `StorageFile.releaseResidentPages`); the kernel's page cache is not counted.
    /// Since the kernel's count decides (`ResidentAccount`), the limit is reached for real. At
    /// 16 MiB, 100,000 state sets and gets on the benchmark's standard file dropped the pages about
    /// 140 times (2,559 with the touched windows alone deciding) and peak memory in its ingest stayed
    /// where it was; 32 MiB raised that peak by 9 to 21 MiB (BENCHMARKS.md).
    public static let defaultResidentLimit = 16 << 20
    /// The limit given to every file this opens; 0 for none.
    public let residentLimit: Int

    public init(residentLimit: Int = PosixFileSystem.defaultResidentLimit) { self.residentLimit = residentLimit }

    public func openFile(at path: String, _ disposition: OpenDisposition) throws -> any StorageFile {
        var flags = O_RDWR | O_CLOEXEC
        if disposition == .createIfMissing { flags |= O_CREAT }
        var descriptor: Int32
        repeat {
            descriptor = Glibc.open(path, flags, 0o644)
        } while descriptor < 0 && errno == EINTR
        guard descriptor >= 0 else { throw EngineError.io(operation: "open", path: path, errno: errno) }
        return try PosixFile(path: path, descriptor: descriptor, residentLimit: residentLimit)
    }

    public func fileExists(at path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    public func removeFile(at path: String) throws {
        guard unlink(path) == 0 else { throw EngineError.io(operation: "unlink", path: path, errno: errno) }
    }

    public func moveFile(from source: String, to destination: String) throws {
        // link + unlink rather than rename: link fails when the destination exists, so a file that
        // appeared meanwhile is never replaced.
        guard link(source, destination) == 0 else {
            throw EngineError.io(operation: "link", path: destination, errno: errno)
        }
        guard unlink(source) == 0 else { throw EngineError.io(operation: "unlink", path: source, errno: errno) }
    }

    public func syncDirectory(containing path: String) throws {
        let directory = Self.directory(of: path)
        let descriptor = Glibc.open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw EngineError.io(operation: "open directory", path: directory, errno: errno) }
        defer { Glibc.close(descriptor) }
        while fsync(descriptor) != 0 {
            if errno == EINTR { continue }
            throw EngineError.io(operation: "fsync directory", path: directory, errno: errno)
        }
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let head = path[..<slash]
        return head.isEmpty ? "/" : String(head)
    }
}
