// Real threads for ingest-durable's concurrent writers (Dispatch's concurrentPerform would run
// only as many at once as there are cores, 2 here, not 4). All threads are started, then released
// together, and the time runs from the release to the last one's end. POSIX threads started as
// the engine starts its own (`DetachedThread`), not Foundation's `Thread`: the bench loads no
// Foundation (Report/Formatting.swift says why).

import Dispatch
import ParleyEngine
import Synchronization

final class ThreadErrors: Sendable {
    private let messages = Mutex<[String]>([])
    func add(_ message: String) { messages.withLock { $0.append(message) } }
    var all: [String] { messages.withLock { $0 } }
}

/// Runs `body(index)` on `count` threads at once; returns the seconds from release to the end.
func runOnThreads(_ count: Int, _ body: @escaping @Sendable (Int) throws -> Void) throws -> Double {
    let ready = DispatchSemaphore(value: 0)
    let release = DispatchSemaphore(value: 0)
    let finished = DispatchGroup()
    let errors = ThreadErrors()
    for index in 0..<count {
        finished.enter()
        let started = DetachedThread.start(name: "bench-writer-\(index)") {
            ready.signal()
            release.wait()
            do {
                try body(index)
            } catch {
                errors.add("thread \(index): \(error)")
            }
            finished.leave()
        }
        guard started else {
            // The threads already started wait for a release that is not coming: let them go and
            // see them end before reporting.
            for _ in 0..<index { ready.wait() }
            for _ in 0..<index { release.signal() }
            finished.leave()
            finished.wait()
            throw BenchError("could not start thread \(index) of \(count)")
        }
    }
    for _ in 0..<count { ready.wait() }
    let start = monotonicNanos()
    for _ in 0..<count { release.signal() }
    finished.wait()
    let seconds = Double(monotonicNanos() - start) / 1e9
    if let first = errors.all.first { throw BenchError(first) }
    return seconds
}
