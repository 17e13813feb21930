// Reading input as a stream: gzip files and bytes, lines split across chunks, line endings,
// progress reports and made-up timestamps.

import Foundation
import Parley
import XCTest
@testable import ParleyInterchange

final class StreamingImportTests: XCTestCase {
    func testGzipFileImportsLikeThePlainFile() throws {
        let directory = try makeTemporaryDirectory(self)
        // Without id-less conversations: their exported id is the UUID each database makes.
        var corpus = CorpusGenerator(seed: 42, anonymous: false)
        corpus.addConversations(150)
        let plainPath = directory + "/corpus.jsonl"
        let gzipPath = directory + "/corpus.jsonl.gz"
        try Data(corpus.bytes).write(to: URL(fileURLWithPath: plainPath))
        let compressed = try gzip(corpus.bytes, level: 9)
        XCTAssertEqual(Array(compressed.prefix(2)), [0x1F, 0x8B])
        try Data(compressed).write(to: URL(fileURLWithPath: gzipPath))

        let plain = try openDatabase(self, in: directory, name: "plain.parley")
        let plainSummary = try Importer.importFile(path: plainPath, into: plain)
        let zipped = try openDatabase(self, in: directory, name: "zipped.parley")
        let zippedSummary = try Importer.importFile(path: gzipPath, into: zipped)
        XCTAssertEqual(zippedSummary.conversations, 150)
        XCTAssertEqual(zippedSummary.messages, plainSummary.messages)
        XCTAssertEqual(zippedSummary.timestampsMadeUp, plainSummary.timestampsMadeUp)
        XCTAssertEqual(zippedSummary.bytesRead, compressed.count, "progress counts the bytes of the file as stored")
        XCTAssertEqual(plainSummary.bytesRead, corpus.bytes.count)
        assertSameLines(try Exporter.exportBytes(from: zipped), try Exporter.exportBytes(from: plain))

        // Gzip bytes in memory, and two concatenated members (as `cat a.gz b.gz` makes).
        let lines = corpus.lines.map { $0 + [0x0A] }
        let firstHalf = lines[0..<75].flatMap { $0 }
        let secondHalf = lines[75...].flatMap { $0 }
        let members = try openDatabase(self, in: directory, name: "members.parley")
        try Importer.importLines(try gzip(firstHalf) + gzip(secondHalf), into: members)
        assertSameLines(try Exporter.exportBytes(from: members), try Exporter.exportBytes(from: plain))
    }

    func testLinesSplitAcrossChunks() throws {
        let directory = try makeTemporaryDirectory(self)
        var corpus = CorpusGenerator(seed: 3, anonymous: false)
        corpus.addConversations(25)
        let expected = try openDatabase(self, in: directory, name: "expected.parley")
        try Importer.importLines(corpus.bytes, into: expected)
        // Tiny chunks put chunk boundaries inside lines, escapes and multi-byte characters.
        for chunkSize in [1, 2, 7, 4096] {
            let database = try openDatabase(self, in: directory, name: "chunks\(chunkSize).parley")
            let reader = LineReader(source: MemoryChunkSource(corpus.bytes, chunkSize: chunkSize), maximumLineBytes: 1 << 20)
            var lines: [[UInt8]] = []
            while let line = try reader.next() {
                guard case .line(let bytes) = line else { return XCTFail("a line was too long") }
                lines.append(bytes)
            }
            XCTAssertTrue(lines == corpus.lines, "chunk size \(chunkSize)")
            try Importer.importLines(lines.joined(separator: [0x0A]).map { $0 }, into: database)
            assertSameLines(try Exporter.exportBytes(from: database), try Exporter.exportBytes(from: expected), "chunk size \(chunkSize)")
        }
    }

    func testLineEndingsAndEmptyLines() throws {
        let directory = try makeTemporaryDirectory(self)
        let database = try openDatabase(self, in: directory)
        let input = "\n\r\n" + #"{"id": "a", "participants": ["u"]}"# + "\r\n\n \t \n" + #"{"id": "b", "participants": ["u"]}"#
        let summary = try Importer.importLines(bytes(input), into: database)
        XCTAssertEqual(summary.conversations, 2)
        XCTAssertEqual(summary.lines, 6)
        XCTAssertEqual(try Importer.importLines([], into: database), ImportSummary())
        let empty = try Importer.importLines(bytes("\n\n"), into: database)
        XCTAssertEqual(empty.lines, 2)
        XCTAssertEqual(empty.conversations, 0)
        // One byte that is not gzip.
        assertBadLine(line: 1, reason: "invalid JSON") { try Importer.importLines([0x1F], into: database) }
    }

