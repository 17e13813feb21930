// Draws over the engine's SplitMix64, written here so that the sequence depends only on this code
// (the standard library's `random(in:using:)` may change its algorithm between releases).

import Glibc
import ParleyEngine

extension SplitMix64 {
    /// A generator for one independent stream of the run (population, messages, queries, ...),
    /// so that adding draws to one stream never shifts another.
    init(seed: UInt64, stream: UInt64) {
        var mixer = SplitMix64(seed: seed ^ (stream &* 0xD6E8_FEB8_6659_FD93))
        self.init(seed: mixer.next())
    }

    /// Uniform in [0, 1), 53 bits.
    mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Uniform in 0..<bound (bound > 0); the multiply-high bias is below 2^-40 for our bounds.
    mutating func below(_ bound: Int) -> Int {
        precondition(bound > 0, "an empty range")
        return Int(truncatingIfNeeded: next().multipliedFullWidth(by: UInt64(bound)).high)
    }

    /// Uniform in the closed range.
    mutating func between(_ low: Int, _ high: Int) -> Int { low + below(high - low + 1) }

    /// True with probability `p`.
    mutating func chance(_ p: Double) -> Bool { unit() < p }

    /// Exponentially distributed with this mean.
    mutating func exponential(mean: Double) -> Double { -log1p(-unit()) * mean }
}

/// Named streams of the run.
enum RandomStream: UInt64 {
    case population = 1, messages, queries, state, samples, recovery, uuids
}
