// A fault-injecting, in-memory twin of the file system for tests: `SimulatedFileSystem` and
// `SimulatedFile` implement `FileSystem` and `StorageFile` over a `SimulatedDisk`, which can fail
// chosen operations, lose power after a number of operations, and produce what a power loss
// would leave behind (dropped, applied or sector-torn unsynced writes).
//
// Invariants `SimulatedDisk` keeps:
// - All state sits behind one pthread mutex; no caller code runs while it is held.
// - Each inode has a live image (what reads see; its count is the live size), a durable image
//   (what the last `sync` left) and the operations since that sync. Replaying those operations on
//   the durable image, all applied, yields the live image.
// - The disk is one flat directory keyed by the full path string, kept twice: the live map (what
//   `fileExists` and `openFile` see) and the durable map (copied from the live one by
//   `syncDirectory`). An inode lives while a name in either map or an open handle refers to it.
// - A failed operation (injected fault, invalid argument, closed handle, power lost) changes
//   nothing. Nothing traps on caller input: bad offsets and counts throw.

import Glibc

/// SplitMix64: a small, fast, seeded generator, so that anything drawn from it (simulated faults,
/// test workloads, the demo's sample) can be made again from its seed. Not for secrets.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func nextBool() -> Bool { next() & 1 == 1 }
}

/// An operation on a file since its last sync, replayed selectively by `SimulatedDisk.powerLoss`.
private enum PendingOperation {
    /// A write; `extendsTo` is the size it grew the file to, when it grew it.
    case write(offset: Int, bytes: [UInt8], extendsTo: Int?)
    /// A `grow` or `truncate` that changed the size to the given value.
    case resize(Int)
}

/// One file's contents. Only touched with the disk's mutex held.
private final class Inode {
    var live: [UInt8]
    var durable: [UInt8]
    var pending: [PendingOperation] = []
    var lockHolder: Int?
    var openHandles = 0

    init(live: [UInt8] = [], durable: [UInt8] = []) {
        self.live = live
        self.durable = durable
    }
}

/// Sets `image` to exactly `size` bytes, cutting or zero-filling at the end.
private func resize(_ image: inout [UInt8], to size: Int) {
    if size < image.count {
        image.removeSubrange(size...)
    } else if size > image.count {
        image.append(contentsOf: repeatElement(0, count: size - image.count))
    }
}

/// Copies `bytes` into `image` at `offset`, zero-filling any gap and extending it as needed.
private func place<C: Collection<UInt8>>(_ bytes: C, in image: inout [UInt8], at offset: Int) {
    let end = offset + bytes.count
    if end > image.count { resize(&image, to: end) }
    image.replaceSubrange(offset..<end, with: bytes)
}

/// A simulated disk: the files and directory behind a `SimulatedFileSystem`, with controls for
/// injecting faults and simulating power loss. Thread-safe.
public final class SimulatedDisk: @unchecked Sendable {
    /// The kinds of file operation `fail(_:nth:errno:persistent:)` can make fail.
    public enum FaultKind: Sendable, Hashable {
        /// `StorageFile.write`; reported as operation "write".
        case write
        /// `StorageFile.sync`; reported as operation "fdatasync".
        case sync
        /// `StorageFile.grow`; reported as operation "grow".
        case grow
    }

    /// The largest size a simulated file may reach; writes or growth past it fail with `EFBIG`.
    public static let maximumFileSize = 1 << 32

    private struct Fault { var remaining: Int; let errno: Int32; let persistent: Bool }

    private struct State {
        var inodes: [Int: Inode] = [:]
        var liveDirectory: [String: Int] = [:]
        var durableDirectory: [String: Int] = [:]
        /// Open handle id -> inode id.
        var handles: [Int: Int] = [:]
        var nextInode = 1
        var nextHandle = 1
        var operationCount = 0
        var crashBudget: Int?
        var crashed = false
        var faults: [FaultKind: Fault] = [:]

        func checkPower() throws {
            if crashed { throw EngineError.simulatedCrash }
        }

