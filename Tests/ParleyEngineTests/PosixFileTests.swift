import XCTest
@testable import ParleyEngine

final class PosixFileTests: XCTestCase {
    func testMappedReadsFollowGrowthAndStopAtTheEnd() throws {
        let directory = try temporaryDirectory(self)
        let fs = PosixFileSystem()
        let file = try fs.openFile(at: directory + "/f", .createIfMissing)
        defer { file.close() }
        try file.grow(to: 8192)
        XCTAssertEqual(try file.size(), 8192)
        let first = Bytes(repeating: 7, count: 4096)
        try first.withUnsafeBytes { try file.write($0, at: 4096) }
        XCTAssertEqual(try file.withBytes(at: 4096, count: 4096) { Bytes($0) }, first)
        // Past the end: an error, not SIGBUS.
        XCTAssertThrowsError(try file.withBytes(at: 8192, count: 1) { _ in })
        // Growth far past the first mapping's reservation is followed (a sparse extension, so the
        // test does not allocate a gigabyte).
        let far = UInt64(PosixFile.minimumMappingReservation) + 4096
        try file.truncate(to: far + 4096)
        let second = Bytes(repeating: 9, count: 4096)
        try second.withUnsafeBytes { try file.write($0, at: far) }
        XCTAssertEqual(try file.withBytes(at: far, count: 4096) { Bytes($0) }, second)
        XCTAssertEqual(try file.withBytes(at: 4096, count: 4096) { Bytes($0) }, first)
        try file.sync()
        // Truncation lowers the readable limit before the bytes go.
        try file.truncate(to: 4096)
        XCTAssertThrowsError(try file.withBytes(at: 4096, count: 4096) { _ in })
    }

    func testClosedFileFailsCleanly() throws {
        let directory = try temporaryDirectory(self)
        let file = try PosixFileSystem().openFile(at: directory + "/g", .createIfMissing)
        try file.grow(to: 4096)
        file.close()
        XCTAssertThrowsError(try file.withBytes(at: 0, count: 16) { _ in })
        XCTAssertThrowsError(try Bytes([1]).withUnsafeBytes { try file.write($0, at: 0) })
    }

    func testMissingFileAndMoveRefusesToReplace() throws {
        let directory = try temporaryDirectory(self)
        let fs = PosixFileSystem()
        XCTAssertThrowsError(try fs.openFile(at: directory + "/missing", .existing)) { error in
            XCTAssertEqual(error as? EngineError, .io(operation: "open", path: directory + "/missing", errno: ENOENT))
        }
        try fs.openFile(at: directory + "/a", .createIfMissing).close()
        try fs.openFile(at: directory + "/b", .createIfMissing).close()
        XCTAssertThrowsError(try fs.moveFile(from: directory + "/a", to: directory + "/b"))
        try fs.moveFile(from: directory + "/a", to: directory + "/c")
        XCTAssertFalse(fs.fileExists(at: directory + "/a"))
        XCTAssertTrue(fs.fileExists(at: directory + "/c"))
        try fs.syncDirectory(containing: directory + "/c")
    }
}
