// Zipf-like draws: rank k (0-based) with probability proportional to 1 / (k + 1)^s. One
// cumulative table and a binary search per draw: exact, and a few MB even at the large scale.

import Glibc
import ParleyEngine

struct ZipfTable: Sendable {
    private let cumulative: [Double]

    init(count: Int, exponent: Double) {
        precondition(count > 0, "a Zipf table needs at least one rank")
        var table = [Double](repeating: 0, count: count)
        var sum = 0.0
        for rank in 0..<count {
            sum += 1 / pow(Double(rank + 1), exponent)
            table[rank] = sum
        }
        for rank in 0..<count { table[rank] /= sum }
        table[count - 1] = 1
        cumulative = table
    }

    var count: Int { cumulative.count }

    /// A rank drawn with the table's skew.
    func sample(_ random: inout SplitMix64) -> Int {
        let target = random.unit()
        var low = 0
        var high = cumulative.count - 1
        while low < high {
            let middle = (low + high) / 2
            if cumulative[middle] > target { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
