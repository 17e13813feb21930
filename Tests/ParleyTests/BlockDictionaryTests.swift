import XCTest
@testable import Parley
import ParleyEngine

/// The engine's SplitMix64: a seeded generator, so a failure replays.
private typealias SeededRandom = SplitMix64

/// Shared block dictionaries: the builder, the codec against a model, the store's use of them,
/// damage to a dictionary, and the refusal of other layout versions.
final class BlockDictionaryTests: XCTestCase {
    private let clock = ManualClock()
    private let conversation = ConversationID(bytes: Array(UInt8(1)...16))!

    // MARK: Generated chat

    private static let vocabulary: [String] = {
        let syllables = ["ka", "lo", "mi", "ne", "su", "ta", "ri", "po", "de", "an", "el", "ou", "ch", "ér", "日", "本"]
        var rng = SeededRandom(seed: 7)
        return (0..<600).map { _ in (0..<Int.random(in: 1...4, using: &rng)).map { _ in syllables.randomElement(using: &rng)! }.joined() }
    }()

    /// Words with a skew (the first ones far more often), separated by spaces and some punctuation.
    private func sentence(_ rng: inout SeededRandom) -> String {
        let count = Int.random(in: 1...20, using: &rng)
        var words: [String] = []
        for _ in 0..<count {
            let rank = Int(Double(Self.vocabulary.count) * pow(Double.random(in: 0..<1, using: &rng), 3))
            words.append(Self.vocabulary[min(rank, Self.vocabulary.count - 1)])
        }
        return words.joined(separator: rng.next() % 5 == 0 ? ", " : " ")
    }

    private func messages(_ count: Int, _ rng: inout SeededRandom) -> [Message] {
        var at: Int64 = 1_700_000_000_000_000
        var id: UInt64 = 1
        return (0..<count).map { index in
            at += Int64.random(in: 0...5_000_000, using: &rng)
            id += UInt64.random(in: 1...50, using: &rng)
            let metadata: Metadata? = rng.next() % 4 == 0 ? .object(["k": .int(Int64(index)), "s": .string("v")]) : nil
            let attachments = rng.next() % 8 == 0 ? [Attachment(uri: "s3://b/\(index)", mimeType: "image/png", size: 9, name: nil)] : []
            return Message(
                id: MessageID(rawValue: id), conversation: conversation, sender: ["u1", "bot", "ü"].randomElement(using: &rng)!,
                role: [.user, .assistant, .system, .tool].randomElement(using: &rng)!,
                contentType: rng.next() % 9 == 0 ? "text/markdown" : "text/plain", text: sentence(&rng), attachments: attachments,
                tokens: Int.random(in: 0...5000, using: &rng), status: .complete, createdAt: Timestamp(microseconds: at),
                metadata: metadata)
        }
    }

    private struct Fixed: BlockDictionaryLookup {
        var dictionaries: [UInt32: BlockDictionary]
        func dictionary(for reference: BlockHeader.DictionaryReference) throws -> BlockDictionary? { dictionaries[reference.id] }
    }

