// Every way a line can be bad: the error names the line and the reason, nothing of the bad
// conversation is stored, everything before it is; with skipBad the lines are counted instead.

import Foundation
import Parley
import XCTest
@testable import ParleyInterchange

final class ImportErrorTests: XCTestCase {
    private let good1 = #"{"id": "g1", "participants": ["alice", "bob"], "messages": [{"sender": "alice", "text": "hi"}]}"#
    private let good2 = #"{"id": "g2", "participants": ["bob"], "messages": [{"sender": "bob", "text": "yo"}]}"#

    /// Imports good1, good2, then `bad` as line 3 (or 4 with a blank line before it), expecting
    /// the import to stop there with `reason`, with exactly the two good conversations stored.
    private func assertStopsAtBadLine(
        _ bad: [UInt8], reason: String, blankLineBefore: Bool = false, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let directory = try makeTemporaryDirectory(self)
        let database = try openDatabase(self, in: directory)
        var input = bytes(good1 + "\n" + good2 + "\n")
        if blankLineBefore { input += bytes("   \r\n") }
        input += bad + bytes("\n" + #"{"id": "after", "participants": ["zed"]}"# + "\n")
        assertBadLine(line: blankLineBefore ? 4 : 3, reason: reason, file: file, at: line) {
            try Importer.importLines(input, into: database)
        }
        let stats = try database.stats()
        XCTAssertEqual(stats.conversations, 2, "only the lines before the bad one", file: file, line: line)
        XCTAssertEqual(stats.messages, 2, file: file, line: line)
        XCTAssertEqual(stats.users, 2, "no user of the bad line or after it", file: file, line: line)
        XCTAssertNil(try database.user("zed"), file: file, line: line)
        XCTAssertNil(try database.user("mallory"), file: file, line: line)
    }

    func testInvalidJSON() throws {
        try assertStopsAtBadLine(bytes(#"{"participants": ["mallory"], "messages": ["#), reason: "invalid JSON")
        try assertStopsAtBadLine(bytes(#"{"participants": ["mallory"]} trailing"#), reason: "invalid JSON: unexpected 't' after the value")
        try assertStopsAtBadLine(bytes(#"{"participants": ["mallory"], "participants": []}"#), reason: "duplicate key \"participants\"")
        try assertStopsAtBadLine(bytes("{\"participants\": [\"mal\u{01}lory\"]}"), reason: "control character 0x01")
        try assertStopsAtBadLine(bytes(#"["not", "an", "object"]"#), reason: "a line must be a JSON object, not an array")
        try assertStopsAtBadLine(bytes(#"{"participants": ["mallory"], "messages": [{"sender": "mallory", "text": "\ud800"}]}"#), reason: "unpaired surrogate")
        try assertStopsAtBadLine(bytes(#"{"participants": ["x"], "metadata": 1e999}"#), reason: "out of range")
        try assertStopsAtBadLine(bytes(String(repeating: "[", count: 200)), reason: "nested deeper than 128 levels")
        try assertStopsAtBadLine(bytes(#"{"participants": ["mallory"]}"#).dropLast().map { $0 }, reason: "unexpected end of line", blankLineBefore: true)
    }

    func testMissingOrMistypedFields() throws {
        try assertStopsAtBadLine(bytes(#"{"id": "x", "messages": [{"sender": "mallory", "text": "hi"}]}"#), reason: "missing participants")
        try assertStopsAtBadLine(bytes(#"{"participants": "mallory"}"#), reason: "participants must be an array of strings, not a string")
        try assertStopsAtBadLine(bytes(#"{"participants": ["mallory", 3]}"#), reason: "participants[1] must be a string")
        try assertStopsAtBadLine(bytes(#"{"participants": ["mallory"], "messages": [{"text": "hi"}]}"#), reason: "messages[0]: missing sender")
        try assertStopsAtBadLine(bytes(#"{"participants": ["mallory"], "messages": [{"sender": "mallory"}]}"#), reason: "messages[0]: missing text")
        try assertStopsAtBadLine(bytes(#"{"participants": ["mallory"], "messages": [{"sender": "mallory", "text": "a", "tokens": 1.5}]}"#), reason: "messages[0].tokens must be an integer")
        try assertStopsAtBadLine(bytes(#"{"participants": ["mallory"], "messages": [{"sender": "mallory", "text": "a", "tokens": -1}]}"#), reason: "tokens must be 0 to")
        try assertStopsAtBadLine(bytes(#"{"id": 12, "participants": ["mallory"]}"#), reason: "id must be a string, not a number")
        try assertStopsAtBadLine(bytes(#"{"platform": "slack", "participants": ["mallory"]}"#), reason: "platform and external_id must be given together")
        try assertStopsAtBadLine(bytes(#"{"participants": [""]}"#), reason: "participants[0] must be 1 to 255 bytes")
        try assertStopsAtBadLine(bytes(#"{"participants": []}"#), reason: ParleyError.noParticipants.description)
        try assertStopsAtBadLine(
            bytes(#"{"participants": ["mallory"], "messages": [{"sender": "mallory", "text": "a", "attachments": [{"uri": "u", "size": 1}]}]}"#),
            reason: "messages[0].attachments[0]: missing mime_type")
        try assertStopsAtBadLine(bytes("{\"participants\": [\"e\u{301}\", \"\u{e9}\"]}"), reason: "differ only in Unicode normalization")
    }

    func testUnknownRoleAndStatus() throws {
        try assertStopsAtBadLine(bytes(#"{"participants": ["mallory"], "messages": [{"sender": "mallory", "role": "wizard", "text": "a"}]}"#), reason: #"messages[0]: unknown role "wizard""#)
        try assertStopsAtBadLine(bytes(#"{"participants": ["mallory"], "messages": [{"sender": "mallory", "text": "a", "status": "lost"}]}"#), reason: #"unknown message status "lost""#)
        try assertStopsAtBadLine(bytes(#"{"participants": ["mallory"], "status": "deleted"}"#), reason: #"unknown status "deleted""#)
    }

    func testBadCreatedAt() throws {
        for bad in [#""2024-13-01T00:00:00Z""#, #""2023-02-29T00:00:00Z""#, #""2024-01-01 00:00:00""#, #""yesterday""#, "1.5", "true", #""2024-01-01T24:00:00Z""#] {
            try assertStopsAtBadLine(
                bytes(#"{"participants": ["mallory"], "messages": [{"sender": "mallory", "text": "a"}, {"sender": "mallory", "text": "b", "created_at": \#(bad)}]}"#),
                reason: "messages[1].created_at")
        }
    }

    func testInvalidUTF8() throws {
        let prefix = bytes(#"{"participants": ["mallory"], "messages": [{"sender": "mallory", "text": "bad "#)
        let suffix = bytes(#""}]}"#)
        try assertStopsAtBadLine(prefix + [0xFF, 0xFE] + suffix, reason: "messages[0].text is not valid UTF-8")
        try assertStopsAtBadLine(prefix + [0xC3] + suffix, reason: "messages[0].text is not valid UTF-8")
        try assertStopsAtBadLine(prefix + [0xED, 0xA0, 0x80] + suffix, reason: "not valid UTF-8")  // an encoded surrogate
        try assertStopsAtBadLine(bytes(#"{"participants": ["mallory"], "metadata": {""#) + [0xC0, 0xAF] + bytes(#"": 1}}"#), reason: "a key in metadata is not valid UTF-8")
        try assertStopsAtBadLine(bytes(#"{"participants": ["mallory"]} "#) + [0xE2, 0x80, 0x8B], reason: "invalid JSON")
    }

    func testDuplicateExternalID() throws {
        try assertStopsAtBadLine(bytes(#"{"id": "g1", "participants": ["mallory"]}"#), reason: #"platform "import" and external id "g1" exists"#)
        let directory = try makeTemporaryDirectory(self)
        let database = try openDatabase(self, in: directory)
        let input = bytes(#"{"platform": "slack", "external_id": "C1", "participants": ["a"]}"# + "\n" + #"{"platform": "slack", "external_id": "C1", "participants": ["b"]}"#)
        assertBadLine(line: 2, reason: ParleyError.duplicateExternalID(platform: "slack", externalID: "C1").description) {
            try Importer.importLines(input, into: database)
        }
        XCTAssertNil(try database.user("b"))
    }

    func testImportingTheSameFileTwice() throws {
        let directory = try makeTemporaryDirectory(self)
        let database = try openDatabase(self, in: directory)
        var corpus = CorpusGenerator(seed: 7)
        corpus.addConversations(20)
        try Importer.importLines(corpus.bytes, into: database)
        let before = try Exporter.exportBytes(from: database)
        assertBadLine(line: 1, reason: "exists") { try Importer.importLines(before, into: database) }
        var options = ImportOptions()
        options.skipBad = true
        let summary = try Importer.importLines(before, into: database, options: options)
        XCTAssertEqual(summary.linesSkipped, 20)
        XCTAssertEqual(summary.conversations, 0)
        assertSameLines(try Exporter.exportBytes(from: database), before, "nothing was duplicated")
    }

    /// A line that passes every check before the transaction and fails inside it, after its
    /// users and conversation were written: the transaction is rolled back whole.
    func testLineFailingHalfWayStoresNothing() throws {
        let huge = String(repeating: "x", count: Limits.maximumMessageBytes + 1)
        let bad = #"{"id": "half", "participants": ["mallory", "eve"], "messages": [{"sender": "mallory", "text": "fine"}, {"sender": "eve", "text": "\#(huge)"}]}"#
        try assertStopsAtBadLine(bytes(bad), reason: "exceeds the maximum")
        let longTitle = #"{"id": "half", "participants": ["mallory"], "title": "\#(String(repeating: "t", count: 5000))"}"#
        try assertStopsAtBadLine(bytes(longTitle), reason: "a title must be at most")
        let closedThenBad = #"{"id": "half", "participants": ["mallory"], "status": "closed", "messages": [{"sender": "mallory", "text": "a", "content_type": "\#(String(repeating: "c", count: 256))"}]}"#
        try assertStopsAtBadLine(bytes(closedThenBad), reason: "messages[0].content_type must be 1 to 255 bytes")
    }

    func testLineLongerThanTheLimit() throws {
        let directory = try makeTemporaryDirectory(self)
        let database = try openDatabase(self, in: directory)
        var options = ImportOptions()
        options.maximumLineBytes = 200
        let long = #"{"id": "long", "participants": ["a"], "messages": [{"sender": "a", "text": "\#(String(repeating: "y", count: 500))"}]}"#
        let input = bytes(good1 + "\n" + long + "\n" + good2)
        assertBadLine(line: 2, reason: "longer than 200 bytes") { try Importer.importLines(input, into: database, options: options) }
        options.skipBad = true
        let other = try openDatabase(self, in: directory, name: "other.parley")
        let summary = try Importer.importLines(input, into: other, options: options)
        XCTAssertEqual(summary.conversations, 2)
        XCTAssertEqual(summary.skipped, [SkippedLine(line: 2, reason: "the line is longer than 200 bytes")])
    }

    func testSkipBadCountsAndReportsTheFirstReasons() throws {
        let directory = try makeTemporaryDirectory(self)
        let database = try openDatabase(self, in: directory)
        var lines = [good1, "", #"{"participants": ["x"], "messages": [{"sender": "x", "role": "boss", "text": "a"}]}"#, good2]
        for index in 0..<12 { lines.append(#"{"oops": \#(index)}"#) }
        lines.append(#"{"id": "g3", "participants": ["carol"]}"#)
        var options = ImportOptions()
        options.skipBad = true
        options.maximumReportedSkips = 3
        let summary = try Importer.importLines(bytes(lines.joined(separator: "\r\n")), into: database, options: options)
        XCTAssertEqual(summary.conversations, 3)
        XCTAssertEqual(summary.messages, 2)
        XCTAssertEqual(summary.usersCreated, 3)
        XCTAssertEqual(summary.lines, 17)
        XCTAssertEqual(summary.linesSkipped, 13)
        XCTAssertEqual(
            summary.skipped,
            [
                SkippedLine(line: 3, reason: #"messages[0]: unknown role "boss""#),
                SkippedLine(line: 5, reason: "missing participants"),
                SkippedLine(line: 6, reason: "missing participants"),
            ])
        XCTAssertNil(try database.user("x"))
        XCTAssertNotNil(try database.conversation(platform: "import", externalID: "g3"))
    }

    func testCorruptAndTruncatedGzip() throws {
        let directory = try makeTemporaryDirectory(self)
        let database = try openDatabase(self, in: directory)
        var plain: [UInt8] = []
        for index in 0..<2000 { plain += bytes(#"{"id": "c\#(index)", "participants": ["u\#(index % 50)"], "messages": [{"sender": "u\#(index % 50)", "text": "message \#(index)"}]}"# + "\n") }
        let compressed = try gzip(plain)
        XCTAssertThrowsError(try Importer.importLines(Array(compressed.prefix(compressed.count / 2)), into: database)) { error in
            guard case InterchangeError.corruptCompressedInput(let reason) = error else { return XCTFail("got \(error)") }
            XCTAssertTrue(reason.contains("ends early"), reason)
        }
        let stored = try database.stats().conversations
        XCTAssertGreaterThan(stored, 0, "the lines before the damage were imported")
        XCTAssertLessThan(stored, 2000)

        // A damaged checksum in the trailer: every byte inflates, then the check fails.
        var damaged = compressed
        damaged[damaged.count - 8] ^= 0xFF
        let other = try openDatabase(self, in: directory, name: "other.parley")
        XCTAssertThrowsError(try Importer.importLines(damaged, into: other)) { error in
            guard case InterchangeError.corruptCompressedInput(let reason) = error else { return XCTFail("got \(error)") }
            XCTAssertTrue(reason.contains("incorrect data check"), reason)
        }
        // Bytes after the last gzip member that are not another member.
        let third = try openDatabase(self, in: directory, name: "third.parley")
        XCTAssertThrowsError(try Importer.importLines(compressed + bytes("garbage"), into: third)) { error in
            guard case InterchangeError.corruptCompressedInput = error else { return XCTFail("got \(error)") }
        }
        XCTAssertEqual(try third.stats().conversations, 2000)
    }

    func testMissingFile() throws {
        let directory = try makeTemporaryDirectory(self)
        let database = try openDatabase(self, in: directory)
        XCTAssertThrowsError(try Importer.importFile(path: directory + "/nope.jsonl", into: database)) { error in
            XCTAssertEqual(error as? InterchangeError, .io(path: directory + "/nope.jsonl", reason: "No such file or directory"))
        }
    }
}
