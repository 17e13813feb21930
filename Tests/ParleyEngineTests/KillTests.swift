import Foundation
import XCTest
@testable import ParleyEngine

/// kill -9 with an acknowledgement log: a child process commits and reports each acknowledged
/// commit; it is killed at a random moment; the reopened database must hold a prefix of the
/// commits (no gap, no partial transaction) and, in `full` mode, every acknowledged one.
final class KillTests: XCTestCase {
    func testKillNineAtRandomMoments() throws {
        let helper = try helperExecutable()
        let cycles = Int(ProcessInfo.processInfo.environment["PARLEY_KILL_CYCLES"] ?? "") ?? 60
        let directory = try temporaryDirectory(self)
        var random = SeededRandom(seed: UInt64(ProcessInfo.processInfo.processIdentifier))
        var tally: [Durability: (cycles: Int, acknowledged: UInt64, behind: UInt64)] = [:]
        for cycle in 0..<cycles {
            let mode = Durability.allCases[cycle % 3]
            let path = directory + "/kill-\(mode.rawValue).parley"
            let process = Process()
            process.executableURL = URL(fileURLWithPath: helper)
            process.arguments = ["commit", path, mode.rawValue]
            let output = Pipe()
            process.standardOutput = output
            try process.run()
            usleep(UInt32(20_000 + random.next() % 250_000))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            XCTAssertFalse(text.contains("error"), text)
            // Only whole lines are acknowledgements.
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            let acknowledged = lines.dropLast().compactMap { UInt64($0) }.max() ?? 0

            var options = DatabaseOptions()
            options.backgroundWork = false
            let engine = try Engine.open(path: path, options: options)
            let counter: UInt64 = try engine.read { snapshot in
                guard try snapshot.treeExists("kill"), let bytes = try snapshot.get("kill", Array("counter".utf8)) else { return 0 }
                return UInt64(String(decoding: bytes, as: UTF8.self)) ?? 0
            }
            if mode == .full {
                XCTAssertGreaterThanOrEqual(counter, acknowledged, "cycle \(cycle): an acknowledged commit was lost")
            }
            // The state is the one after commit `counter`: every key holds its latest write.
            if counter > 0 {
                try engine.read { snapshot in
                    for j in max(1, counter >= 49 ? counter - 49 : 1)...counter {
                        let value = try snapshot.get("kill", Array("k\(j % 50)".utf8))
                        XCTAssertEqual(value.map { Array($0.prefix(while: { $0 != 0x2E })) }, Array(String(j).utf8),
                                       "cycle \(cycle): key k\(j % 50) is not from commit \(j)")
                    }
                }
            }
            XCTAssertEqual(try engine.checkIntegrity().problems, [])
            try engine.close()
            var entry = tally[mode] ?? (0, 0, 0)
            entry.cycles += 1
            entry.acknowledged += acknowledged
            entry.behind += acknowledged > counter ? acknowledged - counter : 0
            tally[mode] = entry
        }
        for (mode, entry) in tally.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            print("kill -9 \(mode.rawValue): \(entry.cycles) cycles, last acknowledged commits summed \(entry.acknowledged), commits lost after acknowledgement \(entry.behind)")
        }
    }
}
