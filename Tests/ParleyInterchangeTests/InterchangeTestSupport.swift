// Helpers for the interchange tests: temporary databases, a seeded random generator, gzip.

import CZlib
import Foundation
import Parley
import XCTest
@testable import ParleyInterchange

/// A temporary directory removed at the end of the test.
func makeTemporaryDirectory(_ test: XCTestCase) throws -> String {
    let path = NSTemporaryDirectory() + "parley-interchange-tests-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
    return path
}

/// A fresh database in `directory`, closed at the end of the test.
func openDatabase(_ test: XCTestCase, in directory: String, name: String = "chat.parley") throws -> Database {
    var options = Database.Options(durability: .normal)
    options.engine.backgroundWork = false
    options.engine.logPreallocation = 1 << 20
    let database = try Database.open(path: directory + "/" + name, options: options)
    test.addTeardownBlock { try? database.close() }
    return database
}

/// The engine's SplitMix64, so every corpus can be made again.
typealias SeededGenerator = SplitMix64

/// Bytes of a string.
func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// `input` compressed as gzip (zlib's deflate with windowBits 31).
func gzip(_ input: [UInt8], level: Int32 = 6) throws -> [UInt8] {
    var stream = z_stream()
    guard deflateInit2_(&stream, level, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK
    else { throw GzipTestError.failed("deflateInit2_") }
    defer { deflateEnd(&stream) }
    var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(input.count))) + 64)
    var source = input
    let status = source.withUnsafeMutableBufferPointer { inBuffer in
        output.withUnsafeMutableBufferPointer { outBuffer in
            stream.next_in = inBuffer.baseAddress
            stream.avail_in = UInt32(inBuffer.count)
            stream.next_out = outBuffer.baseAddress
            stream.avail_out = UInt32(outBuffer.count)
            return deflate(&stream, Z_FINISH)
        }
    }
    guard status == Z_STREAM_END else { throw GzipTestError.failed("deflate returned \(status)") }
    return Array(output[0..<Int(stream.total_out)])
}

enum GzipTestError: Error {
    case failed(String)
}

/// Asserts that `body` throws `InterchangeError.badLine` on `line`, with a reason containing `reason`.
func assertBadLine<T>(
    line: Int, reason: String, file: StaticString = #filePath, at sourceLine: UInt = #line, _ body: () throws -> T
) {
    do {
        _ = try body()
        XCTFail("expected a bad line \(line), nothing was thrown", file: file, line: sourceLine)
    } catch InterchangeError.badLine(let badLine, let message) {
        XCTAssertEqual(badLine, line, "reason: \(message)", file: file, line: sourceLine)
        XCTAssertTrue(message.contains(reason), "\"\(message)\" does not contain \"\(reason)\"", file: file, line: sourceLine)
    } catch {
        XCTFail("expected a bad line \(line), got \(error)", file: file, line: sourceLine)
    }
}

/// A thread-safe list the @Sendable progress callbacks append to.
final class Recorder<Element: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Element] = []

    func append(_ item: Element) {
        lock.lock()
        items.append(item)
        lock.unlock()
    }

    var all: [Element] {
        lock.lock()
        defer { lock.unlock() }
        return items
    }
}

/// Compares two exports line by line first, so a failure shows the first differing line.
func assertSameLines(_ actual: [UInt8], _ expected: [UInt8], _ message: String = "", file: StaticString = #filePath, line: UInt = #line) {
    let actualLines = actual.split(separator: 0x0A, omittingEmptySubsequences: false)
    let expectedLines = expected.split(separator: 0x0A, omittingEmptySubsequences: false)
    XCTAssertEqual(actualLines.count, expectedLines.count, message, file: file, line: line)
    for (index, (a, b)) in zip(actualLines, expectedLines).enumerated() where a != b {
        XCTFail(
            "\(message) line \(index + 1) differs:\n\(String(decoding: a, as: UTF8.self))\n\(String(decoding: b, as: UTF8.self))",
            file: file, line: line)
        return
    }
    XCTAssertTrue(actual == expected, message, file: file, line: line)
}
