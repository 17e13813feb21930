// Time for measurements: the monotonic clock, so that a wall-clock step never bends a figure.

import Glibc

/// Nanoseconds on the monotonic clock.
func monotonicNanos() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

/// Accumulates the time of the measured parts of a loop only, so that preparing the next inputs
/// (generating messages, building values) is never counted.
struct Stopwatch {
    private(set) var elapsedNanos: UInt64 = 0
    private var startedAt: UInt64 = 0

    mutating func start() { startedAt = monotonicNanos() }

    /// Stops and returns the nanoseconds of this lap.
    @discardableResult
    mutating func stop() -> UInt64 {
        let lap = monotonicNanos() &- startedAt
        elapsedNanos &+= lap
        return lap
    }

    var seconds: Double { Double(elapsedNanos) / 1e9 }
}
