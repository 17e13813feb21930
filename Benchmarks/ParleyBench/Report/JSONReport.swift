// `--json FILE`: the same figures as the table, with the run's description, written through
// ParleyInterchange's JSON writer (compact, keys in byte order).

import Glibc
import Parley
import ParleyInterchange

enum JSONReport {
    static func document(_ report: Report, info: RunInfo) -> Metadata {
        func number(_ value: Double?) -> Metadata {
            guard let value, value.isFinite else { return .null }
            return .double(value)
        }
        func text(_ value: String?) -> Metadata { value.map { .string($0) } ?? .null }
        let rows: [Metadata] = report.rows.map { row in
            .object([
                "operation": .string(row.operation), "name": .string(row.name), "unit": .string(row.unit),
                "better": .string(row.better.rawValue), "parleydb": number(row.parley), "sqlite": number(row.sqlite),
                "ratio": number(row.ratio),
                "parleydb_p50_us": number(row.parleyLatency?.p50), "parleydb_p99_us": number(row.parleyLatency?.p99),
                "sqlite_p50_us": number(row.sqliteLatency?.p50), "sqlite_p99_us": number(row.sqliteLatency?.p99),
                "note": text(row.note),
            ])
        }
        let limits: [Metadata] = report.limits.map {
            .object(["name": .string($0.name), "unit": .string($0.unit), "value": number($0.value)])
        }
        var phases: [String: Metadata] = [:]
        for (name, seconds) in report.phaseSeconds { phases[name] = number(seconds) }
        return .object([
            "date": .string(info.date),
            "scale": .string(info.scale.rawValue),
            "seed": .string(String(info.seed)),
            "corpus": .string(info.corpus),
            "configuration": .string(info.configuration),
            "parleydb_version": .string(info.parleyVersion),
            "sqlite_version": .string(info.sqliteVersion),
            "machine": .object([
                "kernel": .string(info.machine.kernel), "cpu": .string(info.machine.cpu),
                "cores": .int(Int64(info.machine.cores)), "memory_bytes": .int(info.machine.memoryBytes),
            ]),
            "rows": .array(rows),
            "machine_limits": .array(limits),
            "notes": .array(report.notes.map { .string($0) }),
            "checks": .array(report.checks.map { .string($0) }),
            "failures": .array(report.failures.map { .string($0) }),
            "checks_passed": .bool(report.failures.isEmpty),
            "phase_seconds": .object(phases),
        ])
    }

    static func write(_ report: Report, info: RunInfo, to path: String) throws {
        let bytes = Array((JSONText.string(document(report, info: info)) + "\n").utf8)
        guard let file = fopen(path, "wb") else { throw BenchError("cannot write \(path): \(errnoText(errno))") }
        let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        let closed = fclose(file)
        guard written == bytes.count, closed == 0 else { throw BenchError("cannot write \(path): \(errnoText(errno))") }
    }
}
