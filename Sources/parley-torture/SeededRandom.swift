// Seeded randomness: everything a cycle does is drawn from its seed, so the parent can recompute
// what the writer did, and a failing cycle can be run again from the seed it prints.

import ParleyEngine

/// The engine's SplitMix64 with the draws the workload needs.
struct SeededRandom: RandomNumberGenerator {
    private var generator: SplitMix64

    init(seed: UInt64) { generator = SplitMix64(seed: seed) }

    /// A generator for one member of a family (a cycle of a run, a transaction of a cycle): the
    /// two numbers are mixed so that neighbouring members draw unrelated streams.
    init(seed: UInt64, member: UInt64) {
        var mixer = SplitMix64(seed: seed ^ (member &* 0xD6E8_FEB8_6659_FD93))
        _ = mixer.next()
        generator = SplitMix64(seed: mixer.next() ^ member)
    }

    mutating func next() -> UInt64 { generator.next() }

    /// A uniform integer in `range`, which must not be empty.
    mutating func int(_ range: ClosedRange<Int>) -> Int {
        let span = UInt64(range.upperBound - range.lowerBound) + 1
        return range.lowerBound + Int(next() % span)
    }

    /// True with probability `p`.
    mutating func chance(_ p: Double) -> Bool { Double(next() >> 11) / Double(UInt64(1) << 53) < p }

    /// One of `items`, which must not be empty.
    mutating func pick<T>(_ items: [T]) -> T { items[int(0...(items.count - 1))] }

    /// One of the choices, each drawn in proportion to its weight (weights must not all be 0).
    mutating func weighted<T>(_ choices: [(weight: Int, value: T)]) -> T {
        let total = choices.reduce(0) { $0 + $1.weight }
        var roll = int(0...(total - 1))
        for choice in choices {
            if roll < choice.weight { return choice.value }
            roll -= choice.weight
        }
        return choices[choices.count - 1].value
    }
}
