// parley-bench: the chat workload of BENCHMARK.md against ParleyDB and SQLite in the same process
// and the same run, one row per operation with both figures and their ratio.
//
//   parley-bench [--scale small|standard|large] [--seed N] [--corpus FILE] [--only OPS]
//                [--json FILE] [--dir DIR] [--keep] [--allow-debug]

import ArgumentParser
import Glibc
import Parley
import ParleyInterchange

@main
struct ParleyBench: ParsableCommand {
    // The child commands are this binary re-run by `open` and `recover`; they are not shown.
    static let configuration = CommandConfiguration(
        commandName: "parley-bench",
        abstract: "The chat workload of BENCHMARK.md against ParleyDB and SQLite, side by side, in one process and one run.",
        subcommands: [ChildOpen.self, ChildRecoverWriter.self])

    @Option(help: "small (100,000 messages), standard (1,000,000) or large (10,000,000).")
    var scale: Scale = .standard

    @Option(help: "Seed of every random draw; the same seed, scale and corpus generate the same data.")
    var seed: UInt64 = 42

    @Option(help: "Utterances: one per line, or JSON Lines conversations (messages[].text); gzipped or not.")
    var corpus: String?

    @Option(help: "Comma-separated operations to report: \(operationNames.joined(separator: ", ")). Ingest always runs (the others need its data).")
    var only: String?

    @Option(help: "Also write the figures, the machine and the run's settings as JSON to this file.")
    var json: String?

    @Option(help: "Directory for the databases (default: a new temporary directory).")
    var dir: String?

    @Flag(help: "Keep the databases at the end.")
    var keep = false

    @Flag(help: "Run even in a debug build (its figures mean little).")
    var allowDebug = false

    func validate() throws {
        if RunInfo.buildConfiguration == "debug" && !allowDebug {
            throw ValidationError("this is a debug build: build with -c release, or pass --allow-debug")
        }
        _ = try selectedOperations()
    }

    func selectedOperations() throws -> Set<String> {
        guard let only else { return Set(operationNames) }
        var chosen = Set<String>()
        for name in only.split(separator: ",").map({ String($0.trimmingSpaces) }) where !name.isEmpty {
            guard operationNames.contains(name) else {
                throw ValidationError("unknown operation \"\(name)\"; known: \(operationNames.joined(separator: ", "))")
            }
            chosen.insert(name)
        }
        guard !chosen.isEmpty else { throw ValidationError("--only names no operation") }
        return chosen
    }

    func run() throws {
        // A reader of our pipe may go away (| head); fail on the write instead of dying silently.
        signal(SIGPIPE, SIG_IGN)
        let started = RFC3339Time.format(Timestamp.now())
        let text: TextSource
        if let corpus {
            let loaded = try Corpus(path: corpus)
            printError("corpus: \(loaded.count) utterances, \(Format.mebibytes(Int64(loaded.textBytes))) of text from \(corpus)"
                  + (loaded.skippedLines > 0 ? " (\(loaded.skippedLines) lines skipped: not UTF-8)" : ""))
            text = .corpus(loaded)
        } else {
            text = .builtIn(Vocabulary())
        }
        let base: String
        let madeBase: Bool
        if let dir {
            try Files.makeDirectory(dir)
            base = dir
            madeBase = false
        } else {
            base = try Files.makeTemporaryDirectory()
            madeBase = true
        }
        let info = RunInfo(
            scale: scale, seed: seed, corpus: text.label, configuration: RunInfo.buildConfiguration,
            parleyVersion: ParleyVersion.string, sqliteVersion: SQLiteSide.libraryVersion, machine: MachineInfo.current(),
            date: started)
        printError("parley-bench: \(scale.rawValue) scale, seed \(seed), databases in \(base)")

        let run = try BenchRun(scale: scale, seed: seed, text: text, selected: try selectedOperations(), directory: base)
        defer {
            run.closeAll()
            if keep {
                printError("databases kept in \(base)")
            } else if madeBase {
                Files.removeTree(base)
            } else {
                Files.removeTree(base + "/parleydb")
                Files.removeTree(base + "/sqlite")
            }
        }
        try run.run()
        if case .corpus(let corpus) = text {
            run.report.notes.append("corpus \(corpus.path): \(corpus.count) utterances (\(corpus.format)); a user message is one utterance, an assistant message 3 to 12")
        }
        run.report.notes.append("ratio P/S = ParleyDB / SQLite; for rates higher is better, for times and sizes lower is better (column \"better\")")
        run.report.notes.append("latencies are per operation, measured in this process with HdrHistogram (3 significant digits)")
        print(TablePrinter.render(run.report, info: info), terminator: "")
        fflush(nil)
        if let json {
            try JSONReport.write(run.report, info: info, to: json)
            printError("figures written to \(json)")
        }
        if !run.report.failures.isEmpty {
            printError("error: \(run.report.failures.count) check(s) or operation(s) failed (listed under \"checks\" above)")
            throw ExitCode(1)
        }
    }
}