    private func assertCorruptBlock(_ id: ConversationID, _ fragment: String? = nil, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            guard case ParleyError.corruptBlock(let named, let reason) = error else {
                return XCTFail("expected corruptBlock, got \(error)", file: file, line: line)
            }
            XCTAssertEqual(named, id, file: file, line: line)
            if let fragment { XCTAssertTrue(reason.contains(fragment), "\(reason)", file: file, line: line) }
        }
    }

    // MARK: Builder

    func testBuilderIsDeterministicBoundedAndKeepsFrequentWords() throws {
        var rng = SeededRandom(seed: 1)
        let texts = (0..<4000).map { _ in Array(sentence(&rng).utf8) }
        let dictionary = try XCTUnwrap(BlockDictionaryBuilder.build(from: texts))
        XCTAssertLessThanOrEqual(dictionary.count, BlockDictionary.maximumBytes)
        XCTAssertGreaterThan(dictionary.count, BlockDictionary.maximumBytes / 2)
        XCTAssertEqual(BlockDictionaryBuilder.build(from: texts), dictionary)
        XCTAssertEqual(BlockDictionaryBuilder.build(from: texts, capacity: 1000)?.count ?? 0, 1000, accuracy: 64)
        // The most frequent word ends the dictionary (the best is laid out last).
        let best = " " + Self.vocabulary[0]
        XCTAssertTrue(String(decoding: dictionary.suffix(200), as: UTF8.self).contains(best))
        // Too little text, or nothing that recurs: no dictionary.
        XCTAssertNil(BlockDictionaryBuilder.build(from: Array(texts.prefix(10))))
        XCTAssertNil(BlockDictionaryBuilder.build(from: (0..<20000).map { Array("unique\($0)x".utf8) }, minimumSample: 1))
        XCTAssertNil(BlockDictionaryBuilder.build(from: []))
    }

    func testDictionaryShrinksSmallBlocks() throws {
        var rng = SeededRandom(seed: 2)
        let sample = (0..<4000).map { _ in Array(sentence(&rng).utf8) }
        let dictionary = BlockDictionary(id: 1, bytes: try XCTUnwrap(BlockDictionaryBuilder.build(from: sample)), madeAtBytes: 0)
        let plain = BlockCompressor(dictionary: nil)
        let shared = BlockCompressor(dictionary: dictionary)
        var plainBytes = 0
        var sharedBytes = 0
        for _ in 0..<50 {
            let block = messages(8, &rng)
            plainBytes += BlockCodec.encode(block, full: false, compressor: plain).header.storedLength
            sharedBytes += BlockCodec.encode(block, full: false, compressor: shared).header.storedLength
        }
        XCTAssertLessThan(Double(sharedBytes), Double(plainBytes) * 0.85, "\(sharedBytes) vs \(plainBytes)")
    }

    // MARK: Codec against a model

    /// Random blocks under random dictionaries (built, random bytes, one byte, none) decode to the
    /// messages encoded, header and body alike, and the same input encodes to the same bytes.
    func testRandomBlocksRoundTripUnderRandomDictionaries() throws {
        var rng = SeededRandom(seed: 3)
        let sample = (0..<3000).map { _ in Array(sentence(&rng).utf8) }
        let built = try XCTUnwrap(BlockDictionaryBuilder.build(from: sample))
        for round in 0..<150 {
            let bytes: [UInt8]?
            switch round % 4 {
            case 0: bytes = built
            case 1: bytes = (0..<Int.random(in: 1...BlockDictionary.maximumBytes, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            case 2: bytes = [UInt8.random(in: 0...255, using: &rng)]
            default: bytes = nil
            }
            let dictionary = bytes.map { BlockDictionary(id: UInt32.random(in: 1...UInt32.max, using: &rng), bytes: $0, madeAtBytes: 0) }
            let model = messages(Int.random(in: 1...120, using: &rng), &rng)
            let compressor = BlockCompressor(dictionary: dictionary)
            let block = BlockCodec.encode(model, full: rng.next() % 2 == 0, compressor: compressor)
            let header = try BlockHeader(decoding: block.header.encoded(), conversation: conversation)
            XCTAssertEqual(header, block.header)
            XCTAssertEqual(header.codec == .lz4Dictionary, header.dictionary != nil)
            if header.codec == .lz4Dictionary { XCTAssertEqual(header.dictionary, dictionary?.reference) }
            let lookup = Fixed(dictionaries: dictionary.map { [$0.id: $0] } ?? [:])
            let decoded = try BlockCodec.decode(header: header, body: block.body, conversation: conversation, dictionaries: lookup)
            XCTAssertEqual(decoded, model, "round \(round)")
            let again = BlockCodec.encode(decoded, full: header.full, compressor: compressor)
            XCTAssertEqual(again.header.encoded(), block.header.encoded())
            XCTAssertEqual(again.body, block.body)
        }
    }

    /// One compressor seals blocks of every size, small after large (its output buffer is reused
    /// and grown): each decodes to its messages, and its body holds no spare capacity, since the
    /// memtable, the sealing plan and the log all hold a body at its capacity.
    func testOneCompressorManyBlocksExactBodies() throws {
        var rng = SeededRandom(seed: 4)
        let sample = (0..<3000).map { _ in Array(sentence(&rng).utf8) }
        let dictionary = BlockDictionary(id: 5, bytes: try XCTUnwrap(BlockDictionaryBuilder.build(from: sample)), madeAtBytes: 0)
        for compressor in [BlockCompressor(dictionary: dictionary), BlockCompressor(dictionary: nil)] {
            let lookup = Fixed(dictionaries: [dictionary.id: dictionary])
            for round in 0..<60 {
                let count = round % 3 == 0 ? Int.random(in: 100...400, using: &rng) : Int.random(in: 1...12, using: &rng)
                let model = messages(count, &rng)
                let block = BlockCodec.encode(model, full: false, compressor: compressor)
                XCTAssertEqual(block.body.count, block.header.storedLength)
                XCTAssertLessThan(block.body.capacity, block.body.count + 64, "round \(round): \(block.body.capacity) for \(block.body.count)")
                let decoded = try BlockCodec.decode(header: block.header, body: block.body, conversation: conversation, dictionaries: lookup)
                XCTAssertEqual(decoded, model, "round \(round)")
            }
        }
    }

    /// A block decodes only against the dictionary it names: missing, replaced or damaged
    /// dictionaries, and damaged dictionary fields in the header, are corrupt blocks.
    func testWrongOrMissingDictionaryIsACorruptBlock() throws {
        var rng = SeededRandom(seed: 4)
        let sample = (0..<3000).map { _ in Array(sentence(&rng).utf8) }
        let bytes = try XCTUnwrap(BlockDictionaryBuilder.build(from: sample))
        let dictionary = BlockDictionary(id: 7, bytes: bytes, madeAtBytes: 0)
        let block = BlockCodec.encode(messages(30, &rng), full: true, compressor: BlockCompressor(dictionary: dictionary))
        XCTAssertEqual(block.header.codec, .lz4Dictionary)
        assertCorruptBlock(conversation, "missing") {
            _ = try BlockCodec.decode(header: block.header, body: block.body, conversation: conversation, dictionaries: NoBlockDictionaries())
        }
        var changed = bytes
        changed[changed.count / 2] ^= 0x55
        let replaced = BlockDictionary(id: 7, bytes: changed, madeAtBytes: 0)
        assertCorruptBlock(conversation, "not the one") {
            _ = try BlockCodec.decode(header: block.header, body: block.body, conversation: conversation, dictionaries: Fixed(dictionaries: [7: replaced]))
        }
        // Header fields naming another id or checksum (checksums recomputed).
        let changes: [(inout BlockHeader) -> Void] = [{ $0.dictionary?.id = 8 }, { $0.dictionary?.checksum ^= 1 }]
        for change in changes {
            var header = block.header
            change(&header)
            let reread = try BlockHeader(decoding: header.encoded(), conversation: conversation)
            assertCorruptBlock(conversation) {
                _ = try BlockCodec.decode(header: reread, body: block.body, conversation: conversation, dictionaries: Fixed(dictionaries: [7: dictionary]))
            }
        }
        // Every truncation of the encoded header is a corrupt block, never a trap.
        let encoded = block.header.encoded()
        for length in 0..<encoded.count {
            assertCorruptBlock(conversation) { _ = try BlockHeader(decoding: Array(encoded.prefix(length)), conversation: self.conversation) }
        }
        // A body decoded against a wrong dictionary of the right checksum cannot happen; against
        // damaged stream bytes it fails cleanly (the checksum recomputed, as a bug would).
        for _ in 0..<200 {
            var bad = block.body
            for _ in 0..<3 { bad[Int.random(in: 0..<bad.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
            var header = block.header
            header.bodyChecksum = CRC32C.checksum(bad)
            do {
                _ = try BlockCodec.decode(header: header, body: bad, conversation: conversation, dictionaries: Fixed(dictionaries: [7: dictionary]))
            } catch let error as ParleyError {
                guard case .corruptBlock(let named, _) = error, named == conversation else { return XCTFail("got \(error)") }
            }
        }
    }

    func testDictionaryRecordRoundTripAndDamage() throws {
        let dictionary = BlockDictionary(id: 3, bytes: Array("a dictionary of words words words".utf8), madeAtBytes: 123_456)
        let encoded = dictionary.encoded()
        XCTAssertEqual(try BlockDictionary(decoding: encoded, id: 3), dictionary)
        for index in encoded.indices {
            for bit in 0..<8 {
                var bad = encoded
                bad[index] ^= 1 << bit
                if let decoded = try? BlockDictionary(decoding: bad, id: 3) {
                    // Only the creation size is not covered by the checksum; it changes nothing a block reads.
                    XCTAssertEqual(decoded.bytes, dictionary.bytes)
                    XCTAssertNotEqual(decoded.madeAtBytes, dictionary.madeAtBytes)
                }
            }
        }
        for length in 0..<encoded.count { XCTAssertThrowsError(try BlockDictionary(decoding: Array(encoded.prefix(length)), id: 3)) }
        XCTAssertThrowsError(try BlockDictionary(decoding: encoded + [0], id: 3))
    }

    // MARK: The store

    private func fill(_ db: Database, conversations: Int, messages count: Int, seed: UInt64) throws -> [ConversationID] {
        var rng = SeededRandom(seed: seed)
        let ids = try db.write { chat -> [ConversationID] in
            try chat.upsertUser("a")
            try chat.upsertUser("b")
            return try (0..<conversations).map { _ in try chat.createConversation(NewConversation(participants: ["a", "b"])) }
        }
        for index in 0..<count {
            clock.tick()
            let text = sentence(&rng)
            _ = try db.append(NewMessage(sender: index % 2 == 0 ? "a" : "b", text: text), to: ids[index % ids.count])
        }
        return ids
    }

    private func dictionaryCount(_ db: Database) throws -> UInt64 { try db.engine.read { try $0.count(Tree.dictionaries) } }

    private func codecs(_ db: Database) throws -> [BlockHeader.Codec] {
        try db.engine.read { snapshot in
            try snapshot.entries(Tree.blocks, from: [], to: nil).map { entry in
                try BlockHeader(decoding: entry.value, conversation: ConversationID(bytes: Array(entry.key.prefix(16)))!).codec
            }
        }
    }

    /// The first checkpoint with enough text builds a dictionary and seals against it; the
    /// messages read back the same before and after a reopen (a cold cache), and the check is sound.
    func testStoreBuildsAndUsesADictionary() throws {
        let directory = try makeTemporaryDirectory(self)
        var options = testOptions(clock: clock, blockTarget: 1024)
        options.dictionaryMinimumSample = 4096
        var db = try Database.open(path: directory + "/chat.parley", options: options)
        let ids = try fill(db, conversations: 20, messages: 30, seed: 5)
        try db.checkpoint()
        XCTAssertEqual(try dictionaryCount(db), 0, "too little text for a dictionary")
        let more = try fill(db, conversations: 20, messages: 800, seed: 6)
        try db.checkpoint()
        XCTAssertEqual(try dictionaryCount(db), 1)
        XCTAssertTrue(try codecs(db).contains(.lz4Dictionary))
        let before = try (ids + more).map { try db.messages(in: $0, .oldest(1000)) }
        XCTAssertEqual(before.reduce(0) { $0 + $1.count }, 830)
        try db.close()
        db = try Database.open(path: directory + "/chat.parley", options: options)
        XCTAssertEqual(try (ids + more).map { try db.messages(in: $0, .oldest(1000)) }, before)
        let check = try db.checkIntegrity()
        XCTAssertTrue(check.isSound, "\(check.problems)")
        try db.close()
    }

    /// As the store grows, new dictionaries are made (few: each after a 16-fold growth) and
    /// blocks made under older ones still read.
    func testDictionariesAreRebuiltAsTheStoreGrows() throws {
        let directory = try makeTemporaryDirectory(self)
        var options = testOptions(clock: clock, blockTarget: 1024)
        options.dictionaryMinimumSample = 256
        let db = try Database.open(path: directory + "/chat.parley", options: options)
        var all: [ConversationID] = []
        for round in 0..<6 {
            all += try fill(db, conversations: 3, messages: 20 << round, seed: UInt64(10 + round))
            try db.checkpoint()
        }
        let made = try dictionaryCount(db)
        XCTAssertGreaterThanOrEqual(made, 2)
        XCTAssertLessThanOrEqual(made, 4)
        let counts = try all.map { try db.messages(in: $0, .oldest(5000)).count }
        XCTAssertEqual(counts.reduce(0, +), (0..<6).reduce(0) { $0 + (20 << $1) })
        let check = try db.checkIntegrity()
        XCTAssertTrue(check.isSound, "\(check.problems)")
        try db.close()
    }

    /// A damaged dictionary record makes the blocks that use it corrupt blocks naming their
    /// conversation (never a trap or wrong messages), the integrity check reports it, later
    /// sealing goes on under a new dictionary, and deleting the conversations still works.
    func testDamagedDictionaryIsReportedAndSealingGoesOn() throws {
        let directory = try makeTemporaryDirectory(self)
        let options = testOptions(clock: clock, blockTarget: 1024)
        var db = try Database.open(path: directory + "/chat.parley", options: options)
        let ids = try fill(db, conversations: 4, messages: 400, seed: 8)
        try db.checkpoint()
        XCTAssertEqual(try dictionaryCount(db), 1)
        try db.close()
        // Damage the record as a bug would (the page checksum stays valid), then open cold.
        db = try Database.open(path: directory + "/chat.parley", options: options)
        try db.engine.write { transaction in
            let key = Key.dictionary(1)
            var value = try XCTUnwrap(try transaction.get(Tree.dictionaries, key))
            value[value.count / 2] ^= 0xFF
            try transaction.put(Tree.dictionaries, key, value)
        }
        for id in ids { assertCorruptBlock(id) { _ = try db.messages(in: id, .oldest(1000)) } }
        let check = try db.checkIntegrity()
        XCTAssertTrue(check.problems.contains { $0.contains(Tree.dictionaries) }, "\(check.problems)")
        XCTAssertTrue(check.problems.contains { $0.contains("dictionary 1") }, "\(check.problems)")
        // New conversations seal under a new dictionary and read back.
        let fresh = try fill(db, conversations: 2, messages: 200, seed: 9)
        try db.checkpoint()
        XCTAssertEqual(try dictionaryCount(db), 2)
        for id in fresh { XCTAssertEqual(try db.messages(in: id, .oldest(1000)).count, 100) }
        for id in ids { try db.deleteConversation(id) }
        try db.close()
    }

    /// A store of layout version 1 (participants and markers in trees of their own, no
    /// dictionaries) or of a version newer than this code knows is refused by name.
    func testOtherLayoutVersionsAreRefused() throws {
        let directory = try makeTemporaryDirectory(self)
        let options = testOptions(clock: clock, blockTarget: 1024)
        for version: UInt8 in [1, 3] {
            let db = try Database.open(path: directory + "/chat.parley", options: options)
            try db.engine.write { try $0.put(Tree.meta, Key.version, [version]) }
            try db.close()
            assertThrows(.unsupportedStoreVersion(UInt64(version))) {
                try Database.open(path: directory + "/chat.parley", options: options)
            }
            // Nothing was changed by the refusal: the file still says the same version.
            let engine = try Engine.open(path: directory + "/chat.parley")
            XCTAssertEqual(try engine.read { try $0.get(Tree.meta, Key.version) }, [version])
            try engine.write { try $0.put(Tree.meta, Key.version, [2]) }
            try engine.close()
        }
    }
}
