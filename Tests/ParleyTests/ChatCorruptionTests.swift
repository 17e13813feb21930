import XCTest
@testable import Parley

/// Bad bytes in a message block: a typed error naming the conversation, other conversations
/// unaffected, and the store's maintenance not stopped by it.
final class ChatCorruptionTests: XCTestCase {
    private let clock = ManualClock()

    private func setUp(_ directory: String) throws -> (Database, ConversationID, ConversationID) {
        let db = try Database.open(path: directory + "/chat.parley", options: testOptions(clock: clock, blockTarget: 1024))
        let ids = try db.write { chat -> (ConversationID, ConversationID) in
            try chat.upsertUser("a")
            let first = try chat.createConversation(NewConversation(participants: ["a"]))
            let second = try chat.createConversation(NewConversation(participants: ["a"]))
            for i in 0..<200 {
                try chat.append(NewMessage(sender: "a", text: "first conversation, message \(i)"), to: first)
                try chat.append(NewMessage(sender: "a", text: "second conversation, message \(i)"), to: second)
            }
            return (first, second)
        }
        try db.checkpoint()
        return (db, ids.0, ids.1)
    }

    /// Rewrites one stored value through the engine, as a disk or a bug might.
    private func damage(_ db: Database, _ tree: String, _ id: ConversationID, _ change: (inout [UInt8]) -> Void) throws {
        try db.engine.write { transaction in
            guard let entry = try transaction.entries(tree, prefix: id.bytes).last else { return XCTFail("no block") }
            var value = entry.value
            change(&value)
            try transaction.put(tree, entry.key, value)
        }
    }

    private func assertCorruptBlock(_ id: ConversationID, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            guard case ParleyError.corruptBlock(let conversation, _) = error else {
                return XCTFail("expected corruptBlock, got \(error)", file: file, line: line)
            }
            XCTAssertEqual(conversation, id, file: file, line: line)
            XCTAssertTrue("\(error)".contains(id.description), file: file, line: line)
        }
    }

    func testDamagedBodiesAndHeadersAreNamedErrors() throws {
        for target in [Tree.blockData, Tree.blocks] {
            for offset in [0, 5, 17, -1] {
                let directory = try makeTemporaryDirectory(self)
                let (db, damaged, healthy) = try setUp(directory)
                try damage(db, target, damaged) { value in
                    let index = offset >= 0 ? min(offset, value.count - 1) : value.count - 1
                    value[index] ^= 0x5A
                }
                assertCorruptBlock(damaged) { _ = try db.messages(in: damaged, .newest(10)) }
                assertCorruptBlock(damaged) { _ = try db.read { try $0.messages(in: damaged, indices: 0..<500) } }
                XCTAssertEqual(try db.messages(in: healthy, .newest(3)).count, 3)
                XCTAssertEqual(try db.read { try $0.messageCount(in: healthy) }, 200)
                // New messages still go in, and a checkpoint seals the healthy conversation.
                try db.append(NewMessage(sender: "a", text: "later"), to: healthy)
                try db.append(NewMessage(sender: "a", text: "later"), to: damaged)
                try db.checkpoint()
                XCTAssertEqual(try db.messages(in: healthy, .newest(1)).first?.text, "later")
                // Deleting the damaged conversation still works.
                try db.deleteConversation(damaged)
                XCTAssertNil(try db.conversation(damaged))
                try db.close()
            }
        }
    }

    func testTruncatedAndGarbageBlocks() throws {
        let garbage: [[UInt8]] = [[], [1], [UInt8](repeating: 0xFF, count: 64), Array("not a block at all".utf8)]
        for bytes in garbage {
            for tree in [Tree.blockData, Tree.blocks] {
                let (db, damaged, healthy) = try setUp(try makeTemporaryDirectory(self))
                try damage(db, tree, damaged) { $0 = bytes }
                assertCorruptBlock(damaged) { _ = try db.messages(in: damaged, .newest(500)) }
                XCTAssertEqual(try db.messages(in: healthy, .oldest(500)).count, 200)
                try db.close()
            }
        }
    }

    /// A block whose LZ4 stream is damaged but whose checksum was recomputed (a bug, not a disk
    /// error) still fails to decode cleanly rather than trapping.
    func testDamagedCompressedStreamWithValidChecksum() throws {
        let (db, damaged, _) = try setUp(try makeTemporaryDirectory(self))
        let (key, header, body) = try db.engine.read { snapshot -> ([UInt8], BlockHeader, [UInt8]) in
            let entry = try XCTUnwrap(try snapshot.entries(Tree.blocks, prefix: damaged.bytes).first)
            let header = try BlockHeader(decoding: entry.value, conversation: damaged)
            return (entry.key, header, try XCTUnwrap(try snapshot.get(Tree.blockData, entry.key)))
        }
        XCTAssertNotEqual(header.codec, .raw)
        var rng = SystemRandomNumberGenerator()
        try db.read { reader in
            for _ in 0..<200 {
                var bad = body
                for _ in 0..<3 { bad[Int.random(in: 0..<bad.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
                var changed = header
                changed.bodyChecksum = CRC32C.checksum(bad)
                do {
                    let messages = try BlockCodec.decode(header: changed, body: bad, conversation: damaged, dictionaries: reader.dictionaries)
                    XCTAssertEqual(messages.count, header.count)
                } catch let error as ParleyError {
                    guard case .corruptBlock = error else { return XCTFail("got \(error)") }
                }
            }
        }
        _ = key
        try db.close()
    }

    /// Counts read from disk are bounded when decoded, so a damaged record with a huge count is a
    /// typed error where an append would otherwise overflow and trap.
    func testHugeStoredCountsAreCorruptRecordsNotOverflows() throws {
        let (db, id, _) = try setUp(try makeTemporaryDirectory(self))
        var record = try XCTUnwrap(try db.read { try $0.record(id) })
        record.messageCount = .max
        let damaged = record.encoded()
        try db.engine.write { try $0.put(Tree.conversations, id.bytes, damaged) }
        XCTAssertThrowsError(try db.append(NewMessage(sender: "a", text: "x"), to: id)) { error in
            guard case ParleyError.corruptRecord(let tree, _) = error else { return XCTFail("got \(error)") }
            XCTAssertEqual(tree, Tree.conversations)
        }
        var counters = try XCTUnwrap(try db.read { try $0.counters() })
        counters.nextMessageID = .max
        let badCounters = counters.encoded()
        try db.engine.write { try $0.put(Tree.meta, Key.counters, badCounters) }
        XCTAssertThrowsError(try db.stats()) { error in
            guard case ParleyError.corruptRecord(let tree, _) = error else { return XCTFail("got \(error)") }
            XCTAssertEqual(tree, Tree.meta)
        }
        try db.close()
    }
}