        /// Counts one operation, or loses power when the crash budget is spent.
        mutating func beginOperation() throws {
            if let budget = crashBudget {
                if budget <= 0 {
                    crashed = true
                    crashBudget = nil
                    throw EngineError.simulatedCrash
                }
                crashBudget = budget - 1
            }
            operationCount += 1
        }

        /// Throws the injected fault for this operation of `kind`, if one is due.
        mutating func checkFault(_ kind: FaultKind, path: String) throws {
            guard var fault = faults[kind] else { return }
            if fault.remaining > 1 {
                fault.remaining -= 1
                faults[kind] = fault
                return
            }
            if !fault.persistent { faults[kind] = nil }
            if fault.errno == ENOSPC { throw EngineError.diskFull(path: path) }
            let operation = kind == .write ? "write" : kind == .sync ? "fdatasync" : "grow"
            throw EngineError.io(operation: operation, path: path, errno: fault.errno)
        }

        /// The inode behind an open handle; throws `EBADF` when the handle is closed.
        func inode(handle: Int, path: String, operation: String) throws -> Inode {
            guard let id = handles[handle], let inode = inodes[id] else {
                throw EngineError.io(operation: operation, path: path, errno: EBADF)
            }
            return inode
        }

        /// Forgets the inode when no name and no open handle refers to it any more.
        mutating func collect(_ id: Int) {
            guard let inode = inodes[id], inode.openHandles == 0 else { return }
            if liveDirectory.values.contains(id) || durableDirectory.values.contains(id) { return }
            inodes[id] = nil
        }
    }

    private let mutex = PThreadMutex()
    private var state = State()

    /// Creates an empty disk.
    public init() {}

    private func withState<R>(_ body: (inout State) throws -> R) rethrows -> R {
        try mutex.withLock { try body(&state) }
    }

    /// Runs `body` with the lock held on the inode behind an open handle, once power is checked.
    private func withOpenInode<R>(_ handle: Int, _ path: String, _ operation: String,
                                  _ body: (inout State, Inode) throws -> R) throws -> R {
        try withState { s in
            try s.checkPower()
            return try body(&s, try s.inode(handle: handle, path: path, operation: operation))
        }
    }

    // MARK: Fault controls

    /// The number of counted operations so far: each write, sync, grow, truncate, removeFile,
    /// moveFile, syncDirectory and openFile with `.createIfMissing` that got past argument
    /// checks, whether it then succeeded or failed. Reads, `size`, locking and closing do not count.
    public var operationCount: Int {
        withState { $0.operationCount }
    }

    /// True once the simulated power has been lost (see `crash(afterOperations:)`).
    public var hasCrashed: Bool {
        withState { $0.crashed }
    }

    /// Schedules a power loss: the next `n` counted operations proceed, then the one after them
    /// and every operation after it (reads included) throws `EngineError.simulatedCrash` without
    /// effect. A negative `n` counts as 0. Replaces any earlier schedule; cannot undo a crash.
    public func crash(afterOperations n: Int) {
        withState { $0.crashBudget = max(0, n) }
    }

    /// Makes the `n`th operation of `kind` from now (1-based; values below 1 count as 1) fail
    /// without effect, and with `persistent` every later one of that kind too. `ENOSPC` fails
    /// with `EngineError.diskFull`, any other code with `EngineError.io`. Replaces an earlier
    /// fault of the same kind.
    public func fail(_ kind: FaultKind, nth n: Int, errno: Int32, persistent: Bool = false) {
        withState { $0.faults[kind] = Fault(remaining: max(1, n), errno: errno, persistent: persistent) }
    }

    /// Removes every fault set by `fail(_:nth:errno:persistent:)`. Does not cancel a scheduled
    /// crash nor restore power.
    public func clearFaults() {
        withState { $0.faults.removeAll() }
    }

