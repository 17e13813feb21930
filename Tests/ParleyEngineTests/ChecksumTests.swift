import CParleySupport
import XCTest
@testable import ParleyEngine

final class ChecksumTests: XCTestCase {
    func testKnownValue() {
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)
        XCTAssertEqual(CRC32C.checksum([]), 0)
    }

    func testHardwareAndPortablePathsAgree() {
        var random = SeededRandom(seed: 3)
        for length in [0, 1, 7, 8, 9, 63, 4096, 5000] {
            let bytes = random.bytes(length)
            let portable = bytes.withUnsafeBytes { parley_crc32c_portable(0, $0.baseAddress, $0.count) }
            XCTAssertEqual(CRC32C.checksum(bytes), portable, "length \(length)")
            // Continuing a checksum over two halves equals one pass over the whole.
            let half = length / 2
            let joined = CRC32C.checksum(Array(bytes[half...]), continuing: CRC32C.checksum(Array(bytes[..<half])))
            XCTAssertEqual(joined, portable)
        }
    }
}
