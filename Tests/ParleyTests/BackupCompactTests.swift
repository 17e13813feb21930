import XCTest
@testable import Parley

final class BackupCompactTests: XCTestCase {
    private let clock = ManualClock()

    private func populate(_ db: Database, conversations: Int = 40, messages: Int = 60, noise: Int = 0) throws -> [ConversationID] {
        var rng = SystemRandomNumberGenerator()
        func text(_ i: Int) -> String {
            "message \(i) " + String((0..<noise).map { _ in "0123456789abcdef".randomElement(using: &rng) ?? "0" })
        }
        let ids = try db.write { chat -> [ConversationID] in
            try chat.upsertUser("a")
            try chat.upsertUser("b")
            return try (0..<conversations).map { _ in try chat.createConversation(NewConversation(participants: ["a", "b"])) }
        }
        for id in ids {
            try db.append(contentsOf: (0..<messages).map { NewMessage(sender: $0 % 2 == 0 ? "a" : "b", text: text($0)) }, to: id)
        }
        return ids
    }

    private func snapshotOf(_ db: Database, _ ids: [ConversationID]) throws -> [[Message]] {
        try ids.map { try db.messages(in: $0, .oldest(10_000)) }
    }

    func testBackupWhileInUseIsConsistentAndOpens() throws {
        let directory = try makeTemporaryDirectory(self)
        let db = try Database.open(path: directory + "/live.parley", options: testOptions(clock: clock))
        let ids = try populate(db)
        let before = try snapshotOf(db, ids)
        // Pending and sealed messages both: half the conversations get more after a checkpoint.
        try db.checkpoint()
        for id in ids.prefix(20) { try db.append(NewMessage(sender: "a", text: "late"), to: id) }
        let expected = try snapshotOf(db, ids)
        var reported: UInt64 = 0
        try db.backup(to: directory + "/copy.parley") { reported = $0 }
        XCTAssertGreaterThan(reported, 0)
        // Changes after the backup are not in it.
        try db.append(NewMessage(sender: "a", text: "after the backup"), to: ids[0])
        XCTAssertThrowsError(try db.backup(to: directory + "/copy.parley"))
        try db.close()

        let copy = try Database.open(path: directory + "/copy.parley", options: testOptions(clock: clock))
        XCTAssertEqual(try snapshotOf(copy, ids), expected)
        XCTAssertNotEqual(expected, before)
        XCTAssertEqual(try copy.checkIntegrity().problems, [])
        try copy.close()
    }

    func testCompactShrinksAndKeepsEverything() throws {
        let directory = try makeTemporaryDirectory(self)
        let path = directory + "/chat.parley"
        var db = try Database.open(path: path, options: testOptions(clock: clock))
        let ids = try populate(db, conversations: 60, messages: 120, noise: 400)
        try db.checkpoint()
        for id in ids.suffix(45) { try db.deleteConversation(id) }
        let kept = Array(ids.prefix(15))
        let expected = try snapshotOf(db, kept)
        try db.close()

        let (before, after) = try Database.compact(path: path, options: testOptions(clock: clock))
        XCTAssertLessThan(after, before)
        db = try Database.open(path: path, options: testOptions(clock: clock))
        XCTAssertEqual(try snapshotOf(db, kept), expected)
        XCTAssertEqual(try db.checkIntegrity().problems, [])
        XCTAssertEqual(try db.stats().conversations, 15)
        try db.close()
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + "-compact"))
    }
}
