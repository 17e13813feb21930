import XCTest
@testable import ParleyEngine

/// `compareBytes` is the order of every tree, and the model tests order their models with it
/// too, so it is checked here against the standard library's lexicographic order.
final class ByteOrderTests: XCTestCase {
    private func expected(_ a: Bytes, _ b: Bytes) -> Int {
        a == b ? 0 : (a.lexicographicallyPrecedes(b) ? -1 : 1)
    }

    func testAgreesWithLexicographicOrder() {
        var random = SeededRandom(seed: 11)
        // Lengths across the eight-byte steps, the byte tail and the memcmp path for long keys;
        // few distinct byte values, so that long common prefixes are common.
        for _ in 0..<20_000 {
            let length = random.int(0...90)
            let a = (0..<length).map { _ in UInt8(random.int(0...2) * 127) }
            var b = a
            switch random.int(0...3) {
            case 0: if !b.isEmpty { b[random.int(0...(b.count - 1))] = UInt8(random.int(0...255)) }
            case 1: b.removeLast(min(b.count, random.int(0...9)))
            case 2: b.append(contentsOf: (0..<random.int(1...9)).map { _ in UInt8(random.int(0...255)) })
            default: b = (0..<random.int(0...90)).map { _ in UInt8(random.int(0...2) * 127) }
            }
            XCTAssertEqual(compareBytes(a, b), expected(a, b), "\(a) vs \(b)")
            XCTAssertEqual(compareBytes(b, a), expected(b, a), "\(b) vs \(a)")
        }
        // Bytes above 0x7F order after those below (unsigned), in every position of a word.
        for position in 0..<20 {
            var low = Bytes(repeating: 0x10, count: 20)
            var high = low
            low[position] = 0x7F
            high[position] = 0x80
            XCTAssertEqual(compareBytes(low, high), -1, "at \(position)")
        }
    }
}

private extension SeededRandom {
    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &self) }
}
