import Dispatch
import XCTest
@testable import ParleyEngine

/// The engine's own thread start: the body runs, on another thread, under the given name (cut to
/// the kernel's 15 bytes).
final class DetachedThreadTests: XCTestCase {
    private func nameSeen(starting name: String) throws -> String {
        let seen = SharedLocked<String?>(nil)
        let done = DispatchSemaphore(value: 0)
        let caller = pthread_self()
        XCTAssertTrue(DetachedThread.start(name: name) {
            var comm = (try? String(contentsOfProcFile: "/proc/thread-self/comm")) ?? "?"
            if pthread_equal(pthread_self(), caller) != 0 { comm = "(ran on the caller's thread)" }
            seen.withLock { $0 = comm }
            done.signal()
        })
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        return try XCTUnwrap(seen.withLock { $0 })
    }

    func testTheBodyRunsOnANamedThread() throws {
        XCTAssertEqual(try nameSeen(starting: "parley-bg"), "parley-bg\n")
        XCTAssertEqual(try nameSeen(starting: "parley-background-thread"), "parley-backgrou\n")
    }
}

private extension String {
    /// A small file of /proc, read whole.
    init(contentsOfProcFile path: String) throws {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw EngineError.io(operation: "open", path: path, errno: errno) }
        defer { close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: 256)
        let count = read(descriptor, &bytes, bytes.count)
        guard count >= 0 else { throw EngineError.io(operation: "read", path: path, errno: errno) }
        self = String(decoding: bytes[0..<count], as: UTF8.self)
    }
}

/// The background thread's wait takes any sync interval a caller sets: infinite, NaN, negative or
/// huge, as deadlines clamped to what a timespec holds (a conversion that would trap otherwise).
final class BackgroundIntervalTests: XCTestCase {
    func testOddSyncIntervalsNeitherTrapNorLoseCommits() throws {
        for interval in [Double.infinity, .nan, -1, 1e300, 0] {
            let directory = try temporaryDirectory(self)
            var options = testOptions(.normal, background: true)
            options.syncInterval = interval
            let engine = try Engine.open(path: directory + "/i.parley", options: options)
            try engine.write { try $0.createTree("t") }
            try engine.write { try $0.put("t", [1], [2]) }
            XCTAssertTrue(engine.backgroundWorkStarted, "\(interval)")
            try engine.close()
            let reopened = try Engine.open(path: directory + "/i.parley", options: testOptions())
            XCTAssertEqual(try reopened.read { try $0.get("t", [1]) }, [2], "\(interval)")
            try reopened.close()
        }
        XCTAssertEqual(timespec(seconds: .infinity).tv_sec, Int(timespec.latestDeadline))
        XCTAssertEqual(timespec(seconds: .nan).tv_sec, 0)
        XCTAssertEqual(timespec(seconds: -5).tv_sec, 0)
        XCTAssertEqual(timespec(seconds: 1.5).tv_nsec, 500_000_000)
    }
}
