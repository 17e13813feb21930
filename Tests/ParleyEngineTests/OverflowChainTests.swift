import XCTest
@testable import ParleyEngine

/// The overflow chain walk on page images kept in memory: a sound chain reads back whole, and a
/// link back to an earlier page is refused before that page is visited again, both in a short
/// chain (checked by a scan of the ids) and past `Overflow.linearCycleCheckLimit` (by a set).
final class OverflowChainTests: XCTestCase {
    private let pageSize = 4096

    /// A value spanning `pageCount` pages, its chain on pages 100, 101, ...
    private func chain(pageCount: Int) -> (value: Bytes, pages: [PageID: Bytes]) {
        let per = Overflow.capacity(pageSize: pageSize)
        let value = (0..<(per * (pageCount - 1) + 17)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }
        let ids = (0..<pageCount).map { PageID(100 + $0) }
        let images = Overflow.encode(value, ids: ids, pageSize: pageSize)
        return (value, Dictionary(uniqueKeysWithValues: zip(ids, images)))
    }

    private func walk(_ pages: [PageID: Bytes], length: Int, visited: inout [PageID]) throws -> [PageID] {
        var seen: [PageID] = []
        defer { visited = seen }
        return try Overflow.walk(first: 100, length: UInt32(length), pageSize: pageSize) { id, body in
            guard let page = pages[id] else { throw EngineError.corruptPage(page: id, reason: "no such page in the test") }
            seen.append(id)
            try page.withUnsafeBytes { try body($0) }
        }
    }

    func testSoundChainsReadBackWhole() throws {
        for pageCount in [1, 2, Overflow.linearCycleCheckLimit, Overflow.linearCycleCheckLimit + 1, 40] {
            let (value, pages) = chain(pageCount: pageCount)
            var visited: [PageID] = []
            let ids = try walk(pages, length: value.count, visited: &visited)
            XCTAssertEqual(ids, (0..<pageCount).map { PageID(100 + $0) })
            let read = try Overflow.read(first: 100, length: UInt32(value.count), pageSize: pageSize) { id, body in
                guard let page = pages[id] else { throw EngineError.corruptPage(page: id, reason: "no such page in the test") }
                try page.withUnsafeBytes { try body($0) }
            }
            XCTAssertEqual(read, value, "\(pageCount) pages")
        }
    }

    func testALinkBackIsACycle() throws {
        let limit = Overflow.linearCycleCheckLimit
        // (pages in the chain, the page whose link goes back, the page it goes back to)
        for (pageCount, from, to) in [(8, 5, 2), (8, 1, 0), (40, 30, 20), (40, limit + 2, 0), (40, limit - 1, limit - 3)] {
            let (value, sound) = chain(pageCount: pageCount)
            var pages = sound
            let fromID = PageID(100 + from)
            let toID = PageID(100 + to)
            pages[fromID]?.withUnsafeMutableBytes { $0.storeLE(toID, at: Overflow.nextOffset) }
            var visited: [PageID] = []
            XCTAssertThrowsError(try walk(pages, length: value.count, visited: &visited), "\(pageCount): \(from) -> \(to)") { error in
                guard case EngineError.corruptPage(let page, let reason) = error else {
                    return XCTFail("\(pageCount): \(from) -> \(to): \(error)")
                }
                XCTAssertEqual(page, toID)
                XCTAssertTrue(reason.contains("cycle"), reason)
            }
            // Refused before the page is read a second time.
            XCTAssertEqual(visited, (0...from).map { PageID(100 + $0) }, "\(pageCount): \(from) -> \(to)")
        }
    }
}