    /// Returns a new disk holding what the kernel keeps when the process dies now (kill -9) but
    /// the machine goes on: every file's contents as written, with what is not yet synced still
    /// unsynced (a later `powerLoss` of the new disk can drop or tear it), and both the live and
    /// the durable directory. No open files, locks, faults or crash schedule; this disk is unchanged.
    public func processCrash() -> SimulatedDisk {
        withState { old in
            var survivor = State()
            for id in Set(old.liveDirectory.values).union(old.durableDirectory.values).sorted() {
                guard let inode = old.inodes[id] else { continue }
                let copy = Inode(live: inode.live, durable: inode.durable)
                copy.pending = inode.pending
                survivor.inodes[id] = copy
            }
            survivor.liveDirectory = old.liveDirectory.filter { survivor.inodes[$0.value] != nil }
            survivor.durableDirectory = old.durableDirectory.filter { survivor.inodes[$0.value] != nil }
            survivor.nextInode = old.nextInode
            let disk = SimulatedDisk()
            disk.state = survivor  // not yet shared with any other thread
            return disk
        }
    }

    /// Returns a new disk holding what would survive losing power now; this disk is unchanged.
    ///
    /// The surviving directory is, chosen by `seed`, either the durable one or the live one
    /// (unsynced directory changes survive all together or not at all); files it does not name
    /// are gone. Each surviving file starts from its durable image and replays its unsynced
    /// operations in order: each write is dropped, applied whole, or torn (every 512-byte sector
    /// it covers, aligned at absolute file offsets, applied or dropped independently); each size
    /// change is kept or dropped, but the size always covers every applied byte. The new disk
    /// has no open files, locks, faults or pending operations, and an operation count of 0.
    /// The same seed on the same disk state gives the same result.
    public func powerLoss(seed: UInt64) -> SimulatedDisk {
        withState { old in
            var random = SplitMix64(seed: seed)
            let directory = random.nextBool() ? old.liveDirectory : old.durableDirectory
            var survivor = State()
            for id in Set(directory.values).sorted() {
                guard let inode = old.inodes[id] else { continue }
                let image = SimulatedDisk.replay(inode, using: &random)
                survivor.inodes[id] = Inode(live: image, durable: image)
            }
            survivor.liveDirectory = directory.filter { survivor.inodes[$0.value] != nil }
            survivor.durableDirectory = survivor.liveDirectory
            survivor.nextInode = max(old.nextInode, (survivor.inodes.keys.max() ?? 0) + 1)
            let disk = SimulatedDisk()
            disk.state = survivor  // not yet shared with any other thread
            return disk
        }
    }

    /// The size of the sectors a power loss tears writes into.
    static let sectorSize = 512

    private static func replay(_ inode: Inode, using random: inout SplitMix64) -> [UInt8] {
        var image = inode.durable
        for operation in inode.pending {
            switch operation {
            case .resize(let size):
                if random.nextBool() { resize(&image, to: size) }
            case .write(let offset, let bytes, let extendsTo):
                switch random.next() % 3 {
                case 0:
                    break  // dropped
                case 1:
                    place(bytes, in: &image, at: offset)
                default:  // torn: each sector on its own
                    var start = offset
                    let end = offset + bytes.count
                    while start < end {
                        let sectorEnd = min(end, (start / sectorSize + 1) * sectorSize)
                        if random.nextBool() {
                            place(bytes[(start - offset)..<(sectorEnd - offset)], in: &image, at: start)
                        }
                        start = sectorEnd
                    }
                }
                if let newSize = extendsTo, random.nextBool(), newSize > image.count {
                    resize(&image, to: newSize)
                }
            }
        }
        return image
    }

    // MARK: Inspection for tests

    /// The live contents of the file named `path` in the live directory, or nil.
    public func liveBytes(path: String) -> [UInt8]? {
        withState { s in s.liveDirectory[path].flatMap { s.inodes[$0]?.live } }
    }

    /// The durable contents (as of its last sync) of the file named `path` in the live directory,
    /// else in the durable one, or nil. Whether the name itself is durable is a separate matter:
    /// see `durableFileNames()`.
    public func durableBytes(path: String) -> [UInt8]? {
        withState { s in
            (s.liveDirectory[path] ?? s.durableDirectory[path]).flatMap { s.inodes[$0]?.durable }
        }
    }

