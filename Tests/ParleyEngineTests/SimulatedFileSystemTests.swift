// Tests of the simulated, fault-injecting file system the engine's crash tests run on.

import Foundation
import XCTest
@testable import ParleyEngine

final class SimulatedFileSystemTests: XCTestCase {
    // MARK: Helpers

    private func write(_ file: any StorageFile, _ bytes: [UInt8], at offset: UInt64) throws {
        try bytes.withUnsafeBytes { try file.write($0, at: offset) }
    }

    private func read(_ file: any StorageFile, count: Int, at offset: UInt64) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        try bytes.withUnsafeMutableBytes { try file.read(into: $0, at: offset) }
        return bytes
    }

    /// Asserts that `body` throws exactly `expected`.
    private func assertThrows(_ expected: EngineError, file: StaticString = #filePath, line: UInt = #line,
                              _ body: () throws -> Void) {
        do {
            try body()
            XCTFail("expected \(expected), nothing thrown", file: file, line: line)
        } catch let error as EngineError {
            XCTAssertEqual(error, expected, file: file, line: line)
        } catch {
            XCTFail("expected \(expected), got \(error)", file: file, line: line)
        }
    }

    /// Asserts that `body` throws some `EngineError` (and does not trap).
    private func assertThrowsEngineError(file: StaticString = #filePath, line: UInt = #line,
                                         _ body: () throws -> Void) {
        do {
            try body()
            XCTFail("expected an error, nothing thrown", file: file, line: line)
        } catch is EngineError {
        } catch {
            XCTFail("expected an EngineError, got \(error)", file: file, line: line)
        }
    }

    /// A file holding `bytes`, synced, with its name synced too.
    private func makeSyncedFile(_ fs: SimulatedFileSystem, _ path: String, _ bytes: [UInt8]) throws -> any StorageFile {
        let file = try fs.openFile(at: path, .createIfMissing)
        try write(file, bytes, at: 0)
        try file.sync()
        try fs.syncDirectory(containing: path)
        return file
    }

    // MARK: Basics

    func testWriteReadRoundTrip() throws {
        let fs = SimulatedFileSystem()
        let file = try fs.openFile(at: "/db/a", .createIfMissing)
        XCTAssertEqual(try file.size(), 0)
        try write(file, [1, 2, 3, 4], at: 0)
        try write(file, [9, 9], at: 10)
        XCTAssertEqual(try file.size(), 12)
        XCTAssertEqual(try read(file, count: 12, at: 0), [1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 9, 9])
        try write(file, [7], at: 2)
        let lent = try file.withBytes(at: 1, count: 3) { Array($0) }
        XCTAssertEqual(lent, [2, 7, 4])
        XCTAssertEqual(try file.withBytes(at: 12, count: 0) { $0.count }, 0)
        XCTAssertEqual(fs.disk.liveBytes(path: "/db/a"), [1, 2, 7, 4, 0, 0, 0, 0, 0, 0, 9, 9])
        XCTAssertEqual(fs.disk.durableBytes(path: "/db/a"), [])

        // A second handle sees the same bytes; reopening with .existing works.
        let again = try fs.openFile(at: "/db/a", .existing)
        XCTAssertEqual(try read(again, count: 2, at: 10), [9, 9])
        XCTAssertTrue(fs.fileExists(at: "/db/a"))
        XCTAssertFalse(fs.fileExists(at: "/db/b"))
        XCTAssertEqual(fs.disk.fileNames(), ["/db/a"])

        try file.truncate(to: 3)
        XCTAssertEqual(try again.size(), 3)
        try file.grow(to: 5)
        try file.grow(to: 4)  // never shrinks
        XCTAssertEqual(fs.disk.liveBytes(path: "/db/a"), [1, 2, 7, 0, 0])
        try file.sync()
        XCTAssertEqual(fs.disk.durableBytes(path: "/db/a"), [1, 2, 7, 0, 0])
    }

    func testOpenMissingRemoveAndMove() throws {
        let fs = SimulatedFileSystem()
        assertThrows(.io(operation: "open", path: "/x", errno: ENOENT)) { _ = try fs.openFile(at: "/x", .existing) }
        let file = try fs.openFile(at: "/a", .createIfMissing)
        try write(file, [5], at: 0)
        _ = try fs.openFile(at: "/b", .createIfMissing)
        assertThrows(.io(operation: "rename", path: "/b", errno: EEXIST)) { try fs.moveFile(from: "/a", to: "/b") }
        XCTAssertEqual(fs.disk.liveBytes(path: "/a"), [5])
        try fs.removeFile(at: "/b")
        try fs.moveFile(from: "/a", to: "/b")
        XCTAssertEqual(fs.disk.fileNames(), ["/b"])
        XCTAssertEqual(fs.disk.liveBytes(path: "/b"), [5])
        assertThrowsEngineError { try fs.removeFile(at: "/a") }
        assertThrowsEngineError { try fs.moveFile(from: "/a", to: "/c") }
        // The open handle still reaches the (renamed) inode.
        try write(file, [6], at: 1)
        XCTAssertEqual(fs.disk.liveBytes(path: "/b"), [5, 6])
    }

    // MARK: Power loss

    func testSyncedDataSurvivesPowerLoss() throws {
        let fs = SimulatedFileSystem()
        let data = (0..<3000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        _ = try makeSyncedFile(fs, "/db/main", data)
        for seed in UInt64(0)..<64 {
            let after = fs.disk.powerLoss(seed: seed)
            XCTAssertEqual(after.fileNames(), ["/db/main"])
            XCTAssertEqual(after.liveBytes(path: "/db/main"), data)
            XCTAssertEqual(after.durableBytes(path: "/db/main"), data)
            XCTAssertEqual(after.operationCount, 0)
            XCTAssertFalse(after.hasCrashed)
            let reopened = try SimulatedFileSystem(disk: after).openFile(at: "/db/main", .existing)
            XCTAssertEqual(try read(reopened, count: data.count, at: 0), data)
        }
    }

    func testPowerLossIsDeterministic() throws {
        let fs = SimulatedFileSystem()
        let file = try makeSyncedFile(fs, "/f", [UInt8](repeating: 1, count: 4096))
        try write(file, [UInt8](repeating: 2, count: 4096), at: 0)
        try write(file, [UInt8](repeating: 3, count: 1000), at: 5000)
        for seed in UInt64(0)..<20 {
            XCTAssertEqual(fs.disk.powerLoss(seed: seed).liveBytes(path: "/f"),
                           fs.disk.powerLoss(seed: seed).liveBytes(path: "/f"))
        }
    }

    func testUnsyncedWriteIsOldOrNewPerSector() throws {
        let fs = SimulatedFileSystem()
        let sectors = 4
        let old = [UInt8](repeating: 0xAA, count: 512 * sectors)
        let new = [UInt8](repeating: 0xBB, count: 512 * sectors)
        let file = try makeSyncedFile(fs, "/f", old)
        try write(file, new, at: 0)

        var dropped = 0, applied = 0, torn = 0
        for seed in UInt64(0)..<300 {
            guard let bytes = fs.disk.powerLoss(seed: seed).liveBytes(path: "/f") else {
                return XCTFail("file vanished with seed \(seed)")
            }
            XCTAssertEqual(bytes.count, old.count)
            var newSectors = 0
            for sector in 0..<sectors {
                let slice = Array(bytes[(sector * 512)..<((sector + 1) * 512)])
                let isOld = slice == Array(old[(sector * 512)..<((sector + 1) * 512)])
                let isNew = slice == Array(new[(sector * 512)..<((sector + 1) * 512)])
                XCTAssertTrue(isOld || isNew, "seed \(seed): sector \(sector) is neither old nor new")
                if isNew { newSectors += 1 }
            }
            switch newSectors {
            case 0: dropped += 1
            case sectors: applied += 1
            default: torn += 1
            }
        }
        XCTAssertGreaterThan(dropped, 0)
        XCTAssertGreaterThan(applied, 0)
        XCTAssertGreaterThan(torn, 0)
    }

    func testUnalignedUnsyncedWriteTearsAtAbsoluteSectors() throws {
        let fs = SimulatedFileSystem()
        let old = [UInt8](repeating: 1, count: 2048)
        let file = try makeSyncedFile(fs, "/f", old)
        let range = 300..<1300  // touches sectors 0, 1 and 2 in part
        try write(file, [UInt8](repeating: 2, count: range.count), at: UInt64(range.lowerBound))
        var sawMix = false
        for seed in UInt64(0)..<200 {
            guard let bytes = fs.disk.powerLoss(seed: seed).liveBytes(path: "/f") else {
                return XCTFail("file vanished")
            }
            XCTAssertEqual(bytes.count, 2048)
            var pieces: [Bool] = []
            for sector in 0..<4 {
                let low = max(range.lowerBound, sector * 512)
                let piece = low..<max(low, min(range.upperBound, (sector + 1) * 512))
                for i in (sector * 512)..<((sector + 1) * 512) where !piece.contains(i) {
                    XCTAssertEqual(bytes[i], 1, "seed \(seed): byte \(i) outside the write changed")
                }
                guard !piece.isEmpty else { continue }
                let values = Set(bytes[piece])
                XCTAssertTrue(values == [1] || values == [2], "seed \(seed): sector \(sector) piece is mixed")
                pieces.append(values == [2])
            }
            if pieces.contains(true) && pieces.contains(false) { sawMix = true }
        }
        XCTAssertTrue(sawMix)
    }

    func testUnsyncedSizeChangesCoverAppliedBytes() throws {
        let fs = SimulatedFileSystem()
        let file = try makeSyncedFile(fs, "/f", [UInt8](repeating: 1, count: 1000))
        try write(file, [UInt8](repeating: 2, count: 1100), at: 1500)  // extends to 2600
        var sizes = Set<Int>()
        for seed in UInt64(0)..<200 {
            guard let bytes = fs.disk.powerLoss(seed: seed).liveBytes(path: "/f") else {
                return XCTFail("file vanished")
            }
            sizes.insert(bytes.count)
            XCTAssertTrue(bytes.count >= 1000 && bytes.count <= 2600)
            XCTAssertEqual(Array(bytes[0..<1000]), [UInt8](repeating: 1, count: 1000))
            for i in 1000..<bytes.count {
                XCTAssertTrue(bytes[i] == 0 || (i >= 1500 && bytes[i] == 2), "seed \(seed): byte \(i) = \(bytes[i])")
            }
            // Size covers every applied byte: the last byte, when past the old end, is new data or
            // a zero the kept extension filled.
            if bytes.count > 1000, bytes.count < 2600 { XCTAssertEqual(bytes[bytes.count - 1], 2) }
        }
        XCTAssertTrue(sizes.contains(1000))
        XCTAssertTrue(sizes.contains(2600))

        // An unsynced truncate is kept or dropped as a whole.
        let other = try makeSyncedFile(fs, "/g", [UInt8](repeating: 3, count: 4000))
        try other.truncate(to: 100)
        var truncatedSizes = Set<Int>()
        for seed in UInt64(0)..<100 {
            truncatedSizes.insert(fs.disk.powerLoss(seed: seed).liveBytes(path: "/g")?.count ?? -1)
        }
        XCTAssertEqual(truncatedSizes, [100, 4000])
    }

    func testDirectoryDurability() throws {
        let fs = SimulatedFileSystem()
        _ = try makeSyncedFile(fs, "/synced", [1, 2, 3])
        let unsynced = try fs.openFile(at: "/unsynced", .createIfMissing)
        try write(unsynced, [4], at: 0)
        try unsynced.sync()  // the data is durable, the name is not
        XCTAssertEqual(fs.disk.durableFileNames(), ["/synced"])
        var vanished = 0, survived = 0
        for seed in UInt64(0)..<64 {
            let names = fs.disk.powerLoss(seed: seed).fileNames()
            XCTAssertTrue(names.contains("/synced"))
            if names.contains("/unsynced") { survived += 1 } else { vanished += 1 }
        }
        XCTAssertGreaterThan(vanished, 0)
        XCTAssertGreaterThan(survived, 0)

        // Once the directory is synced, the name always survives; an unsynced removal may not.
        try fs.syncDirectory(containing: "/unsynced")
        try fs.removeFile(at: "/synced")
        var removedKept = false, removedGone = false
        for seed in UInt64(0)..<64 {
            let after = fs.disk.powerLoss(seed: seed)
            XCTAssertEqual(after.liveBytes(path: "/unsynced"), [4])
            if let bytes = after.liveBytes(path: "/synced") {
                XCTAssertEqual(bytes, [1, 2, 3])
                removedKept = true
            } else {
                removedGone = true
            }
        }
        XCTAssertTrue(removedKept && removedGone)
        try fs.syncDirectory(containing: "/")
        for seed in UInt64(0)..<16 { XCTAssertEqual(fs.disk.powerLoss(seed: seed).fileNames(), ["/unsynced"]) }
    }

    // MARK: Locks and closing

    func testLockConflictAndReleaseOnClose() throws {
        let fs = SimulatedFileSystem()
        let first = try fs.openFile(at: "/db", .createIfMissing)
        let second = try fs.openFile(at: "/db", .existing)
        try first.lockExclusive()
        try first.lockExclusive()  // re-taking one's own lock is fine
        assertThrows(.fileInUse(path: "/db")) { try second.lockExclusive() }
        first.close()
        try second.lockExclusive()
        let third = try fs.openFile(at: "/db", .existing)
        assertThrows(.fileInUse(path: "/db")) { try third.lockExclusive() }
        // A power loss leaves no locks behind.
        let after = SimulatedFileSystem(disk: fs.disk.powerLoss(seed: 1))
        try after.openFile(at: "/db", .existing).lockExclusive()
    }

    func testClosedFileThrowsInsteadOfTrapping() throws {
        let fs = SimulatedFileSystem()
        let file = try fs.openFile(at: "/f", .createIfMissing)
        try write(file, [1, 2, 3], at: 0)
        file.close()
        file.close()
        assertThrows(.io(operation: "read", path: "/f", errno: EBADF)) { _ = try self.read(file, count: 1, at: 0) }
        assertThrows(.io(operation: "read", path: "/f", errno: EBADF)) { _ = try file.withBytes(at: 0, count: 1) { $0.count } }
        assertThrows(.io(operation: "write", path: "/f", errno: EBADF)) { try self.write(file, [1], at: 0) }
        assertThrows(.io(operation: "fdatasync", path: "/f", errno: EBADF)) { try file.sync() }
        assertThrowsEngineError { _ = try file.size() }
        assertThrowsEngineError { try file.grow(to: 10) }
        assertThrowsEngineError { try file.truncate(to: 0) }
        assertThrowsEngineError { try file.lockExclusive() }
    }

    func testReadsPastSizeAndBadRangesThrow() throws {
        let fs = SimulatedFileSystem()
        let file = try fs.openFile(at: "/f", .createIfMissing)
        try write(file, [UInt8](repeating: 1, count: 100), at: 0)
        assertThrowsEngineError { _ = try self.read(file, count: 10, at: 95) }
        assertThrowsEngineError { _ = try self.read(file, count: 1, at: 100) }
        assertThrowsEngineError { _ = try self.read(file, count: 1, at: UInt64.max) }
        assertThrowsEngineError { _ = try file.withBytes(at: 90, count: 11) { $0.count } }
        assertThrowsEngineError { _ = try file.withBytes(at: 0, count: -1) { $0.count } }
        assertThrowsEngineError { _ = try file.withBytes(at: UInt64(Int.max), count: 2) { $0.count } }
        assertThrowsEngineError { _ = try file.withBytes(at: UInt64.max, count: 1) { $0.count } }
        assertThrowsEngineError { try self.write(file, [1, 2], at: UInt64(Int.max)) }
        assertThrowsEngineError { try self.write(file, [1], at: UInt64.max) }
        assertThrowsEngineError { try file.grow(to: UInt64.max) }
        assertThrowsEngineError { try file.truncate(to: UInt64(Int.max)) }
        XCTAssertEqual(try file.withBytes(at: 90, count: 10) { Array($0) }, [UInt8](repeating: 1, count: 10))
        XCTAssertEqual(try file.size(), 100)
        XCTAssertEqual(fs.disk.operationCount, 2, "rejected calls do not count")
    }

    // MARK: Faults

    func testFailNthWriteOnlyOnce() throws {
        let fs = SimulatedFileSystem()
        let file = try fs.openFile(at: "/f", .createIfMissing)
        fs.disk.fail(.write, nth: 2, errno: EIO)
        try write(file, [1], at: 0)
        assertThrows(.io(operation: "write", path: "/f", errno: EIO)) { try self.write(file, [2], at: 1) }
        XCTAssertEqual(fs.disk.liveBytes(path: "/f"), [1], "a failed write has no effect")
        try write(file, [3], at: 1)
        try write(file, [4], at: 2)
        XCTAssertEqual(fs.disk.liveBytes(path: "/f"), [1, 3, 4])
    }

    func testPersistentFaultAndClear() throws {
        let fs = SimulatedFileSystem()
        let file = try fs.openFile(at: "/f", .createIfMissing)
        fs.disk.fail(.write, nth: 2, errno: EIO, persistent: true)
        try write(file, [1], at: 0)
        for value in UInt8(2)...5 {
            assertThrows(.io(operation: "write", path: "/f", errno: EIO)) { try self.write(file, [value], at: 1) }
        }
        try file.sync()  // other kinds are unaffected
        fs.disk.clearFaults()
        try write(file, [6], at: 1)
        XCTAssertEqual(fs.disk.liveBytes(path: "/f"), [1, 6])
    }

    func testNoSpaceAndOtherKinds() throws {
        let fs = SimulatedFileSystem()
        let file = try fs.openFile(at: "/f", .createIfMissing)
        fs.disk.fail(.write, nth: 1, errno: ENOSPC)
        assertThrows(.diskFull(path: "/f")) { try self.write(file, [1], at: 0) }
        fs.disk.fail(.grow, nth: 1, errno: ENOSPC)
        assertThrows(.diskFull(path: "/f")) { try file.grow(to: 4096) }
        XCTAssertEqual(try file.size(), 0, "a failed growth has no effect")
        fs.disk.fail(.grow, nth: 1, errno: EIO)
        assertThrows(.io(operation: "grow", path: "/f", errno: EIO)) { try file.grow(to: 4096) }
        try write(file, [7], at: 0)
        fs.disk.fail(.sync, nth: 1, errno: EIO)
        assertThrows(.io(operation: "fdatasync", path: "/f", errno: EIO)) { try file.sync() }
        XCTAssertEqual(fs.disk.durableBytes(path: "/f"), [], "a failed sync makes nothing durable")
        try file.sync()
        XCTAssertEqual(fs.disk.durableBytes(path: "/f"), [7])
    }

    func testCrashAfterOperations() throws {
        let fs = SimulatedFileSystem()
        let file = try fs.openFile(at: "/f", .createIfMissing)
        XCTAssertEqual(fs.disk.operationCount, 1)
        try write(file, [1], at: 0)
        try file.sync()
        try fs.syncDirectory(containing: "/f")
        XCTAssertEqual(fs.disk.operationCount, 4)
        _ = try read(file, count: 1, at: 0)
        XCTAssertEqual(fs.disk.operationCount, 4, "reads do not count")

        fs.disk.crash(afterOperations: 2)
        try write(file, [2], at: 1)
        try write(file, [3], at: 2)
        XCTAssertFalse(fs.disk.hasCrashed)
        assertThrows(.simulatedCrash) { try self.write(file, [4], at: 3) }
        XCTAssertTrue(fs.disk.hasCrashed)
        XCTAssertEqual(fs.disk.liveBytes(path: "/f"), [1, 2, 3], "the crashing operation has no effect")
        XCTAssertEqual(fs.disk.operationCount, 6)
        assertThrows(.simulatedCrash) { _ = try self.read(file, count: 1, at: 0) }
        assertThrows(.simulatedCrash) { _ = try file.withBytes(at: 0, count: 1) { $0.count } }
        assertThrows(.simulatedCrash) { _ = try file.size() }
        assertThrows(.simulatedCrash) { try file.sync() }
        assertThrows(.simulatedCrash) { _ = try fs.openFile(at: "/f", .existing) }
        assertThrows(.simulatedCrash) { _ = try fs.openFile(at: "/g", .createIfMissing) }
        assertThrows(.simulatedCrash) { try fs.removeFile(at: "/f") }
        assertThrows(.simulatedCrash) { try fs.syncDirectory(containing: "/f") }

        // What survives: the synced byte always; the two unsynced ones per the seed.
        for seed in UInt64(0)..<32 {
            let bytes = fs.disk.powerLoss(seed: seed).liveBytes(path: "/f") ?? []
            XCTAssertEqual(bytes.first, 1)
            XCTAssertLessThanOrEqual(bytes.count, 3)
        }
    }

    func testCrashAtZeroOperationsStopsTheNextOne() throws {
        let fs = SimulatedFileSystem()
        fs.disk.crash(afterOperations: 0)
        assertThrows(.simulatedCrash) { _ = try fs.openFile(at: "/f", .createIfMissing) }
        XCTAssertFalse(fs.fileExists(at: "/f"))
        XCTAssertEqual(fs.disk.operationCount, 0)
    }

    // MARK: Concurrency

    func testConcurrentWritersAndReaders() throws {
        let fs = SimulatedFileSystem()
        let file = try fs.openFile(at: "/shared", .createIfMissing)
        try file.grow(to: 64 * 1024)
        let failures = FailureCounter()
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            do {
                let own = try fs.openFile(at: "/shared", .existing)
                let base = UInt64(worker * 8192)
                for round in 0..<200 {
                    let value = UInt8(truncatingIfNeeded: worker &* 31 &+ round)
                    let block = [UInt8](repeating: value, count: 512)
                    try block.withUnsafeBytes { try own.write($0, at: base + UInt64(round % 16) * 512) }
                    let back = try own.withBytes(at: base + UInt64(round % 16) * 512, count: 512) { Array($0) }
                    if back != block { failures.add() }
                    // Read a neighbour's region while it is being written.
                    let neighbour = UInt64(((worker + 1) % 8) * 8192)
                    _ = try own.withBytes(at: neighbour, count: 4096) { $0.reduce(0) { $0 &+ Int($1) } }
                    var buffer = [UInt8](repeating: 0, count: 1024)
                    try buffer.withUnsafeMutableBytes { try own.read(into: $0, at: neighbour) }
                    if round % 50 == 0 {
                        try own.sync()
                        _ = fs.disk.powerLoss(seed: UInt64(round))
                    }
                    _ = try own.size()
                    _ = fs.fileExists(at: "/shared")
                }
                own.close()
            } catch {
                failures.add()
            }
        }
        XCTAssertEqual(failures.count, 0)
        XCTAssertEqual(try file.size(), 64 * 1024)
    }
}

/// A thread-safe counter for failures seen on worker threads.
private final class FailureCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0

    func add() { lock.lock(); value += 1; lock.unlock() }

    var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return value
    }
}
