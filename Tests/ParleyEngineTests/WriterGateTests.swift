import Foundation
import XCTest
@testable import ParleyEngine

final class WriterGateTests: XCTestCase {
    private final class Counter: @unchecked Sendable {
        var value = 0
    }

    /// Threads that find the gate taken yield for a while, then sleep: either way one holds it at a
    /// time. A read-modify-write split by a sleep loses updates unless the gate excludes, and some
    /// holds outlast the yielding so that waiters go to sleep and are woken by a release.
    func testOneHolderAtATimeWhetherWaitersYieldOrSleep() throws {
        let gate = WriterGate()
        let counter = Counter()
        let threads = 6
        let rounds = 150
        let failures = SharedLocked<[String]>([])
        // On a thread of its own, so that a lost wake-up fails the test instead of hanging it.
        let finished = expectation(description: "every thread finished its rounds")
        Thread.detachNewThread {
            DispatchQueue.concurrentPerform(iterations: threads) { thread in
                for round in 0..<rounds {
                    do { try gate.acquire() } catch {
                        failures.withLock { $0.append("thread \(thread): \(error)") }
                        return
                    }
                    let seen = counter.value
                    // Mostly short holds, like appends; now and then one far longer than the yielding.
                    usleep(round % 25 == 0 ? UInt32(WriterGate.spinSeconds * 1e6) * 10 : 5)
                    counter.value = seen + 1
                    gate.release()
                }
            }
            finished.fulfill()
        }
        wait(for: [finished], timeout: 120)
        XCTAssertEqual(failures.withLock { $0 }, [])
        XCTAssertEqual(counter.value, threads * rounds)
    }
}
