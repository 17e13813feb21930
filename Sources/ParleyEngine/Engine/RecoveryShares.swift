// Which of recovery's two workers replays which tree. Trees replay independently of each other (an
// operation reads and changes only its own tree's entries, and a range delete reads only its own
// tree below), so each worker reads the whole log, keeps the operations of its own trees, and
// builds their maps; the layer is the union of the two workers' trees.
//
// The shares are estimated from a sample of the log's records: a tree's cost is its operations
// (each is collected), plus, for the entries its inserts add and its deletes do not take away, a
// node and a copy of its key and value (what the maps cost to build). A chat log's inserts of
// inbox and status keys are deleted again at the next append, so those trees cost their
// operations only, while every pending message and locator entry survives.
//
// Invariant: every tree has exactly one owner. A tree the sample missed belongs to worker 0; the
// estimate only balances the work, it never decides what the layer holds.

struct RecoveryShares {
    /// Records sampled (evenly spaced through the log) to estimate each tree's cost.
    static let sampledRecords = 512
    /// Logs with fewer records are replayed by one worker.
    static let parallelMinimum = 64
    /// The estimated cost of an entry that survives into a map, in operations.
    static let survivorCost = 6
    /// Value bytes copied per operation's worth of cost.
    static let bytesPerCost = 40

    /// Each sampled tree's owner, by raw name.
    private(set) var owners: [Bytes: Int] = [:]
    /// How many workers have work: 1 when everything falls to worker 0.
    private(set) var workers = 1

    /// Shares for `spans` of `body` between at most `workers` workers (1 or 2); fewer records
    /// than `minimumRecords` go to one worker (tests lower it to split small logs).
    init(body: UnsafeRawBufferPointer, spans: ArraySlice<LogFormat.Span>, workers: Int, minimumRecords: Int = parallelMinimum) {
        guard workers > 1, spans.count >= minimumRecords else { return }
        var tallies: [Bytes: Tally] = [:]
        let step = max(1, spans.count / Self.sampledRecords)
        for index in stride(from: spans.startIndex, to: spans.endIndex, by: step) {
            let payload = UnsafeRawBufferPointer(rebasing: body[spans[index].payload])
            LogOperation.forEach(payload) { fields in
                tallies[Bytes(fields.tree), default: Tally()].count(fields)
            }
        }
        // The costliest first, each to the worker with less so far.
        var loads = [0, 0]
        for (name, tally) in tallies.sorted(by: { $0.value.cost != $1.value.cost ? $0.value.cost > $1.value.cost : compareBytes($0.key, $1.key) < 0 }) {
            let worker = loads[0] <= loads[1] ? 0 : 1
            owners[name] = worker
            loads[worker] += tally.cost
        }
        if loads[1] > 0 { self.workers = 2 }
    }

    /// The worker that replays tree `name`.
    func owner(of name: Bytes) -> Int { owners[name] ?? 0 }

    /// One tree's sampled operations.
    private struct Tally {
        var operations = 0
        var inserted = 0
        var deleted = 0
        var insertedBytes = 0

        mutating func count(_ fields: LogOperation.Fields) {
            operations += 1
            switch fields.kind {
            case .insert:
                inserted += 1
                insertedBytes += fields.key.count + fields.value.count
            case .delete:
                deleted += 1
            case .createTree, .dropTree, .put, .deleteRange:
                break
            }
        }

        var cost: Int {
            let survivors = max(0, inserted - deleted)
            let averageBytes = inserted > 0 ? insertedBytes / inserted : 0
            return operations + survivors * (RecoveryShares.survivorCost + averageBytes / RecoveryShares.bytesPerCost)
        }
    }
}