    func testProgressIsReported() throws {
        let directory = try makeTemporaryDirectory(self)
        let database = try openDatabase(self, in: directory)
        var corpus = CorpusGenerator(seed: 11)
        corpus.addConversations(40)
        let path = directory + "/corpus.jsonl.gz"
        let compressed = try gzip(corpus.bytes)
        try Data(compressed).write(to: URL(fileURLWithPath: path))

        let reports = Recorder<ImportProgress>()
        var options = ImportOptions(skipBad: false) { reports.append($0) }
        options.progressInterval = 0
        let summary = try Importer.importFile(path: path, into: database, options: options)
        let all = reports.all
        XCTAssertEqual(all.count, 41, "every line with a zero interval, plus the end")
        XCTAssertEqual(all.map(\.lines), Array(1...40) + [40])
        XCTAssertTrue(all.allSatisfy { $0.totalBytes == compressed.count })
        XCTAssertEqual(all.last?.bytesRead, compressed.count)
        XCTAssertEqual(summary.bytesRead, compressed.count)

        // The default interval (0.1 s): a quick import reports about once, at the end.
        let throttled = Recorder<ImportProgress>()
        let other = try openDatabase(self, in: directory, name: "other.parley")
        try Importer.importLines(corpus.bytes, into: other, options: ImportOptions(skipBad: false) { throttled.append($0) })
        XCTAssertGreaterThanOrEqual(throttled.all.count, 1)
        XCTAssertLessThan(throttled.all.count, 20)
        XCTAssertEqual(throttled.all.last, ImportProgress(lines: 40, bytesRead: corpus.bytes.count, totalBytes: corpus.bytes.count))

        let exportReports = Recorder<ExportProgress>()
        var exportOptions = ExportOptions(conversations: nil) { exportReports.append($0) }
        exportOptions.progressInterval = 0
        let exported = try Exporter.exportBytes(from: other, options: exportOptions)
        XCTAssertEqual(exportReports.all.count, 41)
        XCTAssertEqual(exportReports.all.last, ExportProgress(conversations: 40, totalConversations: 40, bytesWritten: exported.count))
    }

    func testMadeUpTimestampsContinueAcrossConversations() throws {
        let directory = try makeTemporaryDirectory(self)
        let database = try openDatabase(self, in: directory)
        let input = [
            #"{"id": "a", "participants": ["u"], "messages": [{"sender": "u", "text": "1"}, {"sender": "u", "text": "x", "created_at": 5}, {"sender": "u", "text": "2"}]}"#,
            #"{"id": "bad", "participants": ["u"], "messages": [{"sender": "u", "text": "skipped", "role": "?"}]}"#,
            #"{"id": "b", "participants": ["u"], "messages": [{"sender": "u", "text": "3"}]}"#,
        ].joined(separator: "\n")
        var options = ImportOptions()
        options.skipBad = true
        options.baseTime = Timestamp(microseconds: 1_000_000_000)
        let summary = try Importer.importLines(bytes(input), into: database, options: options)
        XCTAssertEqual(summary.timestampsMadeUp, 3)
        XCTAssertEqual(summary.linesSkipped, 1)
        guard let a = try database.conversation(platform: "import", externalID: "a"),
            let b = try database.conversation(platform: "import", externalID: "b")
        else { return XCTFail("not imported") }
        XCTAssertEqual(try database.messages(in: a.id, .oldest(10)).map(\.createdAt.microseconds), [5, 1_000_000_000, 1_001_000_000])
        XCTAssertEqual(try database.messages(in: b.id, .oldest(10)).map(\.createdAt.microseconds), [1_002_000_000])
        XCTAssertEqual(a.createdAt.microseconds, 5)
        XCTAssertEqual(b.lastActivity.microseconds, 1_002_000_000)
    }

    func testStatusesAreSetAfterTheMessages() throws {
        let directory = try makeTemporaryDirectory(self)
        let database = try openDatabase(self, in: directory)
        let input = [
            #"{"id": "closed", "status": "closed", "participants": ["u"], "messages": [{"sender": "u", "text": "last words"}]}"#,
            #"{"id": "new", "status": "new", "participants": ["u"], "messages": [{"sender": "u", "text": "hi"}]}"#,
            #"{"id": "plain", "participants": ["u"], "messages": [{"sender": "u", "text": "hi"}]}"#,
            #"{"id": "empty", "participants": ["u"]}"#,
        ].joined(separator: "\n")
        try Importer.importLines(bytes(input), into: database)
        XCTAssertEqual(try database.conversation(platform: "import", externalID: "closed")?.status, .closed)
        XCTAssertEqual(try database.conversation(platform: "import", externalID: "closed")?.messageCount, 1)
        XCTAssertEqual(try database.conversation(platform: "import", externalID: "new")?.status, .new)
        XCTAssertEqual(try database.conversation(platform: "import", externalID: "plain")?.status, .active)
        XCTAssertEqual(try database.conversation(platform: "import", externalID: "empty")?.status, .new)
    }

    func testSendersMissingFromParticipantsAreAdded() throws {
        let directory = try makeTemporaryDirectory(self)
        let database = try openDatabase(self, in: directory)
        try database.upsertUser("known", displayName: "Known User")
        let input = #"{"id": "c", "participants": ["known"], "messages": [{"sender": "stranger", "text": "hi"}, {"sender": "known", "text": "who?"}]}"#
        let summary = try Importer.importLines(bytes(input), into: database)
        XCTAssertEqual(summary.usersCreated, 1)
        XCTAssertEqual(try database.conversation(platform: "import", externalID: "c")?.participants, ["known", "stranger"])
        XCTAssertEqual(try database.user("known")?.displayName, "Known User", "an existing user is left as it was")
    }
}
