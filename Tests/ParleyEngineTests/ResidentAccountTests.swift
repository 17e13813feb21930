import XCTest
@testable import ParleyEngine

/// The account that decides when a file's mapped pages are dropped: it asks the kernel only when
/// what reads may have mapped passes what the limit still allows, and drops the pages only when
/// the kernel's count says they passed it.
final class ResidentAccountTests: XCTestCase {
    private let window = 1 << ResidentAccount.windowShift

    func testAPageTouchedFirstIsChargedItsWindowAndAgainNothing() {
        var account = ResidentAccount(limit: 3 * window, baseline: 100)
        // Three first touches reach the limit exactly; a fourth, even in a window already
        // touched, passes it: its fault may map a whole folio there.
        for w in 0..<3 { XCTAssertEqual(account.charge(offset: UInt64(w * window), length: 4096), .none) }
        XCTAssertEqual(account.charge(offset: UInt64(window + 4096), length: 4096), .measure)
        // The kernel counts 1 MiB more than the baseline: two more first touches are allowed.
        XCTAssertFalse(account.measured(100 + (1 << 20)))
        XCTAssertEqual(account.charge(offset: 8192, length: 4096), .none)
        XCTAssertEqual(account.charge(offset: 12288, length: 4096), .none)
        // Pages read again are still mapped: never charged.
        for _ in 0..<10_000 {
            XCTAssertEqual(account.charge(offset: 8192, length: 4096), .none)
            XCTAssertEqual(account.charge(offset: UInt64(2 * window), length: 100), .none)
        }
        XCTAssertEqual(account.charge(offset: 16384, length: 4096), .measure)
        // A read across a window's edge is charged both windows.
        XCTAssertFalse(account.measured(100))
        XCTAssertEqual(account.charge(offset: UInt64(3 * window - 10), length: 20), .none)
        XCTAssertEqual(account.charge(offset: UInt64(5 * window - 10), length: 20), .measure)
    }

    func testPagesGoWhenTheKernelCountNearsTheLimit() {
        let limit = 8 * window
        var account = ResidentAccount(limit: limit, baseline: 1_000)
        for w in 0..<8 { XCTAssertEqual(account.charge(offset: UInt64(w * window), length: 1), .none) }
        XCTAssertEqual(account.charge(offset: UInt64(8 * window), length: 1), .measure)
        // Well under the limit: kept.
        XCTAssertFalse(account.measured(1_000 + limit / 2))
        // Less than an eighth left: dropped rather than read again every few reads.
        XCTAssertTrue(account.measured(1_000 + limit - limit / 8))
        XCTAssertTrue(account.measured(1_000 + limit + 1))
        // Other mappings shrinking below the baseline count as no growth.
        XCTAssertFalse(account.measured(0))
    }

    func testWithoutTheKernelCountTheWindowsDecide() {
        var account = ResidentAccount(limit: 2 * window, baseline: nil)
        XCTAssertEqual(account.charge(offset: 0, length: 4096), .none)
        XCTAssertEqual(account.charge(offset: UInt64(window), length: 4096), .none)
        for _ in 0..<1_000 { XCTAssertEqual(account.charge(offset: 4096, length: 4096), .none) }
        XCTAssertEqual(account.charge(offset: UInt64(2 * window), length: 4096), .release)
        // A reading that could not be taken decides by the windows too.
        XCTAssertTrue(account.measured(nil))
        account.reset()
        XCTAssertEqual(account.windows.count, 0)
        XCTAssertEqual(account.charge(offset: UInt64(2 * window), length: 4096), .none)
    }

    func testAResetStartsTheChargesAgainFromTheWholeLimit() {
        var account = ResidentAccount(limit: 2 * window, baseline: 0)
        for w in 0..<3 { _ = account.charge(offset: UInt64(w * window), length: 1) }
        XCTAssertFalse(account.measured(window))
        account.reset()
        account.rebase(5)
        XCTAssertEqual(account.baseline, 5)
        XCTAssertEqual(account.charge(offset: 0, length: 1), .none)
        XCTAssertEqual(account.charge(offset: UInt64(window), length: 1), .none)
        XCTAssertEqual(account.charge(offset: UInt64(2 * window), length: 1), .measure)
    }

    func testTheKernelCountIsParsedStrictly() {
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
        // On Linux the real file parses, and the process has some file-backed memory (its code).
        let bytes = try? XCTUnwrap(FileBackedResidentMemory.bytes())
        XCTAssertGreaterThan(bytes ?? 0, 0)
    }
}
