// Timing of query-like operations: every operation's latency into an HdrHistogram (three
// significant digits), and their sum for the rate. Only the operation itself is inside the clock.

import Histogram

struct LatencyRecorder {
    /// Nanoseconds, up to a minute per operation (longer ones are recorded as a minute).
    private var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
    private(set) var totalNanos: UInt64 = 0
    private(set) var count = 0

    mutating func measure<T>(_ body: () throws -> T) rethrows -> T {
        let start = monotonicNanos()
        let result = try body()
        let lap = monotonicNanos() &- start
        _ = histogram.record(min(max(lap, 1), 60_000_000_000))
        totalNanos &+= lap
        count += 1
        return result
    }

    /// Operations per second of measured time.
    var rate: Double { totalNanos == 0 ? 0 : Double(count) / (Double(totalNanos) / 1e9) }

    /// p50 and p99 in microseconds.
    var latency: Latency {
        Latency(p50: Double(histogram.valueAtPercentile(50)) / 1000, p99: Double(histogram.valueAtPercentile(99)) / 1000)
    }
}
