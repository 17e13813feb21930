// One run of the workload: both engines in this process, operation by operation. The order:
// ParleyDB setup and ingest (its memory window), SQLite setup and ingest (its own window); the
// machine's limits; then for each of ingest-durable, recent, range, inbox and state, ParleyDB
// then SQLite; the consistency checks; size; and open and recover in child processes.

import Glibc
import Parley

/// Names accepted by `--only`, in the order the rows are printed.
let operationNames = ["ingest-tx", "ingest-batch", "ingest-durable", "recent", "range", "inbox", "state", "open",
                      "recover", "size", "memory"]

final class BenchRun {
    let scale: Scale
    let seed: UInt64
    let text: TextSource
    let population: Population
    let selected: Set<String>
    /// Where the databases go: `directory/parleydb`, `directory/sqlite`.
    let directory: String
    let parley: ParleySide
    let sqlitePath: String
    var sqlite: SQLiteSide?
    let report = Report()
    /// The message stream after ingest (ingest-durable continues it).
    var generator: MessageGenerator?
    /// Messages both engines should hold.
    var expectedMessages = 0
    /// Ingest figures, kept until both engines have run so their rows sit side by side.
    var parleyIngest: IngestFigures?
    var sqliteIngest: IngestFigures?

    init(scale: Scale, seed: UInt64, text: TextSource, selected: Set<String>, directory: String) throws {
        self.scale = scale
        self.seed = seed
        self.text = text
        self.selected = selected
        self.directory = directory
        population = Population(scale: scale, seed: seed)
        try Files.makeDirectory(directory + "/parleydb")
        try Files.makeDirectory(directory + "/sqlite")
        parley = ParleySide(directory: directory + "/parleydb")
        sqlitePath = directory + "/sqlite/chat.sqlite"
        for path in [parley.path, sqlitePath] where Files.exists(path) {
            throw BenchError("\(path) already exists: give --dir an empty directory")
        }
    }

    func isSelected(_ operation: String) -> Bool { selected.contains(operation) }

    func sqliteSide() throws -> SQLiteSide {
        guard let sqlite else { throw BenchError("the SQLite database is not open") }
        return sqlite
    }

    /// Progress on standard error, so the table on standard output stays clean.
    func log(_ message: String) {
        printError("[\(Format.seconds(Double(monotonicNanos() - startedAt) / 1e9))] \(message)")
    }

    private let startedAt = monotonicNanos()

    /// Logs the process's resident memory, split, so that what the bench itself holds before
    /// each engine's memory window can be told from the engine's share.
    func logMemory(_ label: String) {
        guard let split = ProcessMemory.residentSplit() else { return }
        log("resident \(label): \(Format.mebibytes(split.anonymous)) anonymous + \(Format.mebibytes(split.file)) file-backed")
    }

    /// Runs a phase, logging it and keeping its wall time for the JSON.
    func phase<T>(_ name: String, _ body: () throws -> T) throws -> T {
        log(name + " ...")
        let start = monotonicNanos()
        let result = try body()
        let seconds = Double(monotonicNanos() - start) / 1e9
        report.phaseSeconds.append((name, seconds))
        log("\(name): \(Format.seconds(seconds))")
        return result
    }

    func run() throws {
        logMemory("before setup")
        try phase("ParleyDB setup") {
            try parley.open()
            try parley.setup(population)
        }
        parleyIngest = try phase("ParleyDB ingest") { try ingestParley() }
        try phase("SQLite setup") {
            let side = try SQLiteSide(path: sqlitePath)
            sqlite = side
            try side.setup(population, seed: seed)
        }
        sqliteIngest = try phase("SQLite ingest") { try ingestSQLite() }
        try phase("ParleyDB reopen") { try parley.open() }
        reportIngest()
        // Measured here, just before the op that depends on the disk most.
        try phase("machine limits") {
            report.limits = try MachineLimits.measure(directory: directory)
        }
        if isSelected("ingest-durable") { attempt("ingest-durable") { try durable() } }
        // Work the writes left owed (ParleyDB's memtable, SQLite's WAL) is done now, outside any
        // clock, so that no background checkpoint started by ingest-durable runs beside the reads.
        attempt("checkpoint before the reads (untimed)") {
            try parley.checkpoint()
            try sqliteSide().checkpointPassive()
        }
        if isSelected("recent") { attempt("recent") { try recent() } }
        if isSelected("range") { attempt("range") { try range() } }
        if isSelected("inbox") { attempt("inbox") { try inbox() } }
        if isSelected("state") { attempt("state") { try state() } }
        attempt("consistency checks") { try checkConsistency() }
        attempt("size") { try size() }
        if isSelected("open") { attempt("open") { try openCold() } }
        if isSelected("recover") { attempt("recover") { try recover() } }
        sortRows()
    }

    /// Runs a phase after ingest; an error is reported as a failed check and the run goes on, so
    /// that the figures already measured are still printed (the exit status is then 1).
    private func attempt(_ name: String, _ body: () throws -> Void) {
        do {
            try phase(name, body)
        } catch {
            log("\(name) failed: \(error)")
            report.fail("\(name) failed: \(error)")
        }
    }

    /// Rows in the order of `operationNames`, keeping each operation's own order.
    private func sortRows() {
        let order = Dictionary(uniqueKeysWithValues: operationNames.enumerated().map { ($1, $0) })
        report.rows = report.rows.enumerated().sorted { a, b in
            let left = order[a.element.operation] ?? order.count
            let right = order[b.element.operation] ?? order.count
            return left != right ? left < right : a.offset < b.offset
        }.map(\.element)
    }

    /// Closes whatever is still open (on the way out of a failed run too).
    func closeAll() {
        try? parley.close()
        try? sqlite?.close()
        sqlite = nil
    }
}
