// A manual check against a real corpus, skipped unless PARLEY_CORPUS names a file:
//
//     PARLEY_CORPUS=/path/to/corpus.jsonl.gz swift test -c release --filter CorpusCheckTests
//
// It imports the file, exports it, imports the export into a second database and compares the
// two exports, printing the time each step took.

import Foundation
import Parley
import XCTest
@testable import ParleyInterchange

final class CorpusCheckTests: XCTestCase {
    func testImportCorpusFromEnvironment() throws {
        guard let path = ProcessInfo.processInfo.environment["PARLEY_CORPUS"], !path.isEmpty else {
            throw XCTSkip("set PARLEY_CORPUS to a JSON Lines file to run this check")
        }
        let directory = try makeTemporaryDirectory(self)
        let first = try openDatabase(self, in: directory, name: "first.parley")

        var start = monotonicSeconds()
        let summary = try Importer.importFile(path: path, into: first)
        let importSeconds = monotonicSeconds() - start
        print(
            "import \(path): \(summary.conversations) conversations, \(summary.messages) messages, \(summary.usersCreated) users, "
                + "\(summary.timestampsMadeUp) timestamps made up, \(summary.bytesRead) bytes in \(format(importSeconds)) s "
                + "(\(Int(Double(summary.messages) / importSeconds)) messages/s)")
        XCTAssertEqual(summary.linesSkipped, 0)

        start = monotonicSeconds()
        let exportPath = directory + "/export.jsonl"
        let exported = try Exporter.exportFile(from: first, path: exportPath)
        print("export: \(exported.bytesWritten) bytes in \(format(monotonicSeconds() - start)) s")

        let second = try openDatabase(self, in: directory, name: "second.parley")
        start = monotonicSeconds()
        try Importer.importFile(path: exportPath, into: second)
        print("re-import of the export: \(format(monotonicSeconds() - start)) s")
        let again = try Exporter.exportBytes(from: second)
        let original = try Data(contentsOf: URL(fileURLWithPath: exportPath))
        XCTAssertTrue(again.elementsEqual(original), "export → import → export changed the bytes")
    }

    private func format(_ seconds: Double) -> String { String(format: "%.2f", seconds) }
}
