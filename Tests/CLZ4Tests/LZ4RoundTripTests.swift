import CLZ4
import XCTest

final class LZ4RoundTripTests: XCTestCase {
    func testRoundTripThroughSystemLibrary() throws {
        let text = Array(String(repeating: "hello, conversation engine. ", count: 200).utf8)
        let bound = Int(LZ4_compressBound(Int32(text.count)))
        var compressed = [CChar](repeating: 0, count: bound)
        let written = text.withUnsafeBufferPointer { source in
            source.withMemoryRebound(to: CChar.self) { src in
                LZ4_compress_default(src.baseAddress, &compressed, Int32(text.count), Int32(bound))
            }
        }
        XCTAssertGreaterThan(written, 0)
        XCTAssertLessThan(Int(written), text.count / 4)
        var restored = [CChar](repeating: 0, count: text.count)
        let read = LZ4_decompress_safe(compressed, &restored, written, Int32(text.count))
        XCTAssertEqual(Int(read), text.count)
        XCTAssertEqual(restored.map { UInt8(bitPattern: $0) }, text)
    }

    func testMalformedInputIsRejectedNotTrapped() {
        let garbage: [CChar] = [-1, -1, -1, -1, 0x10, 0x20]
        var out = [CChar](repeating: 0, count: 64)
        XCTAssertLessThan(LZ4_decompress_safe(garbage, &out, Int32(garbage.count), 64), 0)
    }
}
