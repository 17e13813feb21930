import XCTest
@testable import Parley

/// The conversation record keeps the participants and their read markers: its encoding, what a
/// damaged one gives, and the limit on participants.
final class ConversationRecordTests: XCTestCase {
    private let clock = ManualClock()
    private let id = ConversationID(uncheckedBytes: [UInt8](repeating: 7, count: 16))

    private func sampleRecord() -> ConversationRecord {
        var record = ConversationRecord(
            platform: "slack", externalID: "C1", title: "t", status: .active, createdAt: Timestamp(microseconds: 5),
            metadata: .object(["k": .int(1)]))
        record.messageCount = 9
        record.tokenTotal = 40
        record.lastPosition = MessagePosition(createdAt: Timestamp(microseconds: 90), id: MessageID(rawValue: 12))
        record.highWater = record.lastPosition
        record.lastMessage = MessageCodec.encodePending(
            Message(
                id: MessageID(rawValue: 12), conversation: id, sender: "bob", role: .user, contentType: "text/plain",
                text: "the newest", attachments: [], tokens: 3, status: .complete, createdAt: Timestamp(microseconds: 90),
                metadata: nil))
        record.members = [
            Member(handle: "alice", marker: MarkerRecord(
                position: MessagePosition(createdAt: Timestamp(microseconds: -3), id: MessageID(rawValue: 4)), readCount: 2)),
            Member(handle: "bob"),
            Member(handle: "e\u{301}", marker: MarkerRecord(
                position: MessagePosition(createdAt: Timestamp(microseconds: 90), id: MessageID(rawValue: 12)), readCount: 9)),
            Member(handle: "\u{E9}"),
        ]
        return record
    }

    func testRoundTripKeepsParticipantsAndMarkers() throws {
        let record = sampleRecord()
        XCTAssertEqual(try ConversationRecord(decoding: record.encoded(), id: id), record)
        XCTAssertEqual(try record.newestMessage(id)?.text, "the newest")
        XCTAssertEqual(record.memberIndex("bob"), 1)
        XCTAssertEqual(record.memberIndex("\u{E9}"), 3)
        XCTAssertEqual(record.memberIndex("e\u{301}"), 2, "canonically equivalent handles are different participants")
        XCTAssertNil(record.memberIndex("carol"))
        XCTAssertEqual(record.memberInsertionIndex("carol"), 2)
        XCTAssertEqual(record.memberInsertionIndex("a"), 0)
        XCTAssertEqual(record.memberInsertionIndex("\u{FF}"), 4)
    }

