// After the kill: reopen a copy of the killed database (the live files stay as they are, for the
// next writer to recover — so kills during recovery happen too), run the full integrity check,
// read the durable ledger position k, check every acknowledged commit against it, replay the
// model to k and compare.

import Parley

enum CycleCheck {
    /// Checks the cycle whose writer reported `output`, updating `outcome`; on return `model` is
    /// at the durable position when that could be established.
    static func run(output: WriterOutput, paths: WorkPaths, model: inout Model, outcome: inout CycleOutcome) throws {
        try paths.removeDatabase(paths.check)
        try paths.copyDatabase(paths.live, to: paths.check)
        outcome.checkedFileBytes = Files.size(paths.check)

        let clock = LogicalClock(committed: model.seq)
        let database: Database
        do {
            database = try Database.open(path: paths.check, options: CyclePlan.checkerOptions(clock: clock))
        } catch {
            outcome.integrityProblems.append("the killed database does not reopen: \(error)")
            return
        }
        defer {
            // A clean close checkpoints the copy; its failure is a finding too.
            do { try database.close() } catch { outcome.integrityProblems.append("closing the checked copy failed: \(error)") }
        }

        do {
            let result = try database.checkIntegrity()
            outcome.integrityProblems += result.problems
        } catch {
            outcome.integrityProblems.append("the integrity check failed: \(error)")
        }

        let position: UInt64
        do {
            position = try database.read { try Verifier.ledgerPosition($0) }
        } catch {
            outcome.integrityProblems.append("the ledger does not read: \(error)")
            return
        }
        outcome.position = position
        clock.setCommitted(position)
        checkAcknowledgements(output, position: position, start: model.seq, outcome: &outcome)

        // The ledger may only be where a writer that ran these transactions in order could have
        // left it: at or after the start, and at most one past the last acknowledgement.
        let last = output.acks.last?.seq ?? model.seq
        let attempted = min(last == .max ? last : last + 1, model.seq + UInt64(outcome.plan.transactionBudget))
        guard position >= model.seq else {
            outcome.lost += Array((position + 1)...model.seq)
            outcome.mismatches.append("the ledger went back from \(model.seq), verified before this cycle, to \(position)")
            outcome.mismatchTotal += 1
            return
        }
        guard position <= attempted else {
            outcome.mismatches.append("the ledger is at \(position), beyond the \(attempted) the writer could have reached")
            outcome.mismatchTotal += 1
            return
        }

        let workload = Workload(plan: outcome.plan)
        do {
            while model.seq < position { try model.replay(workload.transaction(model.seq + 1)) }
        } catch {
            // The model refuses what the writer did: a tool bug, or a state the writer saw differently.
            outcome.mismatches.append("the model cannot replay transaction \(model.seq + 1): \(error)")
            outcome.mismatchTotal += 1
            return
        }
        do {
            let differences = try database.read { try Verifier.compare($0, with: model) }
            outcome.mismatches += differences.lines
            outcome.mismatchTotal += differences.total
        } catch {
            outcome.integrityProblems.append("reading the database failed: \(error)")
        }
    }

    /// Full and normal commits must be at or below k once acknowledged (a SIGKILL loses nothing
    /// written with write(2)); so must async ones acknowledged before a completed flush,
    /// checkpoint or compaction. Other async commits past k are the allowed tail.
    private static func checkAcknowledgements(_ output: WriterOutput, position: UInt64, start: UInt64, outcome: inout CycleOutcome) {
        var previous = start
        for (seq, durability) in output.acks {
            outcome.acknowledged[durability, default: 0] += 1
            if seq != previous &+ 1 { outcome.writerProblems.append("acknowledgement \(seq) follows \(previous)") }
            previous = seq
            guard seq > position else { continue }
            if durability != .async || seq <= (output.durableThrough ?? 0) {
                outcome.lost.append(seq)
            } else {
                outcome.asyncTail += 1
            }
        }
    }
}
