import Foundation
import XCTest
@testable import ParleyEngine

/// A file system whose file syncs take a little while, like a disk's, so that committers pile up
/// behind a sync and group commit (with its gathering window) really runs.
struct SlowSyncFileSystem: FileSystem {
    let base: any FileSystem
    let microseconds: UInt32

    func openFile(at path: String, _ disposition: OpenDisposition) throws -> any StorageFile {
        SlowSyncFile(base: try base.openFile(at: path, disposition), microseconds: microseconds)
    }
    func fileExists(at path: String) -> Bool { base.fileExists(at: path) }
    func removeFile(at path: String) throws { try base.removeFile(at: path) }
    func moveFile(from source: String, to destination: String) throws { try base.moveFile(from: source, to: destination) }
    func syncDirectory(containing path: String) throws { try base.syncDirectory(containing: path) }
}

final class SlowSyncFile: StorageFile {
    let base: any StorageFile
    let microseconds: UInt32

    init(base: any StorageFile, microseconds: UInt32) {
        self.base = base
        self.microseconds = microseconds
    }

    var path: String { base.path }
    func size() throws -> UInt64 { try base.size() }
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws { try base.read(into: buffer, at: offset) }
    func withBytes<R>(at offset: UInt64, count: Int, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try base.withBytes(at: offset, count: count, body)
    }
    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws { try base.write(bytes, at: offset) }
    func sync() throws {
        usleep(microseconds)
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

final class GroupCommitTests: XCTestCase {
    func testALoneCommitterNeverWaits() {
        var policy = GroupCommit()
        for sequence in 1...50 as ClosedRange<UInt64> {
            policy.arrive(waitingFor: sequence)
            XCTAssertNil(policy.window(synced: sequence - 1), "commit \(sequence) of one thread was held back")
            policy.finishedSync(seconds: 0.002)
            policy.leave(waitingFor: sequence)
        }
        XCTAssertEqual(policy.expected, 1)
        XCTAssertEqual(policy.syncSeconds, 0.002, accuracy: 1e-9)
    }

    func testTheNextSyncWaitsBrieflyForTheCommittersTheLastOneReleased() {
        var policy = GroupCommit()
        // Four committers inside one sync: it ends with all four there.
        for sequence in 1...4 as ClosedRange<UInt64> { policy.arrive(waitingFor: sequence) }
        policy.finishedSync(seconds: 0.002)
        XCTAssertEqual(policy.expected, 4)
        for sequence in 1...4 as ClosedRange<UInt64> { policy.leave(waitingFor: sequence) }
        // The first to commit again would sync alone: it may wait, a bounded fraction of a sync.
        policy.arrive(waitingFor: 5)
        let window = policy.window(synced: 4)
        XCTAssertNotNil(window)
        XCTAssertLessThanOrEqual(window ?? .infinity, min(0.002 * GroupCommit.windowFraction, GroupCommit.maximumWindow))
        for sequence in 6...7 as ClosedRange<UInt64> { policy.arrive(waitingFor: sequence) }
        XCTAssertNotNil(policy.window(synced: 4), "three of four are back: keep waiting")
        policy.arrive(waitingFor: 8)
        XCTAssertNil(policy.window(synced: 4), "all four are back: sync now")
        // Released committers that have not left yet do not count as waiting.
        XCTAssertEqual(policy.waitingBeyond(6), 2)
    }

    func testTheCrowdShrinksWhenCommittersStop() {
        var policy = GroupCommit()
        for sequence in 1...4 as ClosedRange<UInt64> { policy.arrive(waitingFor: sequence) }
        policy.finishedSync(seconds: 0.001)
        for sequence in 1...4 as ClosedRange<UInt64> { policy.leave(waitingFor: sequence) }
        // Only one comes back; its sync (after a window) ends with it alone.
        policy.arrive(waitingFor: 5)
        XCTAssertNotNil(policy.window(synced: 4))
        policy.finishedSync(seconds: 0.001)
        policy.leave(waitingFor: 5)
        XCTAssertEqual(policy.expected, 1)
        policy.arrive(waitingFor: 6)
        XCTAssertNil(policy.window(synced: 5), "a lone committer again: no window")
    }

    func testAFlushWithNoCommitterWaitingDoesNotWait() {
        var policy = GroupCommit()
        for sequence in 1...4 as ClosedRange<UInt64> { policy.arrive(waitingFor: sequence) }
        policy.finishedSync(seconds: 0.001)
        for sequence in 1...4 as ClosedRange<UInt64> { policy.leave(waitingFor: sequence) }
        XCTAssertEqual(policy.expected, 4)
        XCTAssertNil(policy.window(synced: 4), "nobody waits for this sync but the flush: no window")
        policy.arrive(waitingFor: 5)
        XCTAssertNotNil(policy.window(synced: 4), "one committer of the four is back: a window")
    }

    func testTheWindowIsBoundedWhateverTheDisk() {
        var policy = GroupCommit()
        policy.arrive(waitingFor: 1)
        policy.arrive(waitingFor: 2)
        policy.finishedSync(seconds: 5)  // a very slow disk
        policy.leave(waitingFor: 1)
        policy.leave(waitingFor: 2)
        policy.arrive(waitingFor: 3)
        XCTAssertEqual(policy.window(synced: 2), GroupCommit.maximumWindow)
    }

    /// Several threads commit durably through slow syncs while the power fails at a random point:
    /// every acknowledged commit survives, each thread's surviving commits are a prefix of its
    /// own, and commits share syncs.
    func testConcurrentDurableCommitsSurvivePowerLoss() throws {
        let threads = 4
        let perThread = 40
        var shared = 0
        for trial in 0..<12 {
            var random = SeededRandom(seed: UInt64(trial) &* 7_727 &+ 1)
            let disk = SimulatedDisk()
            let fs = SlowSyncFileSystem(base: SimulatedFileSystem(disk: disk), microseconds: 300)
            let engine = try Engine.open(path: "/db", options: testOptions(.full), fileSystem: fs)
            _ = try engine.write { try $0.createTree("t") }
            let crashes = trial % 4 != 3
            if crashes { disk.crash(afterOperations: 10 + Int(random.next() % 400)) }
            let acknowledged = SharedLocked<[[Int]]>(Array(repeating: [], count: threads))
            let unexpected = SharedLocked<[String]>([])
            DispatchQueue.concurrentPerform(iterations: threads) { thread in
                for i in 0..<perThread {
                    do {
                        try engine.write { try $0.put("t", Array("\(thread)-\(i)".utf8), [UInt8(i)]) }
                        acknowledged.withLock { $0[thread].append(i) }
                    } catch EngineError.simulatedCrash {
                        return
                    } catch EngineError.readOnly {
                        return
                    } catch {
                        unexpected.withLock { $0.append("\(error)") }
                        return
                    }
                }
            }
            XCTAssertEqual(unexpected.withLock { $0 }, [])
            let acked = acknowledged.withLock { $0 }
            let statistics = engine.logStatistics
            if !crashes {
                XCTAssertEqual(acked.map(\.count), Array(repeating: perThread, count: threads))
                XCTAssertEqual(statistics.sequence, UInt64(threads * perThread + 1))
                XCTAssertLessThanOrEqual(statistics.syncs, statistics.sequence)
                if statistics.syncs < statistics.sequence { shared += 1 }
                try engine.close()
            }
            let survivor = disk.powerLoss(seed: random.next())
            let reopened = try Engine.open(path: "/db", options: testOptions(.full), fileSystem: SimulatedFileSystem(disk: survivor))
            let found = try engineContents(reopened, "t")
            for thread in 0..<threads {
                let present = (0..<perThread).filter { found[Array("\(thread)-\($0)".utf8)] != nil }
                XCTAssertEqual(present, Array(0..<present.count), "trial \(trial), thread \(thread): not a prefix")
                XCTAssertGreaterThanOrEqual(present.count, acked[thread].count, "trial \(trial), thread \(thread): lost an acknowledged commit")
            }
            XCTAssertEqual(try reopened.checkIntegrity().problems, [])
            try reopened.close()
        }
        XCTAssertGreaterThan(shared, 0, "four threads never shared a sync")
    }

    /// When the crowd the last sync released does not come back, the committer left alone waits
    /// one window: the first waiter opens it and wakes at its end to start the sync itself, so no
    /// one waits for a sync nobody will start. After that it syncs alone, once per commit, with no
    /// window. Four committers start together behind a long first sync, so the crowd is there when
    /// it ends and the lone committer's first commit does find it short.
    func testACommitterLeftAloneAfterACrowdWaitsOneWindowAtMost() throws {
        let fs = SlowSyncFileSystem(base: SimulatedFileSystem(), microseconds: 30_000)
        let engine = try Engine.open(path: "/db", options: testOptions(.full), fileSystem: fs)
        _ = try engine.write { try $0.createTree("t") }
        let failures = SharedLocked<[String]>([])
        let crowdEnd = SharedLocked<(sequence: UInt64, syncs: UInt64, windows: UInt64)>((0, 0, 0))
        // On a thread of its own, so that a committer left waiting fails the test instead of
        // hanging it.
        let finished = expectation(description: "the crowd and then the lone committer finished")
        Thread.detachNewThread {
            // Four threads of their own (not `concurrentPerform`, which runs as many at once as
            // there are processors), released together.
            let start = DispatchSemaphore(value: 0)
            let crowd = DispatchGroup()
            for thread in 0..<4 {
                crowd.enter()
                Thread.detachNewThread {
                    start.wait()
                    do { try engine.write { try $0.put("t", Array("crowd-\(thread)".utf8), [1]) } } catch {
                        failures.withLock { $0.append("\(error)") }
                    }
                    crowd.leave()
                }
            }
            for _ in 0..<4 { start.signal() }
            crowd.wait()
            crowdEnd.withLock { $0 = (engine.logStatistics.sequence, engine.logStatistics.syncs, engine.groupCommitWindows) }
            for i in 0..<30 {
                do { try engine.write { try $0.put("t", Array("alone-\(i)".utf8), [2]) } } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
            finished.fulfill()
        }
        wait(for: [finished], timeout: 120)
        let before = crowdEnd.withLock { $0 }
        let after = engine.logStatistics
        XCTAssertEqual(failures.withLock { $0 }, [])
        XCTAssertEqual(after.sequence - before.sequence, 30)
        XCTAssertEqual(after.syncs - before.syncs, 30, "one sync per lone commit")
        XCTAssertEqual(engine.groupCommitWindows - before.windows, 1, "one window for the crowd that did not come back, then none")
        XCTAssertEqual(try engineContents(engine, "t").count, 4 + 30)
        try engine.close()
    }

    /// A checkpoint resets the log under durable committers, some waiting in a gathering window or
    /// for a sync: the reset releases what the trees now hold, and no committer is left waiting.
    /// Every acknowledged commit is in the file after a power loss.
    func testDurableCommittersBesideCheckpointsAreReleasedAndKept() throws {
        let disk = SimulatedDisk()
        let fs = SlowSyncFileSystem(base: SimulatedFileSystem(disk: disk), microseconds: 200)
        let engine = try Engine.open(path: "/db", options: testOptions(.full), fileSystem: fs)
        _ = try engine.write { try $0.createTree("t") }
        let threads = 4
        let perThread = 40
        let failures = SharedLocked<[String]>([])
        let committing = SharedLocked(threads)
        let finished = expectation(description: "committers and checkpoints finished")
        finished.expectedFulfillmentCount = 2
        Thread.detachNewThread {
            DispatchQueue.concurrentPerform(iterations: threads) { thread in
                for i in 0..<perThread {
                    do { try engine.write { try $0.put("t", Array("\(thread)-\(i)".utf8), [UInt8(i)]) } } catch {
                        failures.withLock { $0.append("commit: \(error)") }
                    }
                }
                committing.withLock { $0 -= 1 }
            }
            finished.fulfill()
        }
        Thread.detachNewThread {
            var checkpoints = 0
            while committing.withLock({ $0 }) > 0 || checkpoints == 0 {
                do { try engine.checkpoint() } catch { failures.withLock { $0.append("checkpoint: \(error)") } }
                checkpoints += 1
                usleep(500)
            }
            finished.fulfill()
        }
        wait(for: [finished], timeout: 120)
        XCTAssertEqual(failures.withLock { $0 }, [])
        // The power fails before a close could checkpoint anything: what survives is what the
        // acknowledged commits' syncs (and the checkpoints') made durable.
        let survivor = disk.powerLoss(seed: 7)
        try engine.close()
        let reopened = try Engine.open(path: "/db", options: testOptions(.full), fileSystem: SimulatedFileSystem(disk: survivor))
        XCTAssertEqual(try engineContents(reopened, "t").count, threads * perThread)
        XCTAssertEqual(try reopened.checkIntegrity().problems, [])
        try reopened.close()
    }
}