    private func assertCorruptRecord(_ bytes: [UInt8], _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try ConversationRecord(decoding: bytes, id: id), message, file: file, line: line) { error in
            guard case ParleyError.corruptRecord(let tree, _) = error else {
                return XCTFail("expected corruptRecord, got \(error)", file: file, line: line)
            }
            XCTAssertEqual(tree, Tree.conversations, file: file, line: line)
        }
    }

    /// Every truncation and every single-byte change of a record decodes or gives corruptRecord
    /// (never a trap), and lists that break the participants' order are refused.
    func testDamagedRecordsAreCorruptRecords() throws {
        let bytes = sampleRecord().encoded()
        for length in 0..<bytes.count { assertCorruptRecord(Array(bytes[0..<length]), "truncated to \(length)") }
        assertCorruptRecord(bytes + [0], "a trailing byte")
        for index in bytes.indices {
            for flip: UInt8 in [0x01, 0x80, 0xFF] {
                var damaged = bytes
                damaged[index] ^= flip
                do {
                    let decoded = try ConversationRecord(decoding: damaged, id: id)
                    // What decodes must still be a usable record: ordered, non-empty participants.
                    XCTAssertFalse(decoded.members.isEmpty)
                    for (a, b) in zip(decoded.members, decoded.members.dropFirst()) {
                        XCTAssertTrue(a.handle.utf8.lexicographicallyPrecedes(b.handle.utf8))
                    }
                } catch ParleyError.corruptRecord(let tree, _) {
                    XCTAssertEqual(tree, Tree.conversations)
                }
            }
        }
        var unordered = sampleRecord()
        unordered.members.swapAt(0, 1)
        assertCorruptRecord(unordered.encoded(), "participants out of order")
        var duplicated = sampleRecord()
        duplicated.members.insert(Member(handle: "bob"), at: 1)
        assertCorruptRecord(duplicated.encoded(), "a participant twice")
        var noCopy = sampleRecord()
        noCopy.lastMessage = nil
        assertCorruptRecord(noCopy.encoded(), "a newest position without the message's copy")
        var strayCopy = sampleRecord()
        strayCopy.lastPosition = nil
        assertCorruptRecord(strayCopy.encoded(), "a copy without a newest position")
        var empty = sampleRecord()
        empty.members = []
        assertCorruptRecord(empty.encoded(), "no participants")
        var tooMany = sampleRecord()
        tooMany.members = (0...Limits.maximumParticipants).map { Member(handle: String(format: "u%05d", $0)) }
        assertCorruptRecord(tooMany.encoded(), "more participants than the limit")
    }

    func testParticipantLimit() throws {
        let db = try Database.open(path: try makeTemporaryDirectory(self) + "/chat.parley", options: testOptions(clock: clock))
        let handles = (0...Limits.maximumParticipants).map { String(format: "u%05d", $0) }
        try db.write { chat in for handle in handles { try chat.upsertUser(handle) } }
        assertThrows(.invalidArgument("a conversation has at most \(Limits.maximumParticipants) participants")) {
            try db.createConversation(NewConversation(participants: handles))
        }
        XCTAssertEqual(try db.read { try $0.conversationCount() }, 0)
        let full = Array(handles.dropLast())
        let id = try db.createConversation(NewConversation(participants: full))
        assertThrows(.invalidArgument("a conversation has at most \(Limits.maximumParticipants) participants")) {
            try db.write { try $0.addParticipant(try XCTUnwrap(handles.last), to: id) }
        }
        XCTAssertEqual(try db.conversation(id)?.participants, full)
        // The full conversation works: an append moves every inbox entry, and the last
        // participant's inbox shows it.
        try db.append(NewMessage(sender: full[500], text: "hello all"), to: id)
        let inbox = try db.inbox(of: full[999])
        XCTAssertEqual(inbox.first?.lastMessage?.text, "hello all")
        XCTAssertEqual(inbox.first?.unreadCount, 1)
        XCTAssertEqual(try db.read { try $0.unreadCount(user: full[500], conversation: id) }, 0)
        XCTAssertEqual(try db.checkIntegrity().problems, [])
        try db.close()
    }

    /// The integrity check recomputes the markers kept in the record, checks every participant is
    /// a user and compares the record's copy of the newest message with the message.
    func testIntegrityCheckReadsMarkersAndParticipantsFromTheRecord() throws {
        let db = try Database.open(path: try makeTemporaryDirectory(self) + "/chat.parley", options: testOptions(clock: clock))
        let id = try db.write { chat -> ConversationID in
            for user in ["a", "b"] { try chat.upsertUser(user) }
            let id = try chat.createConversation(NewConversation(participants: ["a", "b"]))
            for i in 0..<5 { try chat.append(NewMessage(sender: i < 3 ? "a" : "b", text: "m\(i)"), to: id) }
            return id
        }
        XCTAssertEqual(try db.checkIntegrity().problems, [])
        var record = try XCTUnwrap(try db.read { try $0.record(id) })
        XCTAssertEqual(record.members.map { $0.marker?.readCount }, [3, 5])
        record.members[0].marker?.readCount = 4
        record.members.append(Member(handle: "ghost"))
        var newest = try XCTUnwrap(try record.newestMessage(id))
        newest.text = "not what was sent"
        record.lastMessage = MessageCodec.encodePending(newest)
        let damaged = record.encoded()
        try db.engine.write { try $0.put(Tree.conversations, id.bytes, damaged) }
        let problems = try db.checkIntegrity().problems
        XCTAssertTrue(problems.contains { $0.contains("a's read marker counts 4 read, 3 are at or before it") }, "\(problems)")
        XCTAssertTrue(problems.contains { $0.contains("participant \"ghost\" is not a user") }, "\(problems)")
        XCTAssertTrue(problems.contains { $0.hasPrefix("chat.inbox") }, "the ghost has no inbox entry: \(problems)")
        XCTAssertTrue(problems.contains { $0.contains("copy of the newest message differs") }, "\(problems)")
        try db.close()
    }
}
