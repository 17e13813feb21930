// The file interface the pager writes through. Two implementations share it: `PosixFile` (the real
// thing: pread/pwrite, fdatasync, flock, mmap) and `SimulatedFile` (a fault-injecting twin for
// tests that keeps a durable and a live image and can lose power).
//
// Invariants every implementation keeps:
// - `withBytes` never touches bytes at or past `size()`: it throws instead (a mapped read past the
//   end of the file would raise SIGBUS, which Swift cannot catch).
// - A failed write, sync or growth throws; it is never retried here (the engine latches read-only).
// - `sync()` makes every earlier `write` and `grow` durable, or throws.

/// A file as the storage engine sees it.
public protocol StorageFile: AnyObject, Sendable {
    /// The path the file was opened at, for error messages.
    var path: String { get }

    /// The file's size in bytes.
    func size() throws -> UInt64

    /// Reads exactly `buffer.count` bytes at `offset` into `buffer`; fails if they are not all there.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws

    /// Lends `count` bytes at `offset` to `body` without copying when the file is mapped. The bytes
    /// are valid only inside `body`. Throws when the range reaches past the end of the file.
    func withBytes<R>(at offset: UInt64, count: Int, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R

    /// A mapping covering the file's first `length` bytes, or nil when there is none (no mapping,
    /// a file shorter than that, or a file that is not mapped at all, like the simulated one).
    /// Readers of one snapshot take it once instead of asking `withBytes` for every page. A
    /// wrapper forwards it (returning nil only costs speed).
    func mappedBytes(covering length: UInt64) -> MappedBytes?

    /// Writes all of `bytes` at `offset`, growing the file if the range ends past its end.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws

    /// Makes every earlier write and growth durable (fdatasync).
    func sync() throws

    /// Extends the file to at least `size` bytes, allocating the space so that a later write into
    /// it cannot fail for lack of space. Never shrinks.
    func grow(to size: UInt64) throws

    /// Cuts or extends the file to exactly `size` bytes.
    func truncate(to size: UInt64) throws

    /// Takes the exclusive lock that marks the file as in use; throws `EngineError.fileInUse` when
    /// another open file (in this process or another) holds it. Held until `close()`.
    func lockExclusive() throws

    /// Releases the lock and the descriptor. Reads after close fail with an error, never a trap.
    func close()

    /// Lets go of the file's pages this process holds resident through its memory map (the
    /// kernel's page cache keeps them); bytes lent by `withBytes`, now or later, read the same.
    /// A wrapper forwards it; a file read without a memory map has nothing to do.
    func releaseResidentPages()

    /// Says that reads will jump from place to place (a B+tree's pages), so that reading one page
    /// should bring in that page, not its neighbours: for a mapped file, `MADV_RANDOM`, without
    /// which each fault on bytes not in the page cache reads the kernel's whole read-ahead window
    /// around it (megabytes on some disks). Reads return the same bytes either way. A wrapper
    /// forwards it; a file read without a memory map has nothing to do.
    func adviseRandomAccess()
}

/// The file's first `length` bytes, mapped read-only; valid for as long as the value lives (it
/// holds the mapping). The engine asks only for the pages of a committed state, and never cuts the
/// file below the page count of any state (creation truncates before any reader; a clean close
/// cuts only past the newest page count, which only grows), so these bytes stay readable.
public struct MappedBytes: @unchecked Sendable {
    let owner: AnyObject
    let base: UnsafeRawPointer
    let length: Int
}

/// How `FileSystem.openFile` treats a missing or existing file.
public enum OpenDisposition: Sendable {
    /// Open an existing file; fail if it is missing.
    case existing
    /// Open the file, creating it empty when it is missing.
    case createIfMissing
}

/// The directory operations the engine needs, beside the files themselves.
public protocol FileSystem: Sendable {
    /// Opens (or creates) the file at `path`.
    func openFile(at path: String, _ disposition: OpenDisposition) throws -> any StorageFile
    /// True when a file exists at `path`.
    func fileExists(at path: String) -> Bool
    /// Removes the file at `path` (the directory entry; durable after `syncDirectory`).
    func removeFile(at path: String) throws
    /// Gives the file at `source` the name `destination`, failing with `EEXIST` when `destination`
    /// exists (never replacing it). Durable after `syncDirectory`.
    func moveFile(from source: String, to destination: String) throws
    /// Makes the directory entries of the directory holding `path` durable (fsync of the directory).
    func syncDirectory(containing path: String) throws
}