    /// Replaces bytes of the file named `path` (live directory, else durable) in both its live and
    /// durable images, extending them with zeros if needed — for corruption tests. Unsynced writes
    /// are not changed. Does nothing for a missing name, a negative offset or an oversized range.
    public func overwrite(path: String, at offset: Int, with bytes: [UInt8]) {
        withState { s in
            guard let id = s.liveDirectory[path] ?? s.durableDirectory[path], let inode = s.inodes[id],
                  offset >= 0, offset <= SimulatedDisk.maximumFileSize - bytes.count else { return }
            place(bytes, in: &inode.live, at: offset)
            place(bytes, in: &inode.durable, at: offset)
        }
    }

    /// The names in the live directory, sorted.
    public func fileNames() -> [String] {
        withState { $0.liveDirectory.keys.sorted() }
    }

    /// The names in the durable directory (as of the last `syncDirectory`), sorted.
    public func durableFileNames() -> [String] {
        withState { $0.durableDirectory.keys.sorted() }
    }

    // MARK: Directory operations (used by SimulatedFileSystem)

    fileprivate func openFile(at path: String, _ disposition: OpenDisposition) throws -> SimulatedFile {
        let handle: Int = try withState { s in
            try s.checkPower()
            if disposition == .createIfMissing { try s.beginOperation() }
            let id: Int
            if let existing = s.liveDirectory[path] {
                id = existing
            } else {
                guard disposition == .createIfMissing else {
                    throw EngineError.io(operation: "open", path: path, errno: ENOENT)
                }
                id = s.nextInode
                s.nextInode += 1
                s.inodes[id] = Inode()
                s.liveDirectory[path] = id
            }
            guard let inode = s.inodes[id] else {
                throw EngineError.io(operation: "open", path: path, errno: EIO)
            }
            let handle = s.nextHandle
            s.nextHandle += 1
            s.handles[handle] = id
            inode.openHandles += 1
            return handle
        }
        return SimulatedFile(disk: self, path: path, handle: handle)
    }

    fileprivate func fileExists(at path: String) -> Bool {
        withState { $0.liveDirectory[path] != nil }
    }

    fileprivate func removeFile(at path: String) throws {
        try withState { s in
            try s.checkPower()
            try s.beginOperation()
            guard let id = s.liveDirectory.removeValue(forKey: path) else {
                throw EngineError.io(operation: "unlink", path: path, errno: ENOENT)
            }
            s.collect(id)
        }
    }

    fileprivate func moveFile(from source: String, to destination: String) throws {
        try withState { s in
            try s.checkPower()
            try s.beginOperation()
            guard let id = s.liveDirectory[source] else {
                throw EngineError.io(operation: "rename", path: source, errno: ENOENT)
            }
            guard s.liveDirectory[destination] == nil else {
                throw EngineError.io(operation: "rename", path: destination, errno: EEXIST)
            }
            s.liveDirectory[source] = nil
            s.liveDirectory[destination] = id
        }
    }

    fileprivate func syncDirectory() throws {
        try withState { s in
            try s.checkPower()
            try s.beginOperation()
            let previous = Set(s.durableDirectory.values)
            s.durableDirectory = s.liveDirectory
            for id in previous.sorted() { s.collect(id) }
        }
    }

    // MARK: File operations (used by SimulatedFile)

    /// Checks `count` bytes at `offset` and returns them as a range of Ints.
    private static func range(at offset: UInt64, count: Int, operation: String, path: String) throws -> Range<Int> {
        guard count >= 0 else {
            throw EngineError.invalidArgument("\(operation) of \(count) bytes at offset \(offset) in \(path)")
        }
        guard let start = Int(exactly: offset) else {
            throw EngineError.invalidArgument("\(operation) at offset \(offset) in \(path): offset too large")
        }
        let (end, overflow) = start.addingReportingOverflow(count)
        guard !overflow else {
            throw EngineError.invalidArgument("\(operation) of \(count) bytes at offset \(offset) in \(path) overflows")
        }
        return start..<end
    }

