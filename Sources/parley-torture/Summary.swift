// The run's totals: what each cycle found, added up, for the progress lines and the summary.

import Parley

/// What one cycle found.
struct CycleOutcome {
    let cycle: Int
    let seed: UInt64
    let plan: CyclePlan
    var termination = Termination.killed
    var phase = KillPhase.startup
    var acknowledged: [Durability: Int] = [:]
    /// The ledger position before the cycle and after the kill and reopen.
    var startPosition: UInt64 = 0
    var position: UInt64?
    /// Acknowledged commits that had to survive and did not.
    var lost: [UInt64] = []
    /// Async commits acknowledged but not yet written when the kill came (allowed).
    var asyncTail = 0
    var integrityProblems: [String] = []
    var mismatches: [String] = []
    var mismatchTotal = 0
    /// The writer ended otherwise than by the kill, or reported an error.
    var writerProblems: [String] = []
    var checkedFileBytes = 0
    var microseconds: Int64 = 0

    var failed: Bool {
        !lost.isEmpty || !integrityProblems.isEmpty || mismatchTotal > 0 || !writerProblems.isEmpty
    }
}

struct Summary {
    let runSeed: UInt64
    private(set) var cycles = 0
    private(set) var acknowledged: [Durability: Int] = [:]
    private(set) var verified: UInt64 = 0
    private(set) var lost = 0
    private(set) var asyncTail = 0
    private(set) var integrityFailures = 0
    private(set) var mismatchFailures = 0
    private(set) var writerFailures = 0
    private(set) var phases: [KillPhase: Int] = [:]
    private(set) var largestFile = 0
    private var microseconds: Int64 = 0
    private let started = monotonicMicroseconds()

    init(runSeed: UInt64) { self.runSeed = runSeed }

    var failed: Bool { lost > 0 || integrityFailures > 0 || mismatchFailures > 0 || writerFailures > 0 }

    mutating func add(_ outcome: CycleOutcome) {
        cycles += 1
        for (durability, count) in outcome.acknowledged { acknowledged[durability, default: 0] += count }
        if let position = outcome.position, position > outcome.startPosition { verified += position - outcome.startPosition }
        lost += outcome.lost.count
        asyncTail += outcome.asyncTail
        if !outcome.integrityProblems.isEmpty { integrityFailures += 1 }
        if outcome.mismatchTotal > 0 { mismatchFailures += 1 }
        if !outcome.writerProblems.isEmpty { writerFailures += 1 }
        phases[outcome.phase, default: 0] += 1
        largestFile = max(largestFile, outcome.checkedFileBytes)
        microseconds += outcome.microseconds
    }

    private var totalAcknowledged: Int { acknowledged.values.reduce(0, +) }

    /// One line every so many cycles.
    func progress() -> String {
        let elapsed = Double(monotonicMicroseconds() - started) / 1e6
        return "cycle \(cycles): \(totalAcknowledged) acknowledged, \(verified) verified, lost \(lost), async tail \(asyncTail), "
            + "integrity failures \(integrityFailures), mismatches \(mismatchFailures), writer failures \(writerFailures) "
            + "(\(format(elapsed, 1)) s, \(format(averageMilliseconds, 0)) ms per cycle)"
    }

    private var averageMilliseconds: Double { cycles > 0 ? Double(microseconds) / Double(cycles) / 1_000 : 0 }

    func report() -> String {
        let elapsed = Double(monotonicMicroseconds() - started) / 1e6
        let modes = Durability.allCases.map { "\($0.rawValue) \(acknowledged[$0] ?? 0)" }.joined(separator: ", ")
        let kills = KillPhase.allCases.map { "\($0.rawValue) \(phases[$0] ?? 0)" }.joined(separator: ", ")
        return """
            parley-torture summary (run seed \(runSeed))
              cycles                               \(cycles) in \(format(elapsed, 1)) s, \(format(averageMilliseconds, 0)) ms per cycle
              commits acknowledged                 \(totalAcknowledged) (\(modes))
              commits verified durable             \(verified)
              lost                                 \(lost)
              async tail not persisted (allowed)   \(asyncTail)
              integrity failures                   \(integrityFailures)
              prefix/model mismatches              \(mismatchFailures)
              writer failures                      \(writerFailures)
              kills                                \(kills)
              largest database checked             \(largestFile >> 10) KiB
            result: \(failed ? "FAILED" : "clean")
            """
    }
}

/// `value` with `digits` decimals.
func format(_ value: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let rounded = (value * scale).rounded() / scale
    guard digits > 0 else { return String(Int(rounded)) }
    let text = String(rounded)
    let decimals = text.split(separator: ".").last?.count ?? 0
    return decimals < digits ? text + String(repeating: "0", count: digits - decimals) : text
}
