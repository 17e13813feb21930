import XCTest
@testable import Parley

/// An inbox row is decoded straight from a conversation record's bytes (`InboxRowCodec`). It must
/// give what decoding the whole record and building the row from it gives, for every member's
/// point of view; and on damaged bytes it must fail wherever that would fail (with the same
/// error), never succeed with a different row, and never trap.
final class InboxRowCodecTests: XCTestCase {
    private let id = ConversationID(uncheckedBytes: [UInt8](repeating: 9, count: 16))

    private func record(lastMessage: Bool) -> ConversationRecord {
        var record = ConversationRecord(
            platform: "telegram", externalID: "x-17", title: nil, status: .archived, createdAt: Timestamp(microseconds: 50),
            metadata: lastMessage ? nil : .object(["tier": .string("gold")]))
        record.lastActivity = Timestamp(microseconds: 700)
        record.messageCount = 14
        record.tokenTotal = 321
        record.members = [
            Member(handle: "ann", marker: MarkerRecord(
                position: MessagePosition(createdAt: Timestamp(microseconds: 600), id: MessageID(rawValue: 20)), readCount: 11)),
            Member(handle: "bot-web"),
            Member(handle: "z\u{E9}", marker: MarkerRecord(
                position: MessagePosition(createdAt: Timestamp(microseconds: 700), id: MessageID(rawValue: 23)), readCount: 14)),
        ]
        if lastMessage {
            record.lastPosition = MessagePosition(createdAt: Timestamp(microseconds: 700), id: MessageID(rawValue: 23))
            record.highWater = record.lastPosition
            record.lastMessage = MessageCodec.encodePending(
                Message(
                    id: MessageID(rawValue: 23), conversation: id, sender: "z\u{E9}", role: .assistant, contentType: "text/markdown",
                    text: "an answer of some length, with *markup*", attachments: [], tokens: 9, status: .complete,
                    createdAt: Timestamp(microseconds: 700), metadata: .object(["model": .string("m")])))
        }
        return record
    }

    /// The row the whole record gives, as the inbox built it before reading rows in one pass.
    private func rowFromRecord(_ bytes: [UInt8], user: String) throws -> InboxEntry {
        let record = try ConversationRecord(decoding: bytes, id: id)
        let readCount = record.memberIndex(user).flatMap { record.members[$0].marker?.readCount } ?? 0
        return InboxEntry(
            conversation: record.conversation(id: id), lastMessage: try record.newestMessage(id),
            unreadCount: Int(clamping: max(0, record.messageCount - readCount)))
    }

    private enum Outcome: Equatable {
        case row(InboxEntry)
        case failed(String)
    }

    private func outcome(_ body: () throws -> InboxEntry) -> Outcome {
        do { return .row(try body()) } catch { return .failed("\(error)") }
    }

    func testRowsMatchTheRecordDecoderForEveryMemberAndDamage() throws {
        for withMessage in [true, false] {
            let bytes = record(lastMessage: withMessage).encoded()
            // Members with and without markers, and a handle that is not a member.
            for user in ["ann", "bot-web", "z\u{E9}", "ze\u{301}", "nobody"] {
                let row = try InboxRowCodec.entry(decoding: bytes, id: id, user: Array(user.utf8))
                XCTAssertEqual(row, try rowFromRecord(bytes, user: user), user)
            }
            XCTAssertEqual(try InboxRowCodec.status(of: bytes, id: id), .archived)

            var damages: [[UInt8]] = (0..<bytes.count).map { Array(bytes[0..<$0]) } + [bytes + [0]]
            for index in bytes.indices {
                for flip: UInt8 in [0x01, 0x80, 0xFF] {
                    var damaged = bytes
                    damaged[index] ^= flip
                    damages.append(damaged)
                }
            }
            for damaged in damages {
                let mine = outcome { try InboxRowCodec.entry(decoding: damaged, id: id, user: Array("ann".utf8)) }
                let theirs = outcome { try rowFromRecord(damaged, user: "ann") }
                XCTAssertEqual(mine, theirs, "damaged record \(damaged)")
            }
        }
    }

    func testAnUnknownStatusByteIsACorruptRecord() {
        XCTAssertThrowsError(try InboxRowCodec.status(of: [], id: id))
        XCTAssertThrowsError(try InboxRowCodec.status(of: [0xEE, 1, 2], id: id)) { error in
            guard case ParleyError.corruptRecord(let tree, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(tree, Tree.conversations)
        }
    }
}
