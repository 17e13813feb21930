import Foundation
import XCTest
@testable import Parley
import ParleyEngine

/// The engine's SplitMix64: a seeded generator, so a failure replays.
private typealias SealRandom = SplitMix64

/// Sealing planned on a snapshot and applied later: whatever was committed in between, every
/// message is exactly once in pending-or-blocks, blocks never overlap, and the totals stay exact.
final class SnapshotSealingTests: XCTestCase {
    private let clock = ManualClock()
    private static let words = ["hello", "there", "model", "token", "reply", "bonjour", "日本", "ok", "sure", "prompt", "cache"]

    private func open(_ directory: String) throws -> Database {
        try Database.open(path: directory + "/chat.parley", options: testOptions(clock: clock, blockTarget: 1024))
    }

    private func makeConversation(_ db: Database) throws -> ConversationID {
        try db.write { chat in
            for handle in ["a", "b"] { try chat.upsertUser(handle) }
            return try chat.createConversation(NewConversation(participants: ["a", "b"]))
        }
    }

    private func text(_ rng: inout SealRandom) -> String {
        (0..<Int.random(in: 1...30, using: &rng)).map { _ in Self.words[Int.random(in: 0..<Self.words.count, using: &rng)] }
            .joined(separator: " ")
    }

    private func pendingKeys(_ db: Database) throws -> Set<[UInt8]> {
        try db.engine.read { Set(try $0.entries(Tree.pending, from: [], to: nil).map(\.key)) }
    }

    private func pendingValueBytes(_ db: Database) throws -> Int {
        try db.engine.read { try $0.entries(Tree.pending, from: [], to: nil).reduce(0) { $0 + $1.value.count } }
    }

    private func plan(_ db: Database) throws -> SealPlan { try db.read { try $0.planSealing() } }
    private func apply(_ db: Database, _ plan: SealPlan) throws -> SealOutcome { try db.write { try $0.applySealing(plan) } }

    /// Every conversation of `model` reads back exactly as modelled, deleted ones are gone, and the
    /// integrity check (blocks, overlaps, locators, markers, counters) finds nothing.
    private func assertMatches(
        _ db: Database, _ model: [ConversationID: [Message]], deleted: Set<ConversationID> = [],
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        for (id, messages) in model {
            let stored = try db.messages(in: id, MessageQuery(order: .oldestFirst))
            XCTAssertEqual(stored, messages.sorted { $0.position < $1.position }, "conversation \(id)", file: file, line: line)
        }
        for id in deleted { XCTAssertNil(try db.conversation(id), file: file, line: line) }
        let check = try db.checkIntegrity()
        XCTAssertEqual(check.problems, [], file: file, line: line)
    }

    // MARK: Randomized interleaving

    func testPlanWritesApplyAgainstAModel() throws {
        var deferred = 0
        for seed in UInt64(1)...40 { deferred += try runInterleaving(seed: seed) }
        XCTAssertGreaterThan(deferred, 0, "some passes left conversations pending by choice")
    }

