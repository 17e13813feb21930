// Copying a database: a consistent snapshot written, tree by tree in key order, into a new file.
// The copy holds no free pages and its trees are packed (keys arrive in order, so every page but
// the last of each level is full), which makes it both a backup and a compaction.
//
// The copy is built under `<destination>-partial` and given its name only when complete and
// synced, so a crash or an error never leaves a half copy under the destination's name.

extension Engine {
    /// Writes a consistent copy of the database as of this moment to a new file at `destination`,
    /// which must not exist. Writers and readers go on meanwhile. `progress` is called with the
    /// entries copied so far.
    public func copy(
        to destination: String, fileSystem: any FileSystem = PosixFileSystem(), progress: ((UInt64) -> Void)? = nil
    ) throws {
        guard !fileSystem.fileExists(at: destination) else {
            throw EngineError.io(operation: "create the copy", path: destination, errno: EEXIST)
        }
        let partial = destination + "-partial"
        for stale in [partial, partial + "-creating"] where fileSystem.fileExists(at: stale) {
            try fileSystem.removeFile(at: stale)
        }
        let snapshot = try self.snapshot()
        defer { snapshot.close() }
        var options = EngineOptions()
        options.pageSize = storage.pageSize
        let target = try StorageEngine.open(path: partial, options: options, fileSystem: fileSystem)
        do {
            var copied: UInt64 = 0
            let batch = 50_000
            for tree in try snapshot.treeNames() {
                _ = try target.write { try $0.createTree(tree) }
                let cursor = try snapshot.cursor(tree)
                var entry = try cursor.first()
                while entry != nil {
                    try target.write { transaction in
                        var written = 0
                        while let (key, value) = entry, written < batch {
                            try transaction.put(tree, key, value)
                            written += 1
                            entry = try cursor.next()
                        }
                        copied += UInt64(written)
                    }
                    progress?(copied)
                }
            }
            target.close()
            try fileSystem.moveFile(from: partial, to: destination)
            try fileSystem.syncDirectory(containing: destination)
        } catch {
            target.close()
            try? fileSystem.removeFile(at: partial)
            throw error
        }
    }
}

import Glibc
