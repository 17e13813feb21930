// Export → import → export gives the same bytes, for generated corpora with every feature of
// the format, plain and gzipped, from memory and from files.

import Foundation
import Parley
import XCTest
@testable import ParleyInterchange

final class RoundTripTests: XCTestCase {
    func testGeneratedCorpusRoundTripsByteForByte() throws {
        let directory = try makeTemporaryDirectory(self)
        var corpus = CorpusGenerator(seed: 0x5EED_0001)
        corpus.addConversations(120)

        let first = try openDatabase(self, in: directory, name: "first.parley")
        let summary = try Importer.importLines(corpus.bytes, into: first)
        XCTAssertEqual(summary.conversations, 120)
        XCTAssertEqual(summary.messages, corpus.messageCount)
        XCTAssertEqual(summary.timestampsMadeUp, corpus.missingTimes)
        XCTAssertEqual(summary.usersCreated, corpus.handles.count)
        XCTAssertEqual(summary.lines, 120)
        XCTAssertEqual(summary.linesSkipped, 0)
        XCTAssertEqual(try first.stats().messages, corpus.messageCount)

        let exported = try Exporter.exportBytes(from: first)
        XCTAssertEqual(exported.split(separator: 0x0A).count, 120)

        let second = try openDatabase(self, in: directory, name: "second.parley")
        let again = try Importer.importLines(exported, into: second)
        XCTAssertEqual(again.conversations, 120)
        XCTAssertEqual(again.timestampsMadeUp, 0, "an export has every created_at")
        let reexported = try Exporter.exportBytes(from: second)
        assertSameLines(reexported, exported)

        // And once more, from a file, to a file.
        let third = try openDatabase(self, in: directory, name: "third.parley")
        let path = directory + "/export.jsonl"
        let fileSummary = try Exporter.exportFile(from: second, path: path)
        XCTAssertEqual(fileSummary.bytesWritten, exported.count)
        XCTAssertEqual(fileSummary.conversations, 120)
        XCTAssertEqual(fileSummary.messages, corpus.messageCount)
        try Importer.importFile(path: path, into: third)
        assertSameLines(try Exporter.exportBytes(from: third), exported)
    }

    func testSeveralSeedsRoundTrip() throws {
        let directory = try makeTemporaryDirectory(self)
        for seed in UInt64(1)...5 {
            var corpus = CorpusGenerator(seed: seed)
            corpus.addConversations(30)
            let first = try openDatabase(self, in: directory, name: "a\(seed).parley")
            try Importer.importLines(corpus.bytes, into: first)
            let exported = try Exporter.exportBytes(from: first)
            let second = try openDatabase(self, in: directory, name: "b\(seed).parley")
            try Importer.importLines(exported, into: second)
            assertSameLines(try Exporter.exportBytes(from: second), exported, "seed \(seed)")
        }
    }