    /// Returns how many conversations the plans left pending by choice (deferred).
    private func runInterleaving(seed: UInt64) throws -> Int {
        var deferredConversations = 0
        var rng = SealRandom(seed: seed)
        let directory = try makeTemporaryDirectory(self)
        var db = try open(directory)
        var model: [ConversationID: [Message]] = [:]
        var deleted: Set<ConversationID> = []
        for _ in 0..<3 { model[try makeConversation(db)] = [] }

        func write(_ rng: inout SealRandom) throws {
            let live = model.keys.sorted { $0.bytes.lexicographicallyPrecedes($1.bytes) }
            guard let id = live.randomElement(using: &rng) else {
                model[try makeConversation(db)] = []
                return
            }
            switch Int.random(in: 0..<100, using: &rng) {
            case 0..<35:  // in order
                var batch: [NewMessage] = []
                for _ in 0..<Int.random(in: 1...6, using: &rng) {
                    clock.tick()
                    batch.append(NewMessage(sender: Bool.random(using: &rng) ? "a" : "b", text: text(&rng)))
                }
                model[id, default: []] += try db.append(contentsOf: batch, to: id)
            case 35..<55:  // out of order: among or before the sealed blocks
                let back = Double(Int.random(in: 1...40_000, using: &rng))
                let message = NewMessage(sender: "a", text: text(&rng), createdAt: clock.now.adding(seconds: -back))
                model[id, default: []].append(try db.append(message, to: id))
            case 55..<65:  // purge around a stored message's time
                guard let pivot = model[id]?.randomElement(using: &rng) else { return }
                let days = Double(clock.now.microseconds - pivot.createdAt.microseconds) / 86_400_000_000
                let cutoff = clock.now.adding(seconds: -days * 86_400)
                try db.purgeMessages(olderThanDays: days)
                for key in model.keys { model[key]?.removeAll { $0.createdAt < cutoff } }
            case 65..<75:
                guard let message = model[id]?.randomElement(using: &rng) else { return }
                try db.markRead(user: Bool.random(using: &rng) ? "a" : "b", conversation: id, through: message.id)
            case 75..<80:
                try db.archiveConversations(inactiveForDays: Double(Int.random(in: 0...3, using: &rng)) / 24)
            case 80..<88:
                model[try makeConversation(db)] = []
            case 88..<93:
                try db.deleteConversation(id)
                model[id] = nil
                deleted.insert(id)
            default:  // another sealing pass in between
                try db.write { _ = try $0.sealPending() }
            }
        }

        for round in 0..<14 {
            clock.advance(seconds: 900)
            for _ in 0..<Int.random(in: 1...8, using: &rng) { try write(&rng) }
            if round % 5 == 4 { try db.checkpoint() }
            // Some passes may leave conversations pending, as an automatic checkpoint does.
            let deferral = [0, 0, 64, 512, 1 << 20][Int.random(in: 0..<5, using: &rng)]
            let plan = try db.read { try $0.planSealing(deferringUpTo: deferral) }
            deferredConversations += plan.deferred.count
            let before = try pendingKeys(db)
            let between = Int.random(in: 0...5, using: &rng)
            for _ in 0..<between { try write(&rng) }
            let outcome = try apply(db, plan)

            // What the plan consumed is gone for every conversation it did not skip; skipped
            // ones are left exactly as the writes in between left them.
            let after = try pendingKeys(db)
            var sealed = 0
            for conversation in plan.conversations {
                if outcome.skipped[conversation.id] != nil { continue }
                sealed += conversation.pending.count
                for entry in conversation.pending { XCTAssertFalse(after.contains(entry.key), "seed \(seed)") }
            }
            XCTAssertEqual(outcome.sealed, sealed, "seed \(seed)")
            if between == 0 {
                // Nothing changed since the snapshot: nothing is skipped, and only what the pass
                // deferred (within its limit) stays pending.
                XCTAssertEqual(outcome.skipped, [:], "seed \(seed)")
                XCTAssertEqual(outcome.sealed + after.count, before.count, "seed \(seed)")
                XCTAssertLessThanOrEqual(try pendingValueBytes(db), deferral, "seed \(seed)")
                if deferral == 0 { XCTAssertEqual(after, [], "seed \(seed)") }
            }
            try assertMatches(db, model, deleted: deleted)
        }
        // The next pass, with nothing in between, seals whatever stayed pending.
        try db.checkpoint()
        XCTAssertEqual(try pendingKeys(db), [], "seed \(seed)")
        try assertMatches(db, model, deleted: deleted)
        try db.close()
        db = try open(directory)
        try assertMatches(db, model, deleted: deleted)
        try db.close()
        return deferredConversations
    }

    // MARK: One test per reason to skip

    func testPurgedPendingMessageSkipsItsConversationOnly() throws {
        let db = try open(try makeTemporaryDirectory(self))
        let (purgedID, otherID) = (try makeConversation(db), try makeConversation(db))
        var rng = SealRandom(seed: 11)
        var model: [ConversationID: [Message]] = [purgedID: [], otherID: []]
        for id in [purgedID, otherID] {
            for _ in 0..<5 {
                clock.tick()
                model[id, default: []].append(try db.append(NewMessage(sender: "a", text: text(&rng)), to: id))
            }
        }
        clock.advance(seconds: 86_400)
        for id in [purgedID, otherID] {
            model[id, default: []].append(try db.append(NewMessage(sender: "b", text: text(&rng)), to: id))
        }
        let plan = try plan(db)
        // Purge only the first conversation's old messages, still pending.
        let purged = try db.write { try $0.purge(purgedID, before: clock.now.adding(seconds: -3_600)) }
        XCTAssertEqual(purged, 5)
        model[purgedID]?.removeFirst(5)
        let outcome = try apply(db, plan)
        XCTAssertEqual(outcome.skipped, [purgedID: .pendingChanged])
        XCTAssertEqual(outcome.sealed, 6)
        XCTAssertEqual(try pendingKeys(db).count, 1)
        try assertMatches(db, model)
        try db.checkpoint()
        XCTAssertEqual(try pendingKeys(db), [])
        try assertMatches(db, model)
        try db.close()
    }

