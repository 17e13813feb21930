// SQLite's fsyncs, counted: a VFS registered beside the default one ("unix") that forwards every
// call to it and counts xSync. Only ingest-durable's connections open through it, so every
// other figure runs on SQLite exactly as shipped.
//
// The shim's file object is the default VFS's file object preceded by one `sqlite3_file` header
// whose methods forward to the inner object's.

import CSQLite
import Glibc
import Synchronization

final class SQLiteSyncCounter: Sendable {
    static let shared = SQLiteSyncCounter()
    static let name = "parley-bench-sync-counting"

    private let syncs = Atomic<UInt64>(0)
    private let registered = Mutex<Bool>(false)

    var count: UInt64 { syncs.load(ordering: .relaxed) }
    func increment() { syncs.add(1, ordering: .relaxed) }

    /// The VFS's name, registering it on first use.
    func vfsName() throws -> String {
        try registered.withLock { done in
            if done { return Self.name }
            guard let real = sqlite3_vfs_find(nil) else { throw BenchError("SQLite has no default VFS") }
            shimRealVFS = real
            let shim = UnsafeMutablePointer<sqlite3_vfs>.allocate(capacity: 1)
            shim.initialize(to: real.pointee)
            shim.pointee.zName = UnsafePointer(strdup(Self.name))
            shim.pointee.pNext = nil
            shim.pointee.szOsFile = real.pointee.szOsFile + Int32(shimHeaderBytes)
            shim.pointee.xOpen = shimOpen
            guard sqlite3_vfs_register(shim, 0) == SQLITE_OK else { throw BenchError("SQLite refused the counting VFS") }
            done = true
            return Self.name
        }
    }
}

/// Bytes before the inner file object (one pointer, kept 16-aligned).
private let shimHeaderBytes = 16
/// The default VFS, set once before the shim is registered (under the registration lock).
nonisolated(unsafe) private var shimRealVFS: UnsafeMutablePointer<sqlite3_vfs>?

private func innerFile(_ file: UnsafeMutablePointer<sqlite3_file>?) -> UnsafeMutablePointer<sqlite3_file>? {
    guard let file else { return nil }
    return (UnsafeMutableRawPointer(file) + shimHeaderBytes).assumingMemoryBound(to: sqlite3_file.self)
}

private func innerMethods(_ file: UnsafeMutablePointer<sqlite3_file>?) -> (UnsafeMutablePointer<sqlite3_file>, sqlite3_io_methods)? {
    guard let inner = innerFile(file), let methods = inner.pointee.pMethods else { return nil }
    return (inner, methods.pointee)
}

private let shimOpen: @convention(c) (
    UnsafeMutablePointer<sqlite3_vfs>?, sqlite3_filename?, UnsafeMutablePointer<sqlite3_file>?, Int32, UnsafeMutablePointer<Int32>?
) -> Int32 = { _, name, file, flags, outFlags in
    guard let real = shimRealVFS, let open = real.pointee.xOpen, let file, let inner = innerFile(file) else { return SQLITE_CANTOPEN }
    inner.pointee.pMethods = nil
    let status = open(real, name, inner, flags, outFlags)
    file.pointee.pMethods = inner.pointee.pMethods == nil ? nil : UnsafePointer(shimMethods)
    return status
}

nonisolated(unsafe) private let shimMethods: UnsafeMutablePointer<sqlite3_io_methods> = {
    let methods = UnsafeMutablePointer<sqlite3_io_methods>.allocate(capacity: 1)
    methods.initialize(to: sqlite3_io_methods(
        iVersion: 3,
        xClose: { file in
            guard let (inner, m) = innerMethods(file), let call = m.xClose else { return SQLITE_OK }
            return call(inner)
        },
        xRead: { file, buffer, amount, offset in
            guard let (inner, m) = innerMethods(file), let call = m.xRead else { return SQLITE_IOERR }
            return call(inner, buffer, amount, offset)
        },
        xWrite: { file, buffer, amount, offset in
            guard let (inner, m) = innerMethods(file), let call = m.xWrite else { return SQLITE_IOERR }
            return call(inner, buffer, amount, offset)
        },
        xTruncate: { file, size in
            guard let (inner, m) = innerMethods(file), let call = m.xTruncate else { return SQLITE_IOERR }
            return call(inner, size)
        },
        xSync: { file, flags in
            guard let (inner, m) = innerMethods(file), let call = m.xSync else { return SQLITE_IOERR }
            SQLiteSyncCounter.shared.increment()
            return call(inner, flags)
        },
        xFileSize: { file, size in
            guard let (inner, m) = innerMethods(file), let call = m.xFileSize else { return SQLITE_IOERR }
            return call(inner, size)
        },
        xLock: { file, level in
            guard let (inner, m) = innerMethods(file), let call = m.xLock else { return SQLITE_IOERR }
            return call(inner, level)
        },
        xUnlock: { file, level in
            guard let (inner, m) = innerMethods(file), let call = m.xUnlock else { return SQLITE_IOERR }
            return call(inner, level)
        },
        xCheckReservedLock: { file, out in
            guard let (inner, m) = innerMethods(file), let call = m.xCheckReservedLock else { return SQLITE_IOERR }
            return call(inner, out)
        },
        xFileControl: { file, operation, argument in
            guard let (inner, m) = innerMethods(file), let call = m.xFileControl else { return SQLITE_NOTFOUND }
            return call(inner, operation, argument)
        },
        xSectorSize: { file in
            guard let (inner, m) = innerMethods(file), let call = m.xSectorSize else { return 4096 }
            return call(inner)
        },
        xDeviceCharacteristics: { file in
            guard let (inner, m) = innerMethods(file), let call = m.xDeviceCharacteristics else { return 0 }
            return call(inner)
        },
        xShmMap: { file, page, pageSize, extend, out in
            guard let (inner, m) = innerMethods(file), let call = m.xShmMap else { return SQLITE_IOERR }
            return call(inner, page, pageSize, extend, out)
        },
        xShmLock: { file, offset, count, flags in
            guard let (inner, m) = innerMethods(file), let call = m.xShmLock else { return SQLITE_IOERR }
            return call(inner, offset, count, flags)
        },
        xShmBarrier: { file in
            guard let (inner, m) = innerMethods(file), let call = m.xShmBarrier else { return }
            call(inner)
        },
        xShmUnmap: { file, delete in
            guard let (inner, m) = innerMethods(file), let call = m.xShmUnmap else { return SQLITE_OK }
            return call(inner, delete)
        },
        xFetch: { file, offset, amount, out in
            guard let (inner, m) = innerMethods(file), let call = m.xFetch else {
                out?.pointee = nil
                return SQLITE_OK
            }
            return call(inner, offset, amount, out)
        },
        xUnfetch: { file, offset, pointer in
            guard let (inner, m) = innerMethods(file), let call = m.xUnfetch else { return SQLITE_OK }
            return call(inner, offset, pointer)
        }))
    return methods
}()
