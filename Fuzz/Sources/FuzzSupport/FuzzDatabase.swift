// Databases for fuzzing: always on a SimulatedDisk (memory only, no real file is ever touched),
// with small preallocations so that a run costs microseconds, no background thread (every run
// is deterministic) and a clock the harness controls.

import Parley
import Synchronization

/// A clock a harness sets by hand.
public final class FuzzClock: Sendable {
    private let microseconds: Mutex<Int64>

    public init(_ start: Int64 = FuzzDatabase.epoch) { microseconds = Mutex(start) }

    public var now: Timestamp { Timestamp(microseconds: microseconds.withLock { $0 }) }

    public func advance(by delta: Int64) { microseconds.withLock { $0 = $0 &+ delta } }
}

public enum FuzzDatabase {
    /// The database's path on the simulated disk. The directory does not exist on the real one,
    /// so the few calls that bypass the file system option (`Database.compact`'s rename, the
    /// file size in `stats`) find nothing.
    public static let path = "/parley-fuzz-nonexistent/chat.parley"
    public static var logPath: String { Engine.logPath(for: path) }
    /// 2023-11-14T22:13:20Z, in microseconds.
    public static let epoch: Int64 = 1_700_000_000_000_000

    /// Options for a chat store on `disk`: 4 KiB pages (the chat store's minimum), 1 KiB blocks,
    /// full durability, no background work, a 16 KiB log.
    public static func options(
        disk: SimulatedDisk, clock: FuzzClock = FuzzClock(), blockTargetBytes: Int = 1024
    ) -> Database.Options {
        var options = Database.Options(durability: .full)
        options.engine.backgroundWork = false
        options.engine.logPreallocation = 16 << 10
        options.engine.logGrowthStep = 16 << 10
        options.engine.storage = EngineOptions(pageSize: 4096, growthStep: 16 << 10)
        options.blockTargetBytes = blockTargetBytes
        options.clock = { clock.now }
        options.fileSystem = SimulatedFileSystem(disk: disk)
        return options
    }

    /// A new disk holding these files, written, synced and named durably.
    public static func disk(holding files: [(path: String, bytes: [UInt8])]) -> SimulatedDisk {
        let disk = SimulatedDisk()
        let fileSystem = SimulatedFileSystem(disk: disk)
        do {
            for (path, bytes) in files {
                let file = try fileSystem.openFile(at: path, .createIfMissing)
                if !bytes.isEmpty { try bytes.withUnsafeBytes { try file.write($0, at: 0) } }
                try file.sync()
                file.close()
            }
            try fileSystem.syncDirectory(containing: path)
        } catch {
            fatalError("harness: writing a file on a fresh simulated disk failed: \(error)")
        }
        return disk
    }

    /// A copy of a quiet disk (every write synced, directory synced, nothing open): what a power
    /// loss leaves of such a disk is all of it.
    public static func copy(_ disk: SimulatedDisk) -> SimulatedDisk { disk.powerLoss(seed: 0) }

    /// The durable bytes of the database and its log on `disk` (empty when missing).
    public static func files(on disk: SimulatedDisk) -> (database: [UInt8], log: [UInt8]) {
        (disk.durableBytes(path: path) ?? [], disk.durableBytes(path: logPath) ?? [])
    }
}

extension FuzzDatabase {
    /// A disk holding an empty chat store, closed: copy it (`copy(_:)`) for a fresh database
    /// without paying for its creation.
    public static let emptyStore: SimulatedDisk = {
        let disk = SimulatedDisk()
        do {
            try Database.open(path: path, options: options(disk: disk)).close()
        } catch {
            fatalError("harness: creating an empty chat store failed: \(error)")
        }
        return disk
    }()
}