    func testDeletedConversationIsSkippedAndLeavesNoBlocks() throws {
        let db = try open(try makeTemporaryDirectory(self))
        let (gone, kept) = (try makeConversation(db), try makeConversation(db))
        var model: [ConversationID: [Message]] = [:]
        for id in [gone, kept] {
            clock.tick()
            model[id] = [try db.append(NewMessage(sender: "a", text: "bye for now"), to: id)]
        }
        let plan = try plan(db)
        try db.deleteConversation(gone)
        model[gone] = nil
        let outcome = try apply(db, plan)
        XCTAssertEqual(outcome.skipped, [gone: .pendingChanged])
        XCTAssertEqual(try db.engine.read { try $0.entries(Tree.blocks, prefix: gone.bytes).count }, 0)
        try assertMatches(db, model, deleted: [gone])
        try db.close()
    }

    func testChangedBlockListSkipsTheConversation() throws {
        let db = try open(try makeTemporaryDirectory(self))
        let id = try makeConversation(db)
        var rng = SealRandom(seed: 12)
        var model: [Message] = []
        for _ in 0..<40 {
            clock.tick()
            model.append(try db.append(NewMessage(sender: "a", text: text(&rng)), to: id))
        }
        try db.checkpoint()
        XCTAssertEqual(try pendingKeys(db), [])
        clock.advance(seconds: 86_400)
        for _ in 0..<3 { model.append(try db.append(NewMessage(sender: "b", text: text(&rng)), to: id)) }
        let plan = try plan(db)
        // A purge that reaches only sealed messages: the pending ones the plan took are intact,
        // but the blocks it would rewrite or append after are not the ones it saw.
        let cutoff = model[20].createdAt
        let purged = try db.write { try $0.purge(id, before: cutoff) }
        XCTAssertEqual(purged, 20)
        model.removeFirst(20)
        let outcome = try apply(db, plan)
        XCTAssertEqual(outcome.skipped, [id: .blocksChanged])
        XCTAssertEqual(outcome.sealed, 0)
        XCTAssertEqual(try pendingKeys(db).count, 3)
        try assertMatches(db, [id: model])
        try db.checkpoint()
        XCTAssertEqual(try pendingKeys(db), [])
        try assertMatches(db, [id: model])
        try db.close()
    }

    func testTakenDictionaryIDSkipsEverything() throws {
        let db = try open(try makeTemporaryDirectory(self))
        let id = try makeConversation(db)
        var rng = SealRandom(seed: 13)
        var model: [Message] = []
        for _ in 0..<60 {
            clock.tick()
            model.append(try db.append(NewMessage(sender: "a", text: text(&rng)), to: id))
        }
        let plan = try plan(db)
        let planned = try XCTUnwrap(plan.newDictionary, "enough pending text for a first dictionary")
        XCTAssertEqual(planned.id, 1)
        // Someone else stored a dictionary under that id meanwhile: blocks compressed against the
        // planned one must not be written, nor may the stored one be replaced.
        let other = BlockDictionary(id: 1, bytes: Array("another dictionary entirely".utf8), madeAtBytes: 0)
        try db.write { try $0.put(Tree.dictionaries, Key.dictionary(1), other.encoded()) }
        let outcome = try apply(db, plan)
        XCTAssertEqual(outcome.skipped, [id: .dictionaryChanged])
        XCTAssertEqual(outcome.sealed, 0)
        XCTAssertEqual(try db.engine.read { try $0.get(Tree.dictionaries, Key.dictionary(1)) }, other.encoded())
        XCTAssertEqual(try pendingKeys(db).count, 60)
        try assertMatches(db, [id: model])
        try db.checkpoint()
        XCTAssertEqual(try pendingKeys(db), [])
        try assertMatches(db, [id: model])
        try db.close()
    }

    func testTwoPlansOfOneSnapshotApplyOnce() throws {
        let db = try open(try makeTemporaryDirectory(self))
        let id = try makeConversation(db)
        var rng = SealRandom(seed: 14)
        var model: [Message] = []
        for _ in 0..<30 {
            clock.tick()
            model.append(try db.append(NewMessage(sender: "a", text: text(&rng)), to: id))
        }
        let (first, second) = try db.read { (try $0.planSealing(), try $0.planSealing()) }
        XCTAssertEqual(try apply(db, first).sealed, 30)
        let outcome = try apply(db, second)
        XCTAssertEqual(outcome.sealed, 0)
        XCTAssertNotNil(outcome.skipped[id])
        XCTAssertLessThanOrEqual(try db.engine.read { try $0.count(Tree.dictionaries) }, 1)
        try assertMatches(db, [id: model])
        try db.close()
    }

