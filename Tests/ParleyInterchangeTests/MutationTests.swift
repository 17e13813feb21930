// Random damage to valid lines: every outcome is a stored conversation or a bad line that
// stored nothing, never a crash or another kind of error (what the fuzz target will check at
// scale).

import Foundation
import Parley
import XCTest
@testable import ParleyInterchange

final class MutationTests: XCTestCase {
    func testMutatedLinesAreStoredWholeOrRefusedWhole() throws {
        let directory = try makeTemporaryDirectory(self)
        let database = try openDatabase(self, in: directory)
        var corpus = CorpusGenerator(seed: 2024)
        corpus.addConversations(40)
        var random = SeededGenerator(seed: 77)
        let interesting: [UInt8] = Array(#"{}[]",:\u0123456789-+.eE tfn"#.utf8) + [0x00, 0x0A, 0x0D, 0x7F, 0x80, 0xBF, 0xC3, 0xED, 0xF4, 0xFF]
        var stored = 0
        var refused = 0
        for round in 0..<600 {
            guard var line = corpus.lines.randomElement(using: &random), !line.isEmpty else { continue }
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                let index = Int.random(in: 0..<line.count, using: &random)
                switch Int.random(in: 0..<4, using: &random) {
                case 0: line[index] = interesting.randomElement(using: &random) ?? 0
                case 1: line.remove(at: index)
                case 2: line.insert(interesting.randomElement(using: &random) ?? 0, at: index)
                default: line = Array(line[..<index])
                }
                if line.isEmpty { break }
            }
            let before = try database.stats()
            var options = ImportOptions()
            options.baseTime = Timestamp(microseconds: Int64(round) * 1_000_000_000)
            do {
                let summary = try Importer.importLines(line, into: database, options: options)
                stored += summary.conversations
                XCTAssertEqual(try database.stats().conversations, before.conversations + summary.conversations)
            } catch InterchangeError.badLine(_, let reason) {
                refused += 1
                XCTAssertFalse(reason.isEmpty)
                let after = try database.stats()
                XCTAssertEqual(after.conversations, before.conversations, reason)
                XCTAssertEqual(after.messages, before.messages, reason)
                XCTAssertEqual(after.users, before.users, reason)
            } catch InterchangeError.corruptCompressedInput {
                refused += 1
            }
        }
        XCTAssertGreaterThan(stored, 0)
        XCTAssertGreaterThan(refused, 100)
        XCTAssertNoThrow(try database.checkStorage())
    }
}
