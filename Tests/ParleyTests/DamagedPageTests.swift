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

    /// A participant key rewritten so it no longer sorts where it is stored. Reads must give a
    /// typed error or an answer, and the integrity check must report the page. (The fuzzer's
    /// reproducer, Fuzz/Corpus/open/crash-participants-key-shorter-than-prefix, reached the
    /// participant scan with a key shorter than the conversation prefix, which was sliced by the
    /// prefix's length and trapped; `entries(_:prefix:)` now rejects any key without the prefix.)
    func testParticipantKeyOutOfOrderIsReportedNotTrapped() throws {
        let path = try makeTemporaryDirectory(self) + "/chat.parley"
        var db = try Database.open(path: path)
        let id = try db.write { chat -> ConversationID in
            try chat.upsertUser("alice")
            try chat.upsertUser("bob")
            return try chat.createConversation(NewConversation(participants: ["alice", "bob"]))
        }
        try db.close()
        // The key of bob's participant entry: conversation id, then the handle.
        try editPage(path: path, containing: id.bytes + Array("bob".utf8)) { page, at in
            for i in at..<at + 16 { page[i] = 0 }
        }
        db = try Database.open(path: path)
        defer { try? db.close() }
        do {
            _ = try db.conversation(id)
        } catch ParleyError.corruptRecord {
            // A typed error is as good as an answer here.
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
