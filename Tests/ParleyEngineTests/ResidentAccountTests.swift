import XCTest
@testable import ParleyEngine

/// The account that decides when a file's mapped pages are dropped: it asks the kernel only when
/// what reads may have mapped passes what the limit still allows, and drops the pages only when
/// the kernel's count says they neared it.
final class ResidentAccountTests: XCTestCase {
    private let window = 1 << 21

    /// Charges a read and, when the account asks for the kernel's count, answers with `reading`.
    private func read(
        _ account: inout ResidentAccount, _ offset: Int, _ length: Int = 4096, reading: Int? = nil
    ) -> (asked: Bool, release: Bool) {
        switch account.charge(offset: UInt64(offset), length: length) {
        case .none: return (false, false)
        case .release: return (false, true)
        case .measure(let epoch): return (true, account.measured(reading, epoch: epoch))
        }
    }

    func testAPageTouchedFirstIsChargedItsWindowAndAgainNothing() {
        var account = ResidentAccount(limit: 8 * window, baseline: 100)
        XCTAssertEqual(account.windowShift, 21, "a page table of 4 KiB pages maps 2 MiB")
        // Eight windows reach the limit exactly; more pages in them add nothing, since a window
        // maps 2 MiB at most.
        for w in 0..<8 { XCTAssertEqual(account.charge(offset: UInt64(w * window), length: 4096), .none) }
        for page in 1..<512 { XCTAssertEqual(account.charge(offset: UInt64(page * 4096), length: 4096), .none) }
        // A ninth window passes it. The kernel counts 4 MiB more than the baseline: 12 left.
        XCTAssertTrue(read(&account, 8 * window, reading: 100 + (4 << 20)).asked)
        // After a reading, a page touched first in a window charged before is charged again: its
        // fault may map the rest of a folio there. Six windows' worth fit in what is left.
        for w in 1...6 { XCTAssertFalse(read(&account, w * window + 4096).asked, "window \(w)") }
        // Pages read again are still mapped: never charged.
        for i in 0..<1_000 {
            XCTAssertFalse(read(&account, 4096).asked, "read \(i)")
            XCTAssertFalse(read(&account, 2 * window, 100).asked)
        }
        XCTAssertTrue(read(&account, 7 * window + 4096, reading: 100 + (4 << 20)).asked)
        // A read across a window's edge is charged both windows.
        for w in 10..<14 { XCTAssertFalse(read(&account, w * window).asked) }
        XCTAssertFalse(read(&account, 15 * window - 10, 20).asked)
        XCTAssertTrue(read(&account, 17 * window - 10, 20, reading: 100).asked)
    }

    func testTheCountIsReadEveryIntervalEvenWithoutNewPages() {
        var account = ResidentAccount(limit: 8 * window, baseline: 0)
        XCTAssertFalse(read(&account, 0).asked)
        var asked = 0
        for _ in 0..<(3 * ResidentAccount.checkInterval) where read(&account, 0, reading: 4096).asked { asked += 1 }
        XCTAssertEqual(asked, 3)
    }

    func testPagesGoWhenTheKernelCountNearsTheLimit() {
        let limit = 8 * window
        var account = ResidentAccount(limit: limit, baseline: 1_000)
        for w in 0..<8 { XCTAssertEqual(account.charge(offset: UInt64(w * window), length: 1), .none) }
        // Well under the limit: kept.
        XCTAssertEqual(read(&account, 8 * window, reading: 1_000 + limit / 2).release, false)
        // An eighth or less left: dropped rather than read again every few reads.
        for w in 9..<13 { _ = account.charge(offset: UInt64(w * window), length: 1) }
        XCTAssertEqual(read(&account, 13 * window, reading: 1_000 + limit - limit / 8).release, true)
    }

    func testAReadingBelowTheBaselineLowersIt() {
        let limit = 8 * window
        var account = ResidentAccount(limit: limit, baseline: 100 * window)
        for w in 0..<9 { XCTAssertFalse(read(&account, w * window, reading: 90 * window).release) }
        XCTAssertEqual(account.baseline, 90 * window, "another mapping let go of 10 windows")
        // Growth now counts from there: 7 windows of 8 is past seven eighths.
        var released = false
        for w in 9..<30 where read(&account, w * window, reading: 97 * window).release { released = true }
        XCTAssertTrue(released)
    }

