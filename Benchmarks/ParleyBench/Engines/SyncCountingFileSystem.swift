// ParleyDB's files, counted: the engine's public `FileSystem` seam (which its tests use for fault
// injection) wrapped around the real one, so that ingest-durable can report commits per fsync.
// The chat store does not expose the engine's own sync counter (`Engine.logStatistics`), so this
// counts every `sync()` the engine asks of any of its files (log and data file alike). Every other
// call is passed straight through; the cost is one extra indirect call per file operation.

import ParleyEngine
import Synchronization

final class SyncCounter: Sendable {
    private let value = Atomic<UInt64>(0)
    func increment() { value.add(1, ordering: .relaxed) }
    var count: UInt64 { value.load(ordering: .relaxed) }
}

struct SyncCountingFileSystem: FileSystem {
    let base = PosixFileSystem()
    let counter: SyncCounter

    func openFile(at path: String, _ disposition: OpenDisposition) throws -> any StorageFile {
        SyncCountingFile(base: try base.openFile(at: path, disposition), counter: counter)
    }

    func fileExists(at path: String) -> Bool { base.fileExists(at: path) }
    func removeFile(at path: String) throws { try base.removeFile(at: path) }
    func moveFile(from source: String, to destination: String) throws { try base.moveFile(from: source, to: destination) }
    func syncDirectory(containing path: String) throws {
        counter.increment()
        try base.syncDirectory(containing: path)
    }
}

final class SyncCountingFile: StorageFile {
    private let base: any StorageFile
    private let counter: SyncCounter

    init(base: any StorageFile, counter: SyncCounter) {
        self.base = base
        self.counter = counter
    }

    var path: String { base.path }
    func size() throws -> UInt64 { try base.size() }
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws { try base.read(into: buffer, at: offset) }
    func withBytes<R>(at offset: UInt64, count: Int, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try base.withBytes(at: offset, count: count, body)
    }
    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws { try base.write(bytes, at: offset) }
    func sync() throws {
        counter.increment()
        try base.sync()
    }
    func grow(to size: UInt64) throws { try base.grow(to: size) }
    func truncate(to size: UInt64) throws { try base.truncate(to: size) }
    func lockExclusive() throws { try base.lockExclusive() }
    func close() { base.close() }
    func releaseResidentPages() { base.releaseResidentPages() }
    func adviseRandomAccess() { base.adviseRandomAccess() }
    func mappedBytes(covering length: UInt64) -> MappedBytes? { base.mappedBytes(covering: length) }
}