    private static func checkedSize(_ size: UInt64, operation: String, path: String) throws -> Int {
        guard let value = Int(exactly: size), value <= maximumFileSize else {
            throw EngineError.io(operation: operation, path: path, errno: EFBIG)
        }
        return value
    }

    fileprivate func size(handle: Int, path: String) throws -> UInt64 {
        try withOpenInode(handle, path, "fstat") { _, inode in UInt64(inode.live.count) }
    }

    /// With the lock held: the inode and the in-bounds range for reading `count` bytes at `offset`.
    private static func readable(_ s: State, handle: Int, path: String, offset: UInt64, count: Int) throws
        -> (Inode, Range<Int>) {
        try s.checkPower()
        let inode = try s.inode(handle: handle, path: path, operation: "read")
        let range = try SimulatedDisk.range(at: offset, count: count, operation: "read", path: path)
        guard range.upperBound <= inode.live.count else {
            throw EngineError.io(operation: "read (past end of file)", path: path, errno: EIO)
        }
        return (inode, range)
    }

    fileprivate func read(handle: Int, path: String, into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws {
        try withState { s in
            let (inode, range) = try SimulatedDisk.readable(s, handle: handle, path: path, offset: offset, count: buffer.count)
            guard !range.isEmpty else { return }
            inode.live.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[range])) }
        }
    }

    fileprivate func copyBytes(handle: Int, path: String, at offset: UInt64, count: Int) throws -> [UInt8] {
        try withState { s in
            let (inode, range) = try SimulatedDisk.readable(s, handle: handle, path: path, offset: offset, count: count)
            return Array(inode.live[range])
        }
    }

    fileprivate func write(handle: Int, path: String, _ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws {
        try withOpenInode(handle, path, "write") { s, inode in
            let range = try SimulatedDisk.range(at: offset, count: bytes.count, operation: "write", path: path)
            guard range.upperBound <= SimulatedDisk.maximumFileSize else {
                throw EngineError.io(operation: "write", path: path, errno: EFBIG)
            }
            try s.beginOperation()
            try s.checkFault(.write, path: path)
            guard !range.isEmpty else { return }
            let data = [UInt8](bytes)
            let oldSize = inode.live.count
            place(data, in: &inode.live, at: range.lowerBound)
            let extendsTo = range.upperBound > oldSize ? range.upperBound : nil
            inode.pending.append(.write(offset: range.lowerBound, bytes: data, extendsTo: extendsTo))
        }
    }

    fileprivate func sync(handle: Int, path: String) throws {
        try withOpenInode(handle, path, "fdatasync") { s, inode in
            try s.beginOperation()
            try s.checkFault(.sync, path: path)
            inode.durable = inode.live
            inode.pending.removeAll()
        }
    }

    fileprivate func grow(handle: Int, path: String, to size: UInt64) throws {
        try withOpenInode(handle, path, "grow") { s, inode in
            let newSize = try SimulatedDisk.checkedSize(size, operation: "grow", path: path)
            try s.beginOperation()
            try s.checkFault(.grow, path: path)
            guard newSize > inode.live.count else { return }
            resize(&inode.live, to: newSize)
            inode.pending.append(.resize(newSize))
        }
    }

    fileprivate func truncate(handle: Int, path: String, to size: UInt64) throws {
        try withOpenInode(handle, path, "ftruncate") { s, inode in
            let newSize = try SimulatedDisk.checkedSize(size, operation: "ftruncate", path: path)
            try s.beginOperation()
            guard newSize != inode.live.count else { return }
            resize(&inode.live, to: newSize)
            inode.pending.append(.resize(newSize))
        }
    }

    fileprivate func lockExclusive(handle: Int, path: String) throws {
        try withOpenInode(handle, path, "flock") { s, inode in
            if let holder = inode.lockHolder, holder != handle {
                throw EngineError.fileInUse(path: path)
            }
            inode.lockHolder = handle
        }
    }

    fileprivate func close(handle: Int) {
        withState { s in
            guard let id = s.handles.removeValue(forKey: handle), let inode = s.inodes[id] else { return }
            inode.openHandles -= 1
            if inode.lockHolder == handle { inode.lockHolder = nil }
            s.collect(id)
        }
    }
}

