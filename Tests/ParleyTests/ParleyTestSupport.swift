import Foundation
import XCTest
@testable import Parley

/// A temporary directory removed at the end of the test.
func makeTemporaryDirectory(_ test: XCTestCase) throws -> String {
    let path = NSTemporaryDirectory() + "parley-chat-tests-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
    return path
}

/// A clock the test moves by hand.
final class ManualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var time: Int64

    init(_ start: Int64 = 1_700_000_000_000_000) { time = start }

    var now: Timestamp {
        lock.lock()
        defer { lock.unlock() }
        return Timestamp(microseconds: time)
    }

    func advance(seconds: Double) {
        lock.lock()
        time += Int64(seconds * 1_000_000)
        lock.unlock()
    }

    func tick() { advance(seconds: 0.001) }
}

func testOptions(clock: ManualClock, blockTarget: Int = 2048) -> Database.Options {
    var options = Database.Options()
    options.engine.durability = .normal
    options.engine.backgroundWork = false
    options.engine.logPreallocation = 1 << 20
    options.blockTargetBytes = blockTarget
    // Small stores build block dictionaries too, so every test reads and writes them.
    options.dictionaryMinimumSample = 256
    options.clock = { clock.now }
    return options
}

/// Asserts that `body` throws exactly `expected`.
func assertThrows<T>(
    _ expected: ParleyError, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> T
) {
    do {
        _ = try body()
        XCTFail("expected \(expected), nothing was thrown", file: file, line: line)
    } catch let error as ParleyError {
        XCTAssertEqual(error, expected, file: file, line: line)
    } catch {
        XCTFail("expected \(expected), got \(error)", file: file, line: line)
    }
}
