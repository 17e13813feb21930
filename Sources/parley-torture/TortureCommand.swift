// parley-torture: the crash-torture kill loop. The parent (this command) starts a writer — this
// same executable with the hidden `writer` subcommand — kills it with SIGKILL at a random moment,
// reopens the database and checks it, cycle after cycle. See docs/TORTURE.md.

import ArgumentParser
@preconcurrency import Glibc

@main
struct TortureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parley-torture",
        abstract: "Kill a ParleyDB writer at random moments; reopen and check the database each time.",
        discussion: """
            Each cycle starts a writer with a random durability mode and workload, sends it SIGKILL \
            after a random delay, reopens the database, runs the full integrity check and checks \
            that no acknowledged commit was lost and that the database holds exactly the commits up \
            to its ledger position. Exit status 1 when any check fails; the failing cycle's files \
            are kept with the command that runs it again.
            """,
        subcommands: [WriterCommand.self]
    )

    @Option(help: "Number of kill cycles.")
    var cycles = 200

    @Option(help: "The run's seed (random when omitted); cycle 0 runs with this seed.")
    var seed: UInt64?

    @Option(help: "Work directory (a new one under $TMPDIR when omitted).")
    var dir: String?

    @Flag(help: "Keep the work directory after a clean run (a failing run always keeps it).")
    var keep = false

    @Flag(help: "One line per cycle.")
    var verbose = false

    @Option(help: "Start from the directory a failing run kept (its start.parley and model-start.json).")
    var from: String?

    mutating func validate() throws {
        guard cycles >= 1 else { throw ValidationError("--cycles must be at least 1") }
    }

    func run() throws {
        var random = SystemRandomNumberGenerator()
        let settings = RunSettings(
            cycles: cycles, seed: seed ?? random.next(), directory: dir, keep: keep, verbose: verbose, from: from)
        let clean: Bool
        do {
            clean = try TortureLoop(settings).run()
        } catch {
            // The tool cannot go on (files, processes); findings never arrive here.
            fputs("parley-torture: \(error)\n", stderr)
            throw ExitCode(2)
        }
        if !clean { throw ExitCode(1) }
    }
}

/// The child side: not for people to run (the parent passes everything it needs).
struct WriterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "writer", abstract: "The writer process the kill loop starts and kills.", shouldDisplay: false)

    // Names unlike the parent's options, which ArgumentParser would otherwise take first.
    @Option(help: "The database file.")
    var database: String

    @Option(help: "The cycle's seed.")
    var cycleSeed: UInt64

    @Option(help: "The ledger position the parent verified.")
    var verified: UInt64

    func run() throws {
        WriterProcess.run(path: database, seed: cycleSeed, start: verified)
    }
}
