// The figures of a run: one row per operation with both engines' values, the machine's limits,
// notes, and the checks that failed. Printed as a table and written as JSON.

enum Better: String, Sendable {
    case higher, lower
}

/// Query latency percentiles, in microseconds.
struct Latency: Sendable {
    let p50: Double
    let p99: Double
}

struct ResultRow: Sendable {
    let operation: String
    /// The row's label (an operation can have several rows, e.g. ingest-durable 1 and 4 threads).
    let name: String
    let unit: String
    let better: Better
    let parley: Double?
    let sqlite: Double?
    var parleyLatency: Latency? = nil
    var sqliteLatency: Latency? = nil
    /// Shown under the table, keyed by the row's name.
    var note: String? = nil

    /// ParleyDB / SQLite.
    var ratio: Double? {
        guard let parley, let sqlite, sqlite != 0 else { return nil }
        return parley / sqlite
    }
}

struct MachineLimit: Sendable {
    let name: String
    let unit: String
    let value: Double
}

final class Report {
    var rows: [ResultRow] = []
    var limits: [MachineLimit] = []
    var notes: [String] = []
    /// Consistency checks that failed (empty: all passed).
    var failures: [String] = []
    /// Consistency checks that ran, each with what it compared.
    var checks: [String] = []
    /// Wall time of each phase, for the log and the JSON.
    var phaseSeconds: [(String, Double)] = []

    func add(_ row: ResultRow) { rows.append(row) }

    func fail(_ message: String) { failures.append(message) }
}
