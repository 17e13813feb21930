import Foundation
import XCTest
@testable import ParleyEngine

final class LockAndSnapshotTests: XCTestCase {
    func testSecondOpenInSameProcessIsInUse() throws {
        let directory = try temporaryDirectory(self)
        let path = directory + "/locked.parley"
        let engine = try StorageEngine.open(path: path)
        XCTAssertThrowsError(try StorageEngine.open(path: path)) { error in
            XCTAssertEqual(error as? EngineError, .fileInUse(path: path))
            XCTAssertTrue("\(error)".contains("in use"))
        }
        engine.close()
        // Released on close.
        let again = try StorageEngine.open(path: path)
        again.close()
    }

    func testSecondProcessIsRefusedWhileOpen() throws {
        let helper = try helperExecutable()
        let directory = try temporaryDirectory(self)
        let path = directory + "/shared.parley"
        let engine = try StorageEngine.open(path: path)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: helper)
        process.arguments = ["open", path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        process.waitUntilExit()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(process.terminationStatus, 3, text)
        XCTAssertTrue(text.contains("in use"), text)
        engine.close()
    }

    func testThisProcessIsRefusedWhileAnotherHoldsIt() throws {
        let helper = try helperExecutable()
        let directory = try temporaryDirectory(self)
        let path = directory + "/held.parley"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: helper)
        process.arguments = ["hold", path]
        let output = Pipe()
        let input = Pipe()
        process.standardOutput = output
        process.standardInput = input
        try process.run()
        // Wait for the child to say it holds the database.
        let line = output.fileHandleForReading.availableData
        XCTAssertEqual(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines), "holding")
        XCTAssertThrowsError(try StorageEngine.open(path: path)) { error in
            XCTAssertEqual(error as? EngineError, .fileInUse(path: path))
        }
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        let engine = try StorageEngine.open(path: path)
        engine.close()
    }

    /// Readers on snapshots while a writer commits: each snapshot sees one commit whole (every key
    /// carries the same generation), and keeps seeing it while later commits land and reuse pages.
    func testReadersSeeConsistentSnapshotsWhileWriterCommits() throws {
        let directory = try temporaryDirectory(self)
        let engine = try StorageEngine.open(path: directory + "/snap.parley", options: EngineOptions(pageSize: 1024))
        defer { engine.close() }
        let keys = (0..<200).map { Array("key-\($0)".utf8) }
        try engine.write { txn in
            try txn.createTree("t")
            for key in keys { try txn.put("t", key, Array("0".utf8)) }
        }
        let commits = 150
        let failures = SharedLocked<[String]>([])
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) {
            do {
                for round in 1...commits {
                    try engine.write { txn in
                        for key in keys { try txn.put("t", key, Array("\(round)".utf8) + Bytes(repeating: 0x2E, count: round % 50)) }
                    }
                }
            } catch {
                failures.withLock { $0.append("writer: \(error)") }
            }
        }
        for reader in 0..<3 {
            DispatchQueue.global().async(group: group) {
                do {
                    var checked = 0
                    while checked < 60 {
                        try engine.read { txn in
                            let first = try txn.get("t", keys[0])
                            // Hold the snapshot a while so commits land meanwhile.
                            for pass in 0..<3 {
                                let cursor = try txn.cursor("t")
                                var entry = try cursor.first()
                                var count = 0
                                while let (_, value) = entry {
                                    if value != first { failures.withLock { $0.append("reader \(reader) pass \(pass): mixed snapshot") } }
                                    count += 1
                                    entry = try cursor.next()
                                }
                                if count != keys.count { failures.withLock { $0.append("reader \(reader): \(count) keys") } }
                            }
                        }
                        checked += 1
                    }
                } catch {
                    failures.withLock { $0.append("reader \(reader): \(error)") }
                }
            }
        }
        group.wait()
        XCTAssertEqual(failures.withLock { $0 }, [])
        try assertSound(engine)
    }
}
