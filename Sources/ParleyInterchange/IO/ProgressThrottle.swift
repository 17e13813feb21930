// Rate-limiting progress callbacks with the monotonic clock.

import Glibc

/// Says when a progress callback is due: at most once per interval.
struct ProgressThrottle {
    private let interval: Double
    private var last: Double

    init(interval: Double) {
        self.interval = max(0, interval)
        last = monotonicSeconds()
    }

    /// True (and the interval restarts) when `interval` seconds have passed since the last time.
    mutating func due() -> Bool {
        let now = monotonicSeconds()
        guard now - last >= interval else { return false }
        last = now
        return true
    }
}

/// Seconds on the monotonic clock.
func monotonicSeconds() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}
