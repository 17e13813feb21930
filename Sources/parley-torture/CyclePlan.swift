// One cycle's choices, all drawn from the cycle's seed: the default durability, the engine's
// tuning, how long the writer lives before the kill, and how many transactions it may commit.
// The writer and the parent compute the same plan from the same seed.

import Parley

struct CyclePlan {
    let seed: UInt64
    /// The durability of every transaction that does not override it.
    let durability: Durability
    let syncInterval: Double
    let memtableBudget: Int
    let checkpointAge: Double
    let logPreallocation: UInt64
    let blockTargetBytes: Int
    /// Used only when the cycle creates the database.
    let pageSize: Int
    let backgroundWork: Bool
    /// When the parent sends SIGKILL.
    let kill: KillSchedule
    /// Transactions the writer commits before it idles (waiting for the kill with its background
    /// syncs and checkpoints still running).
    let transactionBudget: Int

    init(seed: UInt64) {
        self.seed = seed
        var random = SeededRandom(seed: seed, member: 0xC7C1E)
        durability = random.pick(Durability.allCases)
        // Small budgets and ages make background checkpoints and log resets happen mid-cycle.
        syncInterval = random.pick([0.002, 0.01, 0.05, 0.1])
        memtableBudget = random.pick([16 << 10, 64 << 10, 256 << 10, 64 << 20])
        checkpointAge = random.pick([0.02, 0.1, 0.5, 30])
        logPreallocation = random.pick([32 << 10, 128 << 10, 1 << 20])
        blockTargetBytes = random.pick([1 << 10, 4 << 10, 32 << 10])
        pageSize = random.pick([4096, 4096, 8192, 16384])
        backgroundWork = !random.chance(0.1)
        // Some kills land while the writer starts; some just after it says it opens (in
        // recovery, or the first transactions after it); most during its work.
        switch random.int(0...99) {
        case 0..<8: kill = KillSchedule(delay: random.int(0...12_000))
        case 8..<20: kill = KillSchedule(delay: random.int(0...3_000), afterFirstLine: "open")
        default: kill = KillSchedule(delay: random.int(20_000...400_000))
        }
        transactionBudget = random.int(100...1_000)
    }

    /// The seed of cycle `index` of a run: cycle 0 uses the run's seed itself, so that
    /// `--seed S --cycles 1` runs exactly the cycle a failure report names.
    static func cycleSeed(run: UInt64, cycle: Int) -> UInt64 {
        guard cycle > 0 else { return run }
        var random = SeededRandom(seed: run, member: UInt64(cycle))
        return random.next()
    }

    /// The writer's options (the parent checks with its own).
    func writerOptions(clock: LogicalClock) -> Database.Options {
        var options = Database.Options(durability: durability)
        options.engine.syncInterval = syncInterval
        options.engine.memtableBudget = memtableBudget
        options.engine.checkpointAge = checkpointAge
        options.engine.logPreallocation = logPreallocation
        options.engine.logGrowthStep = 64 << 10
        options.engine.backgroundWork = backgroundWork
        options.engine.storage.pageSize = pageSize
        options.engine.storage.growthStep = 64 << 10
        options.blockTargetBytes = blockTargetBytes
        options.clock = { clock.now() }
        return options
    }

    /// The parent's options: no background work, so nothing changes while it checks.
    static func checkerOptions(clock: LogicalClock) -> Database.Options {
        var options = Database.Options(durability: .full)
        options.engine.backgroundWork = false
        options.engine.logPreallocation = 64 << 10
        options.engine.storage.growthStep = 64 << 10
        options.clock = { clock.now() }
        return options
    }

    /// One line for `--verbose`.
    var description: String {
        "\(durability.rawValue) sync \(syncInterval)s memtable \(memtableBudget >> 10)K age \(checkpointAge)s "
            + "block \(blockTargetBytes >> 10)K background \(backgroundWork ? "on" : "off") budget \(transactionBudget) "
            + "kill at \(Double(kill.delay) / 1000) ms" + (kill.afterFirstLine.map { " after \"\($0)\"" } ?? "")
    }
}
