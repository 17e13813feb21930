// The parent: for each cycle, start a writer on the carried-over database, kill it at the
// planned moment, check what it left (`CycleCheck`), and add the findings up. The first failing
// cycle ends the run with its files kept and the command that runs it again.

@preconcurrency import Glibc
import Parley

struct RunSettings {
    var cycles: Int
    var seed: UInt64
    var directory: String?
    var keep: Bool
    var verbose: Bool
    /// A failing run's kept directory to start from.
    var from: String?
    /// Cycles between fresh databases.
    var generation = 50
    var progressEvery = 50
}

final class TortureLoop {
    private let settings: RunSettings
    private let paths: WorkPaths
    private let madeDirectory: Bool
    private var model = Model()
    private var summary: Summary

    init(_ settings: RunSettings) throws {
        self.settings = settings
        // Refuse a bad --from before creating anything.
        if let source = settings.from, !Files.exists(WorkPaths(directory: source).startModel) {
            throw TortureError.usage("\(source) holds no model-start.json: pass the directory a failing run kept")
        }
        if let directory = settings.directory {
            try Files.makeDirectory(directory)
            paths = WorkPaths(directory: directory)
            madeDirectory = false
        } else {
            paths = WorkPaths(directory: try Files.makeTemporaryDirectory())
            madeDirectory = true
        }
        summary = Summary(runSeed: settings.seed)
    }

    /// Runs every cycle; false when one failed.
    func run() throws -> Bool {
        say("parley-torture: \(settings.cycles) cycles, seed \(settings.seed), in \(paths.directory)")
        if let source = settings.from {
            guard source != paths.directory else { throw TortureError.usage("--from and --dir must be different directories") }
            model = try FailureArchive.restore(from: source, into: paths)
            say("starting from \(source): ledger at \(model.seq)")
        }
        for cycle in 0..<settings.cycles {
            // A fresh database now and then keeps it small; a resumed run starts where it was.
            if cycle % settings.generation == 0 && !(cycle == 0 && settings.from != nil) {
                try paths.removeDatabase(paths.live)
                model = Model()
            }
            let outcome = try runCycle(cycle)
            summary.add(outcome)
            if settings.verbose { say(describe(outcome)) }
            if (cycle + 1) % settings.progressEvery == 0 && cycle + 1 < settings.cycles { say(summary.progress()) }
            if outcome.failed {
                say(summary.report())
                try reportFailure(outcome)
                return false
            }
        }
        say(summary.report())
        if !settings.keep {
            try paths.removeAll()
            if madeDirectory { Files.removeDirectoryIfEmpty(paths.directory) }
        } else {
            say("kept \(paths.directory)")
        }
        return true
    }

    private func runCycle(_ cycle: Int) throws -> CycleOutcome {
        let started = monotonicMicroseconds()
        let seed = CyclePlan.cycleSeed(run: settings.seed, cycle: cycle)
        let plan = CyclePlan(seed: seed)
        var outcome = CycleOutcome(cycle: cycle, seed: seed, plan: plan)
        outcome.startPosition = model.seq
        // What this cycle starts from, in case it fails.
        try paths.copyDatabase(paths.live, to: paths.start)
        let startModel = model

        let result = try ChildProcess.run(
            executable: ChildProcess.ownExecutable,
            arguments: ["writer", "--database", paths.live, "--cycle-seed", String(seed), "--verified", String(model.seq)],
            errorPath: paths.writerError, schedule: plan.kill)
        let output = WriterOutput(result.output)
        outcome.phase = output.phase
        outcome.termination = result.termination
        if result.termination != .killed { outcome.writerProblems.append("the writer \(result.termination)") }
        outcome.writerProblems += output.errors.map { "the writer reported: \($0)" }
        outcome.writerProblems += output.malformed.map { "the writer wrote a malformed line: \($0)" }

        try CycleCheck.run(output: output, paths: paths, model: &model, outcome: &outcome)
        outcome.microseconds = monotonicMicroseconds() - started
        if outcome.failed {
            try Files.write(Array(output.text.utf8), to: paths.writerOutput)
            try FailureArchive.saveModel(startModel, to: paths.startModel)
        }
        return outcome
    }

    private func describe(_ outcome: CycleOutcome) -> String {
        let acks = outcome.acknowledged.values.reduce(0, +)
        let position = outcome.position.map(String.init) ?? "?"
        return "cycle \(outcome.cycle) seed \(outcome.seed): \(outcome.plan.description); killed \(outcome.phase.rawValue), "
            + "\(acks) acks, ledger \(outcome.startPosition) -> \(position), async tail \(outcome.asyncTail), "
            + "\(outcome.failed ? "FAILED" : "ok") in \(outcome.microseconds / 1_000) ms"
    }

    private func reportFailure(_ outcome: CycleOutcome) throws {
        var lines = ["cycle \(outcome.cycle) FAILED (cycle seed \(outcome.seed), run seed \(settings.seed))"]
        lines.append("plan: \(outcome.plan.description)")
        lines.append("writer: \(outcome.termination), killed \(outcome.phase.rawValue)")
        lines.append("ledger: \(outcome.startPosition) before the cycle, \(outcome.position.map(String.init) ?? "unknown") after")
        if !outcome.lost.isEmpty {
            let shown = outcome.lost.prefix(20).map(String.init).joined(separator: ", ")
            lines.append("lost acknowledged commits (\(outcome.lost.count)): \(shown)")
        }
        for problem in outcome.writerProblems { lines.append("writer problem: \(problem)") }
        for problem in outcome.integrityProblems.prefix(25) { lines.append("integrity: \(problem)") }
        if outcome.integrityProblems.count > 25 { lines.append("integrity: … \(outcome.integrityProblems.count - 25) more") }
        for mismatch in outcome.mismatches { lines.append("mismatch: \(mismatch)") }
        if outcome.mismatchTotal > outcome.mismatches.count {
            lines.append("mismatch: … \(outcome.mismatchTotal - outcome.mismatches.count) more")
        }
        let writerErrors = (try? Files.read(paths.writerError)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        if !writerErrors.isEmpty { lines.append("writer's standard error:\n" + writerErrors) }
        lines.append("")
        lines.append("kept in \(paths.directory):")
        lines.append("  torture.parley(-wal)  the database as the kill left it")
        lines.append("  check.parley          the copy the check reopened (recovered, then closed)")
        lines.append("  start.parley(-wal)    the database as this cycle found it; model-start.json its model")
        lines.append("  writer.out, writer.stderr  the writer's report and standard error")
        lines.append("run this cycle again from where it started:")
        lines.append("  parley-torture --seed \(outcome.seed) --cycles 1 --from \(paths.directory) --keep --verbose")
        let report = lines.joined(separator: "\n")
        try Files.write(Array((report + "\n").utf8), to: paths.failureReport)
        say(report)
    }
}

/// A line on standard output, flushed (progress must show up in CI logs as it happens).
func say(_ line: String) {
    print(line)
    fflush(nil)
}