    func testImportedValuesAreStoredAsWritten() throws {
        let directory = try makeTemporaryDirectory(self)
        let database = try openDatabase(self, in: directory)
        let line = #"""
            {"id": "sgd/dev/1_00000", "title": "T\u00e9st \ud83d\ude00", "participants": ["USER"], "metadata": {"k": [1, 2.5, null, true, "s"]},
             "messages": [{"sender": "USER", "text": "Hi \"there\"\n", "created_at": "2024-03-01T12:30:05.25+01:00"},
                          {"sender": "SYSTEM", "role": "assistant", "text": "", "created_at": 1700000000000001, "tokens": 7,
                           "content_type": "text/markdown", "status": "incomplete", "metadata": null,
                           "attachments": [{"uri": "s3://b/k", "mime_type": "image/png", "size": 1234, "name": "cat.png"}]},
                          {"sender": "USER", "role": "tool", "text": "made up"}]}
            """#
        let summary = try Importer.importLines(bytes(line.replacingOccurrences(of: "\n", with: " ")), into: database)
        XCTAssertEqual(summary.usersCreated, 2)
        XCTAssertEqual(summary.timestampsMadeUp, 1)
        guard let conversation = try database.conversation(platform: "import", externalID: "sgd/dev/1_00000") else {
            return XCTFail("the foreign id was not kept as (import, id)")
        }
        XCTAssertEqual(conversation.title, "Tést 😀")
        XCTAssertEqual(conversation.participants, ["SYSTEM", "USER"])
        XCTAssertEqual(conversation.metadata, ["k": [1, 2.5, .null, true, "s"]])
        XCTAssertEqual(conversation.status, .active)
        let messages = try database.messages(in: conversation.id, .oldest(10))
        XCTAssertEqual(messages.count, 3)
        // 2024-03-01T11:30:05.25Z, and the made-up one at the base time (2020-01-01).
        XCTAssertEqual(messages.map(\.createdAt.microseconds), [1_577_836_800_000_000, 1_700_000_000_000_001, 1_709_292_605_250_000])
        XCTAssertEqual(messages[0].role, .tool)
        XCTAssertEqual(messages[0].text, "made up")
        XCTAssertEqual(messages[1].text, "")
        XCTAssertEqual(messages[1].tokens, 7)
        XCTAssertEqual(messages[1].contentType, "text/markdown")
        XCTAssertEqual(messages[1].status, .incomplete)
        XCTAssertEqual(messages[1].metadata, .null)
        XCTAssertEqual(messages[1].attachments, [Attachment(uri: "s3://b/k", mimeType: "image/png", size: 1234, name: "cat.png")])
        XCTAssertEqual(messages[2].text, "Hi \"there\"\n")
        XCTAssertNil(messages[2].metadata)
        XCTAssertEqual(messages[2].tokens, ChatWriter.estimateTokens("Hi \"there\"\n"))
        XCTAssertEqual(conversation.createdAt.microseconds, 1_577_836_800_000_000, "the earliest message's time")

        let exported = String(decoding: try Exporter.exportBytes(from: database), as: UTF8.self)
        XCTAssertEqual(
            exported,
            #"{"id":"sgd/dev/1_00000","title":"Tést 😀","status":"active","participants":["SYSTEM","USER"],"metadata":{"k":[1,2.5,null,true,"s"]},"messages":["#
                + #"{"sender":"USER","role":"tool","text":"made up","created_at":1577836800000000,"tokens":2},"#
                + #"{"sender":"SYSTEM","role":"assistant","text":"","created_at":1700000000000001,"content_type":"text/markdown","tokens":7,"status":"incomplete","metadata":null,"attachments":[{"uri":"s3://b/k","mime_type":"image/png","size":1234,"name":"cat.png"}]},"#
                + #"{"sender":"USER","role":"user","text":"Hi \"there\"\n","created_at":1709292605250000,"tokens":3}]}"# + "\n")
    }

    func testIdentityRule() throws {
        let directory = try makeTemporaryDirectory(self)
        let database = try openDatabase(self, in: directory)
        let native = try database.write { chat -> ConversationID in
            try chat.upsertUser("u")
            return try chat.createConversation(NewConversation(participants: ["u"]))
        }
        let lines = """
            {"platform": "slack", "external_id": "C1", "id": "ignored", "participants": ["u"]}
            {"id": "3F2B8C1E-7D4A-4E21-9C3B-0A1B2C3D4E5F", "participants": ["u"]}
            {"participants": ["u"]}
            """
        try Importer.importLines(bytes(lines), into: database)
        XCTAssertNotNil(try database.conversation(platform: "slack", externalID: "C1"))
        let fromUUID = try database.conversation(platform: "import", externalID: "3F2B8C1E-7D4A-4E21-9C3B-0A1B2C3D4E5F")
        XCTAssertNotNil(fromUUID)
        XCTAssertNotEqual(fromUUID?.id.description, "3f2b8c1e-7d4a-4e21-9c3b-0a1b2c3d4e5f", "a UUID id is not reused")
        XCTAssertEqual(try database.stats().conversations, 4)

        let exported = String(decoding: try Exporter.exportBytes(from: database), as: UTF8.self)
        let lineList = exported.split(separator: "\n").map(String.init)
        XCTAssertEqual(lineList.count, 4)
        XCTAssertTrue(lineList.contains(#"{"platform":"slack","external_id":"C1","status":"new","participants":["u"],"messages":[]}"#))
        XCTAssertTrue(lineList.contains(#"{"id":"3F2B8C1E-7D4A-4E21-9C3B-0A1B2C3D4E5F","status":"new","participants":["u"],"messages":[]}"#))
        XCTAssertTrue(lineList.contains(#"{"id":"\#(native)","status":"new","participants":["u"],"messages":[]}"#))

        // Re-importing elsewhere keeps the native conversation's UUID as its foreign id.
        let other = try openDatabase(self, in: directory, name: "other.parley")
        try Importer.importLines(bytes(exported), into: other)
        XCTAssertNotNil(try other.conversation(platform: "import", externalID: native.description))
        XCTAssertEqual(String(decoding: try Exporter.exportBytes(from: other), as: UTF8.self), exported)

        // Imported back into the database it came from, every line is a duplicate, the native
        // conversation's too (its id is its own UUID).
        var options = ImportOptions()
        options.skipBad = true
        let again = try Importer.importLines(bytes(exported), into: database, options: options)
        XCTAssertEqual(again.linesSkipped, 4)
        XCTAssertTrue(again.skipped.contains(SkippedLine(line: lineList.firstIndex(of: #"{"id":"\#(native)","status":"new","participants":["u"],"messages":[]}"#).map { $0 + 1 } ?? 0, reason: "conversation \(native) exists in this database")))
        XCTAssertEqual(try database.stats().conversations, 4)
    }

    func testExtremeTimestampsRoundTrip() throws {
        let directory = try makeTemporaryDirectory(self)
        let database = try openDatabase(self, in: directory)
        let line = #"{"id": "t", "participants": ["u"], "messages": [{"sender": "u", "text": "max", "created_at": 9223372036854775807}, "#
            + #"{"sender": "u", "text": "min", "created_at": -9223372036854775808}, {"sender": "u", "text": "zero", "created_at": 0}, "#
            + #"{"sender": "u", "text": "year 0", "created_at": "0000-01-01T00:00:00Z"}, {"sender": "u", "text": "same", "created_at": 0}]}"#
        try Importer.importLines(bytes(line), into: database)
        let exported = try Exporter.exportBytes(from: database)
        XCTAssertEqual(
            String(decoding: exported, as: UTF8.self),
            #"{"id":"t","status":"active","participants":["u"],"messages":["#
                + #"{"sender":"u","role":"user","text":"min","created_at":-9223372036854775808,"tokens":1},"#
                + #"{"sender":"u","role":"user","text":"year 0","created_at":-62167219200000000,"tokens":2},"#
                + #"{"sender":"u","role":"user","text":"zero","created_at":0,"tokens":1},"#
                + #"{"sender":"u","role":"user","text":"same","created_at":0,"tokens":1},"#
                + #"{"sender":"u","role":"user","text":"max","created_at":9223372036854775807,"tokens":1}]}"# + "\n")
        let other = try openDatabase(self, in: directory, name: "other.parley")
        try Importer.importLines(exported, into: other)
        assertSameLines(try Exporter.exportBytes(from: other), exported)
    }

    func testExportOfChosenConversationsAndPaging() throws {
        let directory = try makeTemporaryDirectory(self)
        let database = try openDatabase(self, in: directory)
        var corpus = CorpusGenerator(seed: 99)
        corpus.addLine(#"{"id": "big", "participants": ["a", "b"], "messages": ["# + (0..<2500).map { #"{"sender": "\#($0 % 2 == 0 ? "a" : "b")", "text": "m\#($0)"}"# }.joined(separator: ",") + "]}")
        corpus.addConversations(10)
        try Importer.importLines(corpus.bytes, into: database)
        guard let big = try database.conversation(platform: "import", externalID: "big") else { return XCTFail("not imported") }

        // Small pages and small pieces give the same bytes as the defaults.
        var options = ExportOptions()
        options.pageSize = 7
        options.bufferBytes = 100
        var pieces = 0
        var joined: [UInt8] = []
        let summary = try Exporter.export(from: database, options: options) { piece in
            pieces += 1
            joined += piece
        }
        XCTAssertGreaterThan(pieces, 100)
        assertSameLines(joined, try Exporter.exportBytes(from: database))
        XCTAssertEqual(summary.messages, corpus.messageCount + 2500)

        let only = try Exporter.exportBytes(from: database, options: ExportOptions(conversations: [big.id]))
        let text = String(decoding: only, as: UTF8.self)
        XCTAssertTrue(text.hasPrefix(#"{"id":"big","status":"active","participants":["a","b"],"messages":[{"sender":"a","role":"user","text":"m0","created_at":1577836800000000"#))
        XCTAssertTrue(text.hasSuffix(#"{"sender":"b","role":"user","text":"m2499","created_at":1577839299000000,"tokens":2}]}"# + "\n"))

        let missing = ConversationID("00000000-0000-4000-8000-000000000000")
        XCTAssertThrowsError(try Exporter.exportBytes(from: database, options: ExportOptions(conversations: missing.map { [$0] })))
    }
}
