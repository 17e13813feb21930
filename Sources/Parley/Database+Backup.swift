// Backups and compaction: both write a packed copy of a consistent snapshot (`Engine.copy`).

import Glibc

extension Database {
    /// Writes a consistent copy of the database, as of this moment, to a new file at
    /// `destination` (which must not exist), while the database stays in use. The copy is one
    /// self-contained file with no free space; it opens as an ordinary database. `progress` is
    /// called with the entries copied so far.
    public func backup(to destination: String, progress: ((UInt64) -> Void)? = nil) throws {
        try storage { try engine.copy(to: destination, fileSystem: fileSystem, progress: progress) }
    }

    /// Rewrites the closed database at `path` into a new file without free space, then puts it in
    /// the old one's place with one atomic rename: a crash leaves either the old file or the new.
    /// Returns the file's size before and after. The file must not be open anywhere (its lock is
    /// taken while compacting).
    @discardableResult
    public static func compact(path: String, options: Options = Options(), progress: ((UInt64) -> Void)? = nil) throws -> (before: Int, after: Int) {
        let compacted = path + "-compact"
        if fileSize(compacted) > 0 || access(compacted, F_OK) == 0 { unlink(compacted) }
        var quiet = options
        quiet.engine.backgroundWork = false
        let database = try Database.open(path: path, options: quiet)
        do {
            try database.checkpoint()
            try database.backup(to: compacted, progress: progress)
        } catch {
            try? database.close()
            unlink(compacted)
            throw error
        }
        try database.close()
        let before = fileSize(path)
        guard rename(compacted, path) == 0 else {
            let code = errno
            unlink(compacted)
            throw ParleyError.storage(.io(operation: "rename the compacted file", path: path, errno: code))
        }
        try syncDirectory(of: path)
        return (before, fileSize(path))
    }

    private static func syncDirectory(of path: String) throws {
        var directory = path
        if let slash = directory.lastIndex(of: "/") {
            directory = String(directory[..<slash])
            if directory.isEmpty { directory = "/" }
        } else {
            directory = "."
        }
        let descriptor = Glibc.open(directory, O_RDONLY | O_DIRECTORY)
        guard descriptor >= 0 else { throw ParleyError.storage(.io(operation: "open the directory", path: directory, errno: errno)) }
        defer { Glibc.close(descriptor) }
        guard fsync(descriptor) == 0 else { throw ParleyError.storage(.io(operation: "fsync the directory", path: directory, errno: errno)) }
    }
}
