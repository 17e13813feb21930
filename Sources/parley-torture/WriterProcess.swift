// The writer: the child process the parent kills. It opens the database (recovering whatever
// the previous kill left), checks that the ledger is where the parent verified it, then commits
// the cycle's transactions one by one, reporting each after its commit returns, with
// checkpoints, flushes and compactions in between, until its budget is spent or the kill comes.

@preconcurrency import Glibc
import Parley

enum WriterProcess {
    static func run(path: String, seed: UInt64, start: UInt64) -> Never {
        do {
            try work(path: path, seed: seed, start: start)
        } catch {
            WriterReport.emit("error " + "\(error)".split(separator: "\n").joined(separator: " "))
            exit(3)
        }
    }

    private static func work(path: String, seed: UInt64, start: UInt64) throws -> Never {
        let plan = CyclePlan(seed: seed)
        let clock = LogicalClock(committed: start)
        let options = plan.writerOptions(clock: clock)
        let workload = Workload(plan: plan)

        WriterReport.emit("open")
        var database = try Database.open(path: path, options: options)
        let position = try database.read { try Verifier.ledgerPosition($0) }
        guard position == start else {
            throw TortureError.workload("the ledger is at \(position) after recovery; the parent verified \(start)")
        }
        WriterReport.emit("ready \(position)")

        var seq = start
        for _ in 0..<plan.transactionBudget {
            seq += 1
            let transaction = workload.transaction(seq)
            clock.begin(seq)
            do {
                try database.write(durability: transaction.durability) { chat in
                    var target = DatabaseTarget(chat: chat)
                    try Executor.run(transaction, on: &target)
                }
            } catch {
                clock.end(seq, committed: false)
                throw error
            }
            clock.end(seq, committed: true)
            WriterReport.emit("ack \(seq) \(transaction.durability.rawValue)")
            if let work = transaction.maintenance {
                database = try maintain(work, database, path: path, options: options)
            }
            if transaction.pauseMicroseconds > 0 { usleep(UInt32(transaction.pauseMicroseconds)) }
        }
        // Background syncs and checkpoints go on while the writer waits for the kill.
        WriterReport.emit("idle")
        while true { pause() }
    }

    /// Runs `work`; returns the database to go on with (compaction closes and reopens it).
    private static func maintain(
        _ work: Maintenance, _ database: Database, path: String, options: Database.Options
    ) throws -> Database {
        WriterReport.emit("begin \(work.rawValue)")
        var current = database
        switch work {
        case .checkpoint:
            try database.checkpoint()
        case .flush:
            try database.flush()
        case .compact:
            try database.close()
            try Database.compact(path: path, options: options)
            current = try Database.open(path: path, options: options)
        }
        WriterReport.emit("end \(work.rawValue)")
        return current
    }
}