    func testPagesTheKernelTookBackAreChargedAgain() {
        var account = ResidentAccount(limit: 4 * window, baseline: 0)
        // A page in each of four windows: the limit's worth of charges.
        for w in 0..<4 { XCTAssertFalse(read(&account, w * window).asked) }
        // The kernel then counts less than those four pages: some were reclaimed.
        var asked = false
        for _ in 0..<ResidentAccount.checkInterval where read(&account, 0, reading: 4096).asked { asked = true }
        XCTAssertTrue(asked, "the count is read within the interval")
        // So reading them again is a fault again, and charged: four windows and a fifth pass what
        // is left. (Were they taken for mapped, the fifth window alone would fit.)
        var charged = false
        for w in 0..<5 where read(&account, w * window, reading: 4096).asked { charged = true }
        XCTAssertTrue(charged, "re-reads of reclaimed pages are charged again")
    }

    func testOneReadingAtATimeAndNoneAcrossARelease() {
        var account = ResidentAccount(limit: 2 * window, baseline: 0)
        for w in 0..<2 { _ = account.charge(offset: UInt64(w * window), length: 1) }
        guard case .measure(let epoch) = account.charge(offset: UInt64(2 * window), length: 1) else {
            return XCTFail("the limit was passed")
        }
        // While that reading is taken, others are not asked for.
        for w in 3..<10 { XCTAssertEqual(account.charge(offset: UInt64(w * window), length: 1), .none) }
        // A release happens meanwhile; the reading, begun before it, is ignored.
        account.reset()
        account.released(baseline: 5)
        XCTAssertFalse(account.measured(100 * window, epoch: epoch))
        XCTAssertEqual(account.baseline, 5)
        XCTAssertEqual(account.charge(offset: 0, length: 1), .none)
        XCTAssertEqual(account.charge(offset: UInt64(window), length: 1), .none)
        XCTAssertEqual(account.charge(offset: UInt64(2 * window), length: 1), .measure(epoch: epoch + 1))
    }

    func testWithoutTheKernelCountTheWindowsDecide() {
        var account = ResidentAccount(limit: 2 * window, baseline: nil)
        XCTAssertEqual(account.charge(offset: 0, length: 4096), .none)
        XCTAssertEqual(account.charge(offset: UInt64(window), length: 4096), .none)
        for _ in 0..<1_000 { XCTAssertEqual(account.charge(offset: 4096, length: 4096), .none) }
        XCTAssertEqual(account.charge(offset: UInt64(2 * window), length: 4096), .release)
        account.released(baseline: nil)
        XCTAssertEqual(account.windows.count, 0)
        XCTAssertEqual(account.charge(offset: UInt64(2 * window), length: 4096), .none)
    }

    func testLargerPagesMakeLargerWindows() {
        let account = ResidentAccount(limit: 1 << 30, baseline: 0, pageSize: 16 << 10)
        XCTAssertEqual(account.pageShift, 14)
        XCTAssertEqual(account.windowShift, 25, "a page table of 16 KiB pages maps 32 MiB")
    }

    func testTheKernelCountIsParsedStrictly() throws {
        func parse(_ text: String, _ index: Int = 2) -> Int? { FileBackedResidentMemory.field(index, of: Array(text.utf8)[...]) }
        XCTAssertEqual(parse("619 385 360 1 0 89 0\n"), 360)
        XCTAssertEqual(parse("619 385 360 1 0 89 0\n", 0), 619)
        XCTAssertEqual(parse("619 385 360 1 0 89 0\n", 6), 0)
        XCTAssertNil(parse("619 385 360 1 0 89 0\n", 7))
        XCTAssertNil(parse("619 385 3x0 1\n"))
        XCTAssertNil(parse("619 385  1\n"), "an empty field")
        XCTAssertNil(parse("1 2 99999999999999999999999 4\n"), "overflow")
        XCTAssertNil(parse(""))
        XCTAssertEqual(parse("1 2 3"), 3, "no newline at the end")
        // Where /proc can be read, the process has some file-backed memory (its code).
        guard let bytes = FileBackedResidentMemory.bytes() else { throw XCTSkip("/proc/self/statm cannot be read here") }
        XCTAssertGreaterThan(bytes, 0)
    }
}
