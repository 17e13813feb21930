import XCTest
@testable import Parley

/// `ByteReader` reads bytes that came from disk: varints of every length round-trip, and every
/// way a varint can be malformed is a `DecodeFailure` that names it, never a trap or a wrong value.
final class ByteReaderTests: XCTestCase {
    private func failure(_ bytes: [UInt8], range: Range<Int>? = nil) -> String? {
        var reader = range.map { ByteReader(bytes, range: $0) } ?? ByteReader(bytes)
        do {
            _ = try reader.varint()
            return nil
        } catch let failure as DecodeFailure {
            return failure.description
        } catch {
            return "\(error)"
        }
    }

    func testVarintsOfEveryLengthRoundTrip() throws {
        var values: [UInt64] = [0, 1, 0x7F, 0x80, 0x3FFF, 0x4000, UInt64(Int64.max), UInt64.max]
        for shift in stride(from: 0, to: 64, by: 7) { values += [1 << shift, (1 << shift) - 1, (1 << shift) + 1] }
        var writer = ByteWriter()
        for value in values { writer.varint(value) }
        for value in values { writer.zigzag(Int64(bitPattern: value)) }
        var reader = ByteReader(writer.bytes)
        for value in values { XCTAssertEqual(try reader.varint(), value) }
        for value in values { XCTAssertEqual(try reader.zigzag(), Int64(bitPattern: value)) }
        XCTAssertTrue(reader.isAtEnd)
    }

    func testMalformedVarintsAreNamedFailures() {
        XCTAssertEqual(failure([]), "ends inside a field")
        XCTAssertEqual(failure([0x80, 0x80]), "ends inside a field")
        // A reader of a range ends where the range does, though the array goes on.
        XCTAssertEqual(failure([0x80, 0x80, 0x01], range: 0..<2), "ends inside a field")
        XCTAssertNil(failure([0x80, 0x80, 0x01], range: 0..<3))
        // Ten bytes whose last carries more than the 64th bit.
        XCTAssertEqual(failure([UInt8](repeating: 0xFF, count: 9) + [0x02]), "varint past 64 bits")
        XCTAssertNil(failure([UInt8](repeating: 0xFF, count: 9) + [0x01]))
        // A tenth byte that says more follow is past 64 bits too.
        XCTAssertEqual(failure([UInt8](repeating: 0x80, count: 9) + [0x81]), "varint past 64 bits")
        XCTAssertEqual(failure([UInt8](repeating: 0x80, count: 9) + [0x80, 0x00]), "varint past 64 bits")
    }
}