    /// Pending messages that join a good block and a damaged one of the same conversation: the
    /// whole conversation stays pending (sealing it in part would leave the messages that joined
    /// the good block both in it and pending), and the good block is left as it was.
    func testDamagedBlockLeavesTheWholeConversationPending() throws {
        let db = try open(try makeTemporaryDirectory(self))
        let id = try makeConversation(db)
        var rng = SealRandom(seed: 17)
        var sent: [Message] = []
        for _ in 0..<80 {
            clock.tick()
            sent.append(try db.append(NewMessage(sender: "a", text: text(&rng)), to: id))
        }
        try db.checkpoint()
        let blocks = try db.engine.read { try $0.entries(Tree.blocks, prefix: id.bytes) }
        XCTAssertGreaterThanOrEqual(blocks.count, 3)
        // Out of order into the first block and into the last one, whose body is then damaged.
        let (damagedKey, damagedHeader) = try XCTUnwrap(blocks.last)
        let last = try BlockHeader(decoding: damagedHeader, conversation: id)
        XCTAssertGreaterThanOrEqual(last.count, 2)
        for time in [sent[1].createdAt, last.first.createdAt] {
            try db.append(NewMessage(sender: "b", text: "late", createdAt: time), to: id)
        }
        try db.engine.write { try $0.put(Tree.blockData, damagedKey, Array("not a block".utf8)) }
        let before = try pendingKeys(db)
        XCTAssertEqual(before.count, 2)
        let plan = try plan(db)
        XCTAssertEqual(plan.conversations.count, 0)
        try db.checkpoint()
        XCTAssertEqual(try pendingKeys(db), before)
        XCTAssertEqual(try db.engine.read { try $0.entries(Tree.blocks, prefix: id.bytes) }.map(\.value), blocks.map(\.value))
        try db.close()
    }

    // MARK: Appends beside planning

    func testMessagesAppendedAfterTheSnapshotStayPending() throws {
        let db = try open(try makeTemporaryDirectory(self))
        let id = try makeConversation(db)
        var rng = SealRandom(seed: 15)
        var model: [Message] = []
        for _ in 0..<25 {
            clock.tick()
            model.append(try db.append(NewMessage(sender: "a", text: text(&rng)), to: id))
        }
        try db.checkpoint()
        for _ in 0..<5 {
            clock.tick()
            model.append(try db.append(NewMessage(sender: "a", text: text(&rng)), to: id))
        }
        let plan = try plan(db)
        // In order after everything, and out of order inside the range the plan rewrites.
        clock.tick()
        let late = try db.append(NewMessage(sender: "b", text: "after the snapshot"), to: id)
        let early = try db.append(NewMessage(sender: "b", text: "back in time", createdAt: model[26].createdAt), to: id)
        model += [late, early]
        let outcome = try apply(db, plan)
        XCTAssertEqual(outcome.skipped, [:])
        XCTAssertEqual(outcome.sealed, 5)
        XCTAssertEqual(try pendingKeys(db), [Key.message(id, late.position), Key.message(id, early.position)])
        try assertMatches(db, [id: model])
        try db.checkpoint()
        XCTAssertEqual(try pendingKeys(db), [])
        try assertMatches(db, [id: model])
        try db.close()
    }

    /// The checkpoint's own sealing (`maintain`) holds no writer gate while it plans: a writer on
    /// another thread commits in the middle of planning. Were the gate held, the writer would
    /// wait for the plan and the plan for the writer; the bounded wait turns that into a failure.
    func testWriterCommitsWhileTheCheckpointPlans() throws {
        let db = try open(try makeTemporaryDirectory(self))
        let ids = [try makeConversation(db), try makeConversation(db)]
        var rng = SealRandom(seed: 16)
        var model: [ConversationID: [Message]] = [:]
        for id in ids {
            for _ in 0..<10 {
                clock.tick()
                model[id, default: []].append(try db.append(NewMessage(sender: "a", text: text(&rng)), to: id))
            }
        }
        let appended = SharedLocked<Message?>(nil)
        var calls = 0
        var committed = false
        try db.maintain(afterPlanningConversation: {
            calls += 1
            guard calls == 1 else { return }
            let done = DispatchSemaphore(value: 0)
            let thread = Thread {
                appended.withLock { $0 = try? db.append(NewMessage(sender: "b", text: "written while planning"), to: ids[0]) }
                done.signal()
            }
            thread.start()
            committed = done.wait(timeout: .now() + 300) == .success
        })
        XCTAssertEqual(calls, 2)
        XCTAssertTrue(committed, "the writer could not commit while the plan was made")
        let message = try XCTUnwrap(appended.withLock { $0 })
        model[ids[0], default: []].append(message)
        // The plan's snapshot predates it: it alone stays pending.
        XCTAssertEqual(try pendingKeys(db), [Key.message(ids[0], message.position)])
        try assertMatches(db, model)
        try db.checkpoint()
        XCTAssertEqual(try pendingKeys(db), [])
        try assertMatches(db, model)
        try db.close()
    }
}
