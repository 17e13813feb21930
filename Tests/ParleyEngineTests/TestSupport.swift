import Foundation
import XCTest
@testable import ParleyEngine

/// A seeded generator so that a failing randomized test can be replayed.
struct SeededRandom: RandomNumberGenerator {
    private var generator: SplitMix64
    init(seed: UInt64) { generator = SplitMix64(seed: seed) }
    mutating func next() -> UInt64 { generator.next() }

    mutating func bytes(_ count: Int) -> Bytes {
        var out = Bytes(repeating: 0, count: count)
        for i in out.indices { out[i] = UInt8(truncatingIfNeeded: next()) }
        return out
    }
}

/// A temporary directory removed at the end of the test.
func temporaryDirectory(_ test: XCTestCase) throws -> String {
    let path = NSTemporaryDirectory() + "parley-tests-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
    return path
}

/// The whole contents of a tree, in order, read with a forward cursor.
func contents(_ engine: StorageEngine, _ tree: String) throws -> [(Bytes, Bytes)] {
    try engine.read { transaction in
        guard try transaction.treeExists(tree) else { return [] }
        let cursor = try transaction.cursor(tree)
        var out: [(Bytes, Bytes)] = []
        var entry = try cursor.first()
        while let (key, value) = entry {
            out.append((key, value))
            entry = try cursor.next()
        }
        return out
    }
}

func assertSound(_ engine: StorageEngine, file: StaticString = #filePath, line: UInt = #line) throws {
    let report = try engine.checkIntegrity()
    XCTAssertEqual(report.problems, [], "integrity problems", file: file, line: line)
}

/// Where the test helper executable was built (beside the test bundle).
func helperExecutable() throws -> String {
    var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = directory.appendingPathComponent("parley-test-helper").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        directory = directory.deletingLastPathComponent()
    }
    let bundle = Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("parley-test-helper").path
    if FileManager.default.isExecutableFile(atPath: bundle) { return bundle }
    throw XCTSkip("parley-test-helper not found beside \(CommandLine.arguments[0])")
}
