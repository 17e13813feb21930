import Foundation
import XCTest
@testable import ParleyEngine

/// Commits change the memtable's nodes in place once no snapshot holds them, and copy them while
/// one does. Readers take short snapshots while a writer commits, so snapshots end in the middle
/// of merges: every snapshot must read one commit, whole, twice over. Under ThreadSanitizer (CI
/// runs this suite with it) this is also the test of the hand-off the reference counts order and
/// `parley_memtable_release` / `parley_memtable_acquire` describe to it: without them, this
/// pattern was reported as a race in about one run in five.
final class MemtableHandOffTests: XCTestCase {
    func testShortSnapshotsReadWholeCommitsWhileMergesChangeNodesInPlace() throws {
        let directory = try temporaryDirectory(self)
        let engine = try Engine.open(path: directory + "/m.parley", options: testOptions(.normal))
        defer { try? engine.close() }
        let keys = (0..<300).map { Array("k-\($0)".utf8) }
        try engine.write { txn in
            _ = try txn.createTree("t")
            for key in keys { try txn.put("t", key, Array("0".utf8)) }
        }
        let commits = 300
        let failures = SharedLocked<[String]>([])
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) {
            do {
                for round in 1...commits {
                    // Every key changes (nodes changed in place or copied) and one is added
                    // (rotations).
                    try engine.write { txn in
                        for key in keys { try txn.put("t", key, Array("\(round)".utf8)) }
                        try txn.put("t", Array("n-\(round)".utf8), [1])
                    }
                }
            } catch {
                failures.withLock { $0.append("writer: \(error)") }
            }
        }
        for reader in 0..<3 {
            DispatchQueue.global().async(group: group) {
                do {
                    for _ in 0..<200 {
                        try engine.read { snapshot in
                            var passes: [[Bytes: Bytes]] = []
                            for _ in 0..<2 {
                                var seen: [Bytes: Bytes] = [:]
                                let cursor = try snapshot.cursor("t")
                                var entry = try cursor.first()
                                while let (key, value) = entry {
                                    seen[key] = value
                                    entry = try cursor.next()
                                }
                                passes.append(seen)
                            }
                            guard passes[0] == passes[1] else {
                                failures.withLock { $0.append("reader \(reader): one snapshot read two states") }
                                return
                            }
                            let values = Set(keys.map { passes[0][$0] })
                            let added = passes[0].keys.filter { $0.starts(with: Array("n-".utf8)) }.count
                            guard values.count == 1, let value = values.first, let round = value.flatMap({ Int(String(decoding: $0, as: UTF8.self)) }),
                                added == round
                            else {
                                failures.withLock { $0.append("reader \(reader): a mixed snapshot (\(values.count) values, \(added) added)") }
                                return
                            }
                        }
                        // A pause with no lock taken: the next merge then changes in place the nodes
                        // this snapshot read with nothing but their reference counts between the two.
                        usleep(300)
                    }
                } catch {
                    failures.withLock { $0.append("reader \(reader): \(error)") }
                }
            }
        }
        group.wait()
        XCTAssertEqual(failures.withLock { $0 }, [])
    }
}
