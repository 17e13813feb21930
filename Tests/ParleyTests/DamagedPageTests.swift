import CParleySupport
import Foundation
import XCTest
@testable import Parley

/// Pages whose bytes were changed and whose checksums were made to match again (what a fuzzer or a
/// bug can produce): the store must answer with typed errors, and the integrity check must report
/// the damage, never trap. Regressions for two reproducers in Fuzz/Corpus.
final class DamagedPageTests: XCTestCase {
    private let pageSize = 4096

    /// Finds `needle` in the file's pages, lets `change` edit that page, and repairs its checksum.
    private func editPage(path: String, containing needle: [UInt8], _ change: (inout [UInt8], Int) -> Void) throws {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var found = false
        var page = 3
        while (page + 1) * pageSize <= bytes.count, !found {
            let start = page * pageSize
            let window = Array(bytes[start..<start + pageSize])
            if let at = firstIndex(of: needle, in: window) {
                var edited = window
                change(&edited, at)
                let crc = edited.withUnsafeBytes { page in
                    let body = UnsafeRawBufferPointer(rebasing: page[4...])
                    return parley_crc32c(0, body.baseAddress, body.count)
                }
                for i in 0..<4 { edited[i] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(i))) }
                bytes.replaceSubrange(start..<start + pageSize, with: edited)
                found = true
            }
            page += 1
        }
        XCTAssertTrue(found, "no page holds the bytes to damage")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    private func firstIndex(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard needle.count <= haystack.count else { return nil }
        for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] {
            if Array(haystack[i..<i + needle.count]) == needle { return i }
        }
        return nil
    }

    /// An index key rewritten so it no longer sorts where it is stored. Reads must give a typed
    /// error or an answer, and the integrity check must report the page. (The fuzzer's reproducer,
    /// Fuzz/Corpus/open/crash-participants-key-shorter-than-prefix, reached a prefix scan (of the
    /// participant tree the store had then) with a key shorter than the prefix, which was sliced by
    /// the prefix's length and trapped; `entries(_:prefix:)` now rejects any key without the
    /// prefix. The inbox is the prefix scan over user-visible keys today.)
    func testIndexKeyOutOfOrderIsReportedNotTrapped() throws {
        let path = try makeTemporaryDirectory(self) + "/chat.parley"
        var db = try Database.open(path: path)
        let id = try db.write { chat -> ConversationID in
            try chat.upsertUser("alice")
            try chat.upsertUser("bob")
            return try chat.createConversation(NewConversation(participants: ["alice", "bob"]))
        }
        let lastActivity = try XCTUnwrap(try db.conversation(id)).lastActivity
        try db.close()
        // Bob's inbox key: handle16 "bob", then the inverted last activity and the conversation.
        try editPage(path: path, containing: Key.inbox("bob", lastActivity, id)) { page, at in
            for i in at..<at + 5 { page[i] = 0xFF }
        }
        db = try Database.open(path: path)
        defer { try? db.close() }
        for user in ["alice", "bob"] {
            do {
                _ = try db.inbox(of: user)
                _ = try db.unreadCount(user: user)
            } catch ParleyError.corruptRecord {
                // A typed error is as good as an answer here.
            }
        }
        let result = try db.checkIntegrity()
        XCTAssertTrue(result.problems.contains { $0.contains("out of order") }, "\(result.problems)")
    }

    /// A user no conversation lists, with a record that does not decode: the check used to read
    /// only participants' records and call the store sound.
    func testIntegrityCheckDecodesEveryUserRecord() throws {
        let path = try makeTemporaryDirectory(self) + "/chat.parley"
        let db = try Database.open(path: path)
        defer { try? db.close() }
        try db.write { chat in
            try chat.upsertUser("alice")
            try chat.upsertUser("loner")
            _ = try chat.createConversation(NewConversation(participants: ["alice"]))
        }
        XCTAssertTrue(try db.checkIntegrity().isSound)
        try db.engine.write { try $0.put(Tree.users, Array("loner".utf8), [0xFF, 0xFF, 0xFF]) }
        XCTAssertThrowsError(try db.read { try $0.users() })
        let result = try db.checkIntegrity()
        XCTAssertTrue(result.problems.contains { $0.contains("loner") }, "\(result.problems)")
    }
}
