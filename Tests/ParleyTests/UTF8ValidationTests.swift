import XCTest
@testable import Parley
import ParleyEngine

/// `validUTF8String` against the standard library's validating initializer, which it replaces
/// on the read path for speed: they must agree on every input.
final class UTF8ValidationTests: XCTestCase {
    private func assertAgrees(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(validUTF8String(bytes), String(validating: bytes, as: UTF8.self), "\(bytes)", file: file, line: line)
    }

    func testKnownValidAndInvalidSequences() {
        let cases: [[UInt8]] = [
            [], Array("plain ascii".utf8), Array("héllo wörld".utf8), Array("日本語".utf8), Array("🙂 emoji".utf8),
            Array("e\u{301}".utf8), [0xEF, 0xBF, 0xBD],  // U+FFFD itself is valid
            [0xFF], [0x80], [0x66, 0xFF, 0x6F],  // stray bytes
            [0xC0, 0x80], [0xE0, 0x80, 0x80], [0xF0, 0x80, 0x80, 0x80],  // overlong
            [0xED, 0xA0, 0x80],  // a surrogate
            [0xF4, 0x90, 0x80, 0x80],  // past U+10FFFF
            [0xF0, 0x9F, 0x98], [0xF0, 0x9F, 0x98, 0x41],  // a truncated 4-byte sequence: repaired to one U+FFFD (3 bytes)
            [0xE2, 0x82], [0x41, 0xE2, 0x82, 0xAC],
        ]
        for bytes in cases { assertAgrees(bytes) }
        XCTAssertNil(validUTF8String([0xF0, 0x9F, 0x98]))
        XCTAssertEqual(validUTF8String(Array("🙂".utf8)), "🙂")
    }

    func testRandomBytesAgree() {
        var generator = SplitMix64(seed: 0x5eed)
        let pieces: [[UInt8]] = [[0x41], [0xC3, 0xA9], [0xE2, 0x82, 0xAC], [0xF0, 0x9F, 0x99, 0x82], [0x80], [0xC3], [0xF0, 0x9F], [0xFF], [0xED, 0xA0]]
        for _ in 0..<20_000 {
            var bytes: [UInt8] = []
            for _ in 0..<Int(generator.next() % 8) {
                if generator.next() % 4 == 0 {
                    bytes.append(UInt8(truncatingIfNeeded: generator.next()))
                } else {
                    bytes += pieces[Int(generator.next() % UInt64(pieces.count))]
                }
            }
            assertAgrees(bytes)
            // And as a slice that does not start at index 0.
            let padded = [0x20] + bytes
            XCTAssertEqual(validUTF8String(padded[1...]), String(validating: bytes, as: UTF8.self))
        }
    }
}

final class UTF8OrderTests: XCTestCase {
    /// `compareUTF8` orders strings as their UTF-8 bytes do (not as Swift's String comparison,
    /// which merges canonically equivalent spellings).
    func testOrderIsByteOrder() {
        var generator = SplitMix64(seed: 0x0de5)
        let alphabet = ["a", "b", "é", "e\u{301}", "🙂", "Z", "\u{0}", "日"]
        for _ in 0..<5_000 {
            let a = (0..<Int(generator.next() % 4)).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }.joined()
            let b = (0..<Int(generator.next() % 4)).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }.joined()
            let expected = Array(a.utf8).lexicographicallyPrecedes(Array(b.utf8)) ? -1 : (Array(a.utf8) == Array(b.utf8) ? 0 : 1)
            XCTAssertEqual(compareUTF8(a, b).signum(), expected, "\(Array(a.utf8)) vs \(Array(b.utf8))")
        }
        XCTAssertNotEqual(compareUTF8("\u{E9}", "e\u{301}"), 0)
    }
}
