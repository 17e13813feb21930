// parley-engine-bench: figures for the storage engine's log, measured in one run (not a test).
//
//   swift run -c release parley-engine-bench [DIRECTORY]
//
// Reports: commits/s from one thread in each durability mode; `full` from 1 and 4 threads beside
// the disk's own fdatasync rate on a preallocated file (commits per fsync); recovery of a 64 MiB
// log (time and MB/s).

import Foundation
import ParleyEngine

@main
struct EngineBench {
    static func main() throws {
        let directory = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : NSTemporaryDirectory() + "parley-engine-bench"
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        print("directory: \(directory)")

        let fsyncRate = try measureFdatasync(path: directory + "/fsync.probe")
        print(String(format: "fdatasync on a preallocated file, 1 thread: %.0f/s", fsyncRate))

        for mode in Durability.allCases {
            let rate = try commitRate(path: directory + "/\(mode.rawValue).parley", mode: mode, threads: 1, seconds: 2)
            print(String(format: "commits/s, 1 thread, %@: %.0f", mode.rawValue, rate.commits))
        }
        for threads in [1, 4] {
            let rate = try commitRate(path: directory + "/full\(threads).parley", mode: .full, threads: threads, seconds: 3)
            print(String(format: "full, %d thread(s): %.0f commits/s, %.2f commits per log fdatasync; %.2f× the disk's %.0f fdatasync/s",
                         threads, rate.commits, rate.perSync, rate.commits / fsyncRate, fsyncRate))
        }
        let (seconds, megabytes) = try recovery(path: directory + "/recover.parley", logBytes: 64 << 20)
        print(String(format: "recovery of %.1f MB of log: %.3f s, %.1f MB/s", megabytes, seconds, megabytes / seconds))
    }

    static func now() -> Double { Date().timeIntervalSinceReferenceDate }

    static func measureFdatasync(path: String) throws -> Double {
        let fd = open(path, O_RDWR | O_CREAT, 0o644)
        guard fd >= 0 else { throw EngineError.io(operation: "open", path: path, errno: errno) }
        defer { close(fd); unlink(path) }
        _ = posix_fallocate(fd, 0, 16 << 20)
        fsync(fd)
        var block = [UInt8](repeating: 1, count: 128)
        let start = now()
        var count = 0
        var offset: off_t = 0
        while now() - start < 2 {
            _ = block.withUnsafeMutableBytes { pwrite(fd, $0.baseAddress, 128, offset) }
            offset += 128
            fdatasync(fd)
            count += 1
        }
        return Double(count) / (now() - start)
    }

    static func commitRate(path: String, mode: Durability, threads: Int, seconds: Double) throws -> (commits: Double, perSync: Double) {
        var options = DatabaseOptions()
        options.durability = mode
        let engine = try Engine.open(path: path, options: options)
        _ = try engine.write { try $0.createTree("m") }
        let value = [UInt8](repeating: 0x61, count: 100)
        let counter = Counter()
        let deadline = now() + seconds
        let start = now()
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            var i = 0
            while now() < deadline {
                let key = Array("\(thread)-\(i)".utf8)
                try? engine.write { try $0.put("m", key, value) }
                i += 1
            }
            counter.add(i)
        }
        let elapsed = now() - start
        let stats = engine.logStatistics
        try engine.flush()
        try engine.close()
        return (Double(counter.value) / elapsed, Double(stats.sequence) / Double(max(1, stats.syncs)))
    }

    static func recovery(path: String, logBytes: Int) throws -> (Double, Double) {
        var options = DatabaseOptions()
        options.durability = .normal
        options.backgroundWork = false
        options.memtableBudget = Int.max
        options.logPreallocation = UInt64(logBytes) + (8 << 20)
        do {
            let engine = try Engine.open(path: path, options: options)
            _ = try engine.write { try $0.createTree("m") }
            let value = [UInt8](repeating: 0x62, count: 200)
            var i = 0
            while engine.logBytes < UInt64(logBytes) {
                try engine.write { txn in
                    for j in 0..<10 { try txn.put("m", Array("key-\(i)-\(j)".utf8), value) }
                }
                i += 1
            }
            try engine.flush()
            // Leave without a checkpoint: the next open recovers the whole log.
            _ = engine
        }
        let megabytes = Double(logBytes) / 1_000_000
        let start = now()
        let engine = try Engine.open(path: path, options: options)
        let elapsed = now() - start
        try engine.close()
        return (elapsed, megabytes)
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var total = 0
    func add(_ n: Int) { lock.lock(); total += n; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return total }
}
