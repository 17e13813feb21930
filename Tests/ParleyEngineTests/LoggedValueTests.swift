import Foundation
import XCTest
@testable import ParleyEngine

/// A recovery over real (mapped) files leaves long values in the log (`LoggedValue`). Each test
/// makes a crash image by copying a database and its log while the engine that wrote them is still
/// open (every commit synced, no checkpoint), then opens the copy.
final class LoggedValueTests: XCTestCase {
    private typealias Model = [Bytes: Bytes]

    private var options: DatabaseOptions {
        var options = DatabaseOptions()
        options.backgroundWork = false
        return options
    }

    private func key(_ i: Int) -> Bytes { Array("key-\(1_000 + i)".utf8) }

    /// Values long enough to stay in the log and short enough to be copied, told apart by content.
    private func value(_ i: Int, round: Int) -> Bytes {
        let count = i % 3 == 0 ? 40 : RecoveredTrees.loggedMinimum + 300 + i
        return Bytes((0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ i &+ round &* 31) })
    }

    /// Commits `count` puts to tree "t" at `path` and copies the database and its log to `copy`
    /// while the writer is open; returns what the copy holds.
    private func crashImage(at path: String, copy: String, count: Int) throws -> Model {
        let writer = try Engine.open(path: path, options: options)
        try writer.write { _ = try $0.createTree("t") }
        var model: Model = [:]
        for i in 0..<count {
            try writer.write { try $0.put("t", key(i), value(i, round: 0)) }
            model[key(i)] = value(i, round: 0)
        }
        for suffix in ["", "-wal"] {
            try FileManager.default.copyItem(atPath: path + suffix, toPath: copy + suffix)
        }
        try writer.close()
        return model
    }

    private func read(_ snapshot: Snapshot) throws -> Model {
        var found: Model = [:]
        let cursor = try snapshot.cursor("t")
        var entry = try cursor.first()
        while let (key, value) = entry {
            found[key] = value
            entry = try cursor.next()
        }
        return found
    }

    func testRecoveredValuesAreReadFromTheLogAndSurviveAnOverwritingCheckpointWhileASnapshotHoldsThem() throws {
        let directory = try temporaryDirectory(self)
        let copy = directory + "/copy"
        var model = try crashImage(at: directory + "/db", copy: copy, count: 200)
        let engine = try Engine.open(path: copy, options: options)
        XCTAssertTrue(engine.holdsValuesInLog, "a mapped log keeps the long values")
        // Scoped: a snapshot holds the layers it reads until it is released.
        do {
            let held = try engine.snapshot()
            defer { held.close() }
            XCTAssertEqual(try read(held), model)
            for i in 0..<20 { XCTAssertEqual(try held.get("t", key(i)), model[key(i)]) }

            // The checkpoint moves everything into the trees, but the snapshot still reads from
            // the log: it must not start over, though the next commits would overwrite its first
            // records if it did.
            let recoveredLogBytes = engine.logBytes
            try engine.checkpoint()
            XCTAssertTrue(engine.holdsValuesInLog)
            XCTAssertGreaterThanOrEqual(engine.logBytes, recoveredLogBytes, "the log was not started over")
            let recovered = model
            for i in 0..<200 {
                try engine.write { try $0.put("t", key(i), value(i, round: 1)) }
                model[key(i)] = value(i, round: 1)
            }
            XCTAssertEqual(try read(held), recovered, "the snapshot still reads the recovered values")
        }

        // A crash now recovers past the checkpointed records still in the log.
        let second = directory + "/second"
        for suffix in ["", "-wal"] { try FileManager.default.copyItem(atPath: copy + suffix, toPath: second + suffix) }
        let reopened = try Engine.open(path: second, options: options)
        XCTAssertEqual(try reopened.read { try read($0) }, model)
        XCTAssertEqual(try reopened.checkIntegrity().problems, [])
        try reopened.close()

        // Nothing holds a recovered value any more: the next checkpoint starts the log over.
        try engine.checkpoint()
        XCTAssertFalse(engine.holdsValuesInLog)
        XCTAssertEqual(engine.logBytes, 0)
        XCTAssertEqual(try engine.read { try read($0) }, model)
        try engine.close()
    }

    func testWithNoSnapshotTheFirstCheckpointAfterRecoveryStartsTheLogOver() throws {
        let directory = try temporaryDirectory(self)
        let copy = directory + "/copy"
        let model = try crashImage(at: directory + "/db", copy: copy, count: 100)
        let engine = try Engine.open(path: copy, options: options)
        XCTAssertTrue(engine.holdsValuesInLog)
        XCTAssertEqual(try engine.read { try read($0) }, model)
        try engine.checkpoint()
        XCTAssertFalse(engine.holdsValuesInLog)
        XCTAssertEqual(engine.logBytes, 0)
        XCTAssertEqual(try engine.read { try read($0) }, model)
        try engine.close()
        let again = try Engine.open(path: copy, options: options)
        XCTAssertEqual(try again.read { try read($0) }, model)
        try again.close()
    }

    func testALoggedValueRefusesARangeOutsideItsLog() throws {
        let directory = try temporaryDirectory(self)
        let path = directory + "/file"
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(repeating: 7, count: 8192)))
        let file = try PosixFileSystem().openFile(at: path, .existing)
        defer { file.close() }
        let mapping = try XCTUnwrap(file.mappedBytes(covering: 8192))
        XCTAssertNil(RecoveredLog(mapping: mapping, from: 8193))
        let log = try XCTUnwrap(RecoveredLog(mapping: mapping, from: 4096))
        XCTAssertEqual(log.body.count, 4096)
        XCTAssertNil(LoggedValue(log: log, range: 4000..<4097))
        XCTAssertEqual(LoggedValue(log: log, range: 4000..<4096)?.bytes, Bytes(repeating: 7, count: 96))
    }
}
