import CParleySupport
import Foundation
import XCTest
@testable import Parley

/// `Message` keeps its fields in a shared object: it must still behave as a plain value (a set
/// changes one copy, equality and hashing follow the fields, the coded form is the fields'), and
/// its object must stay in the allocator's size class the decoded-block cache's budget assumes.
final class MessageValueTests: XCTestCase {
    private let conversation = ConversationID(bytes: Array(0..<16))!

    private func message(
        contentType: String = "text/plain", attachments: [Attachment] = [], metadata: Metadata? = nil
    ) -> Message {
        Message(
            id: MessageID(rawValue: 42), conversation: conversation, sender: "alice", role: .assistant,
            contentType: contentType, text: "a text longer than fifteen bytes", attachments: attachments, tokens: 9,
            status: .incomplete, createdAt: Timestamp(microseconds: 1_700_000_000_000_000), metadata: metadata)
    }

    private let attachment = Attachment(uri: "s3://bucket/a.png", mimeType: "image/png", size: 1234, name: "a.png")

    func testFieldsReadBackWithAndWithoutTheRareFields() {
        let plain = message()
        XCTAssertEqual(plain.id, MessageID(rawValue: 42))
        XCTAssertEqual(plain.conversation, conversation)
        XCTAssertEqual(plain.sender, "alice")
        XCTAssertEqual(plain.role, .assistant)
        XCTAssertEqual(plain.contentType, "text/plain")
        XCTAssertEqual(plain.text, "a text longer than fifteen bytes")
        XCTAssertEqual(plain.attachments, [])
        XCTAssertEqual(plain.tokens, 9)
        XCTAssertEqual(plain.status, .incomplete)
        XCTAssertEqual(plain.createdAt, Timestamp(microseconds: 1_700_000_000_000_000))
        XCTAssertNil(plain.metadata)
        XCTAssertEqual(plain.position, MessagePosition(createdAt: plain.createdAt, id: plain.id))

        let rich = message(contentType: "text/markdown", attachments: [attachment], metadata: .object(["k": .int(1)]))
        XCTAssertEqual(rich.contentType, "text/markdown")
        XCTAssertEqual(rich.attachments, [attachment])
        XCTAssertEqual(rich.metadata, .object(["k": .int(1)]))
        XCTAssertEqual(rich.text, plain.text)
    }

    func testSettingAFieldChangesOnlyThatCopy() {
        let original = message()
        var copy = original
        copy.text = "changed"
        copy.contentType = "text/markdown"
        copy.metadata = .string("m")
        copy.attachments = [attachment]
        copy.tokens = 1
        XCTAssertEqual(original, message(), "a copy's change reached the original")
        XCTAssertEqual(original.text, "a text longer than fifteen bytes")
        XCTAssertNil(original.metadata)
        XCTAssertEqual(copy.text, "changed")
        XCTAssertEqual(copy.contentType, "text/markdown")
        XCTAssertEqual(copy.metadata, .string("m"))
        XCTAssertEqual(copy.attachments, [attachment])
        XCTAssertEqual(copy.tokens, 1)
        XCTAssertNotEqual(copy, original)
        // Back to the defaults: equal again to a message that never had them.
        copy.contentType = "text/plain"
        copy.metadata = nil
        copy.attachments = []
        copy.text = original.text
        copy.tokens = original.tokens
        XCTAssertEqual(copy, original)
        XCTAssertEqual(copy.hashValue, original.hashValue)
    }

    func testEqualityAndHashFollowEveryField() {
        let base = message()
        XCTAssertEqual(base, message(), "two messages built from the same fields differ")
        XCTAssertEqual(base.hashValue, message().hashValue)
        let changes: [(String, (inout Message) -> Void)] = [
            ("id", { $0.id = MessageID(rawValue: 43) }),
            ("conversation", { $0.conversation = ConversationID(bytes: Array(repeating: 7, count: 16))! }),
            ("sender", { $0.sender = "bob" }),
            ("role", { $0.role = .user }),
            ("contentType", { $0.contentType = "text/html" }),
            ("text", { $0.text = "other" }),
            ("attachments", { $0.attachments = [self.attachment] }),
            ("tokens", { $0.tokens = 10 }),
            ("status", { $0.status = .complete }),
            ("createdAt", { $0.createdAt = Timestamp(microseconds: 1) }),
            ("metadata", { $0.metadata = .null }),
        ]
        for (field, change) in changes {
            var other = base
            change(&other)
            XCTAssertNotEqual(other, base, "a different \(field) compared equal")
            XCTAssertEqual(Set([base, other]).count, 2, field)
        }
    }

    func testCodedFormIsTheFields() throws {
        for original in [message(), message(contentType: "text/markdown", attachments: [attachment], metadata: .array([.bool(true)]))] {
            let data = try JSONEncoder().encode(original)
            XCTAssertEqual(try JSONDecoder().decode(Message.self, from: data), original)
            let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            var expected: Set<String> = ["id", "conversation", "sender", "role", "contentType", "text", "attachments", "tokens", "status", "createdAt"]
            if original.metadata != nil { expected.insert("metadata") }
            XCTAssertEqual(Set(object.keys), expected)
            XCTAssertEqual(object["text"] as? String, original.text)
            XCTAssertEqual(object["contentType"] as? String, original.contentType)
        }
    }

    func testStorageStaysInItsSizeClass() throws {
        // The decoded-block cache charges each message `Message.storageBytes`; this is the class
        // the rare fields were moved out for.
        XCTAssertEqual(MemoryLayout<Message>.size, MemoryLayout<Int>.size)
        XCTAssertLessThanOrEqual(Message.storageBytes, 112)
        XCTAssertLessThanOrEqual(DecodedBlockCache.messageOverhead, 176, "a cached message costs more than before the storage object")
        // What the allocator really takes per storage object: the heap in use grows by the chunk
        // size (header included) for each. The text and conversation are shared, so the objects
        // are the only allocations. A thread of an earlier test may allocate meanwhile, so the
        // measure gets three tries; a wrong size class misses all three.
        let text = "a text longer than fifteen bytes"
        let count = 1_000
        var measured: [Double] = []
        for _ in 0..<3 {
            var objects: [MessageStorage] = []
            objects.reserveCapacity(count)
            let before = parley_heap_in_use()
            guard before >= 0 else { throw XCTSkip("the C library reports no heap statistics") }
            for i in 0..<count {
                objects.append(
                    MessageStorage(
                        id: MessageID(rawValue: UInt64(i)), conversation: conversation, sender: "alice", role: .user,
                        contentType: "text/plain", text: text, attachments: [], tokens: 1, status: .complete,
                        createdAt: Timestamp(microseconds: 1), metadata: nil))
            }
            measured.append(Double(parley_heap_in_use() - before) / Double(count))
            XCTAssertTrue(objects.allSatisfy { $0.extras == nil }, "a message with default rare fields allocated their object")
            withExtendedLifetime(objects) {}
            if abs(measured[measured.count - 1] - Double(Message.storageBytes)) <= 4 { break }
        }
        XCTAssertTrue(
            measured.contains { abs($0 - Double(Message.storageBytes)) <= 4 },
            "storage objects took \(measured) bytes each; the cache charges \(Message.storageBytes)")
    }
}