/// A `FileSystem` over a `SimulatedDisk`: one flat directory keyed by the full path string.
public struct SimulatedFileSystem: FileSystem {
    /// The disk holding the files; use it to inject faults and simulate power loss.
    public let disk: SimulatedDisk

    /// Creates a file system over `disk` (a new empty one by default).
    public init(disk: SimulatedDisk = SimulatedDisk()) {
        self.disk = disk
    }

    /// Opens the file named `path`; `.createIfMissing` creates an empty one whose name is durable
    /// only after `syncDirectory`. A missing name with `.existing` throws `ENOENT`.
    public func openFile(at path: String, _ disposition: OpenDisposition) throws -> any StorageFile {
        try disk.openFile(at: path, disposition)
    }

    /// True when the live directory names `path`.
    public func fileExists(at path: String) -> Bool {
        disk.fileExists(at: path)
    }

    /// Removes the name `path` (durable after `syncDirectory`); open handles keep working.
    public func removeFile(at path: String) throws {
        try disk.removeFile(at: path)
    }

    /// Renames `source` to `destination`; fails with `EEXIST` when `destination` exists.
    public func moveFile(from source: String, to destination: String) throws {
        try disk.moveFile(from: source, to: destination)
    }

    /// Makes the whole (flat) live directory durable.
    public func syncDirectory(containing path: String) throws {
        try disk.syncDirectory()
    }
}

/// An open file on a `SimulatedDisk`. Errors, never traps: a closed handle throws `EBADF`, a
/// range past the end throws `EIO`, and a lost power throws `EngineError.simulatedCrash`.
public final class SimulatedFile: StorageFile {
    /// The path the file was opened at.
    public let path: String
    private let disk: SimulatedDisk
    private let handle: Int

    fileprivate init(disk: SimulatedDisk, path: String, handle: Int) {
        self.disk = disk
        self.path = path
        self.handle = handle
    }

    deinit {
        disk.close(handle: handle)
    }

    /// The live size in bytes.
    public func size() throws -> UInt64 {
        try disk.size(handle: handle, path: path)
    }

    /// Copies `buffer.count` live bytes at `offset` into `buffer`.
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws {
        try disk.read(handle: handle, path: path, into: buffer, at: offset)
    }

    /// Lends a copy of `count` live bytes at `offset` to `body` (called without the disk's lock).
    public func withBytes<R>(at offset: UInt64, count: Int, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let bytes = try disk.copyBytes(handle: handle, path: path, at: offset, count: count)
        return try bytes.withUnsafeBytes(body)
    }

    /// Writes `bytes` at `offset`, zero-filling any gap past the end; durable after `sync`.
    public func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws {
        try disk.write(handle: handle, path: path, bytes, at: offset)
    }

    /// Makes this file's writes and size changes durable.
    public func sync() throws {
        try disk.sync(handle: handle, path: path)
    }

    /// Extends the file with zeros to at least `size` bytes; durable after `sync`.
    public func grow(to size: UInt64) throws {
        try disk.grow(handle: handle, path: path, to: size)
    }

    /// Sets the size to exactly `size` bytes; durable after `sync`.
    public func truncate(to size: UInt64) throws {
        try disk.truncate(handle: handle, path: path, to: size)
    }

    /// Takes the file's exclusive lock; throws `EngineError.fileInUse` if another handle holds it.
    public func lockExclusive() throws {
        try disk.lockExclusive(handle: handle, path: path)
    }

    /// Releases the lock and the handle; later calls throw `EBADF`. Closing twice is harmless.
    public func close() {
        disk.close(handle: handle)
    }

    /// Nothing is mapped: reads copy from the live image.
    public func releaseResidentPages() {}

    /// Nothing is mapped: there is no read-ahead to turn off.
    public func adviseRandomAccess() {}

    /// Never mapped: every read goes through `withBytes`, where faults are injected.
    public func mappedBytes(covering length: UInt64) -> MappedBytes? { nil }
}
